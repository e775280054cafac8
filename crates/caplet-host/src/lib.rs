//! The Caplet host: it decides which actors run, what each may call, and routes every call.
//!
//! - [`policy`] verifies an actor's signed claims before it may load (issuer allow-list,
//!   unsigned refused unless development mode allows it);
//! - [`actors`] is the actor table: id → the *current* version, swapped atomically;
//! - [`links`] holds (actor, contract, link name) → values;
//! - [`providers`] holds the running providers behind the [`Provider`] trait;
//! - [`router`] serves each guest `__host_call`: capability claim **and** link checked before any
//!   provider is contacted; actor-to-actor calls bounded by a call-depth limit;
//! - [`dispatch`] is how providers (HTTP server, subscriptions) call actors, always through here;
//! - [`breaker`] stops calling an actor that keeps trapping, for a while (trap storms);
//! - [`metrics`] counts every call per actor and operation ([`Host::metrics_text`]);
//! - [`Host::health`] asks providers and each actor's `Actor.HealthRequest` handler.
//!
//! The host knows no concrete provider except the two built-ins that wasmCloud also serves
//! in-host (logging and number generation, [`builtin`]); the rest are added by whoever builds
//! the host (`caplet up`), so transports and backends can change without touching the router.

pub mod actors;
pub mod breaker;
pub mod builtin;
pub mod dispatch;
mod error;
mod health;
mod host;
pub mod limits;
pub mod links;
pub mod metrics;
pub mod policy;
pub mod providers;
pub mod router;
mod striped;
mod swap;

pub use breaker::{
    BreakerConfig, DEFAULT_BREAKER_FAILURES, DEFAULT_BREAKER_OPEN, TRAP_LOG_INTERVAL,
};
pub use caplet_provider_api::{
    ActorDispatcher, ActorRef, BoxFuture, DispatchError, LinkDefinition, LinkValues, Provider,
    ProviderCall, ProviderConfig, ProviderError,
};
pub use error::HostError;
pub use health::ActorHealth;
pub use host::{ActorStatus, Host, HostConfig, HostHealth, ProviderStatus};
pub use limits::*;
pub use swap::{SwapReport, UpdateOptions};
