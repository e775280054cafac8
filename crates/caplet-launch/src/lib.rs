//! From manifest to running host: what `caplet up` does between parsing and serving.
//!
//! [`preflight`] checks everything a manifest implies before anything starts: each provider's
//! config and each link's values (by the provider's own validator), and each actor's module and
//! claims against the manifest's issuers. Every problem is reported together, at its line.
//! [`launch`] then builds the runtime and host and starts, in order, actors (verified, compiled,
//! warmed), providers, and links; if any step fails, what started is shut down again.
//!
//! `[host.policy]` becomes the host's policy engine ([`build_policy`]; a Rego file that does
//! not compile fails the pre-flight), the breaker keys its circuit breaker settings and
//! `log_lines_per_second` the rate of its built-in logging capability.
//!
//! [`server_runtime`] is the tokio runtime a host serves on (its one non-default setting is
//! explained in its module).
//!
//! The [`catalog`] is the only place that names concrete providers, so the host stays generic.

pub mod catalog;
mod launch;
mod limits;
mod policy;
mod preflight;
mod runtime;

pub use launch::{LaunchError, Running, launch};
pub use limits::{engine_limits, runtime_limits};
pub use policy::{breaker_config, build_policy};
pub use preflight::preflight;
pub use runtime::server_runtime;
