//! The validated manifest: what `caplet up` starts, with every reference already checked.
//!
//! Names are unique, contract ids canonical, paths joined to the manifest's folder and every
//! link has a provider (declared, or the contract's default implied). Each entry keeps the line
//! it came from so the host can report its own later checks at the right place.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::error::ManifestError;

/// A parsed and validated `caplet.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The manifest file, as it was given (used in error messages).
    pub file: PathBuf,
    /// The folder relative paths in the manifest are resolved against.
    pub base_dir: PathBuf,
    /// `[host]`.
    pub host: HostSettings,
    /// `[[actor]]` entries, in file order.
    pub actors: Vec<ManifestActor>,
    /// Declared `[[provider]]` entries in file order, then the default providers links imply.
    pub providers: Vec<ProviderSpec>,
    /// `[[link]]` entries, in file order.
    pub links: Vec<LinkSpec>,
}

impl Manifest {
    /// The actor called `name`.
    pub fn actor(&self, name: &str) -> Option<&ManifestActor> {
        self.actors.iter().find(|actor| actor.name == name)
    }

    /// The provider for `contract` (canonical id) under `link_name`.
    pub fn provider(&self, contract: &str, link_name: &str) -> Option<&ProviderSpec> {
        self.providers
            .iter()
            .find(|p| p.contract == contract && p.link_name == link_name)
    }

    /// The provider `link` resolves to; always `Some` in a validated manifest.
    pub fn provider_for(&self, link: &LinkSpec) -> Option<&ProviderSpec> {
        self.provider(&link.contract, &link.link_name)
    }

    /// The links of actor `name`.
    pub fn links_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a LinkSpec> + 'a {
        self.links.iter().filter(move |link| link.actor == name)
    }

    /// An actor's limits: its own overrides, then `[host.limits]`; `None` keeps the runtime default.
    pub fn effective_limits(&self, actor: &ManifestActor) -> LimitOverrides {
        actor.limits.or(&self.host.limits)
    }

    /// An error at `line` of this manifest, for checks made after parsing (a provider's
    /// `validate_link`), so they join the same report as the manifest's own errors.
    pub fn error_at(
        &self,
        line: usize,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> ManifestError {
        ManifestError::new(&self.file, line, usize::from(line > 0), message, hint)
    }
}

/// `[host]`: who may sign the actors and where the control API listens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSettings {
    /// Account public keys (`A...`) whose signed actors may run; each one checked.
    pub issuers: Vec<String>,
    /// Run unsigned actors too (development only).
    pub allow_unsigned: bool,
    /// Where the control API listens; `None` lets the host choose its loopback default.
    pub control_api: Option<SocketAddr>,
    /// The file holding the API bearer token, joined to the manifest's folder.
    pub control_token_file: Option<PathBuf>,
    /// `[host.limits]`: defaults for every actor.
    pub limits: LimitOverrides,
    /// `[host.policy]`: the admission and link policy engine; `None` when absent.
    pub policy: Option<PolicySettings>,
    /// `breaker_failures`: consecutive crashes that open an actor's circuit (0: never).
    pub breaker_failures: Option<u32>,
    /// `breaker_open_ms`: how long an open circuit refuses calls, in milliseconds.
    pub breaker_open_ms: Option<u64>,
    /// `log_lines_per_second`: lines each actor may write through `wasmcloud:builtin:logging`
    /// per second (0: none); `None` keeps the host's default.
    pub log_lines_per_second: Option<u32>,
}

/// `[host.policy]`: exactly one of `rego` and `opa_url` is set (see `docs/policy.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicySettings {
    /// The Rego policy file, joined to the manifest's folder; it existed.
    pub rego: Option<PathBuf>,
    /// The Rego rule to ask (`data.caplet.allow` when `None`).
    pub query: Option<String>,
    /// The OPA server, `http://HOST:PORT`.
    pub opa_url: Option<String>,
    /// The OPA document path (`caplet` when `None`).
    pub opa_path: Option<String>,
    /// Decision timeout in milliseconds (the host's default when `None`).
    pub timeout_ms: Option<u64>,
    /// Decision cache TTL in seconds; 0 disables it (the host's default when `None`).
    pub cache_ttl_s: Option<u64>,
    /// Line of `[host.policy]`, for pre-flight errors (a Rego file that does not compile).
    pub line: usize,
}

/// Limits as the manifest gives them, in its units; `None` keeps the default from below.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitOverrides {
    /// Linear memory per instance, in MiB.
    pub max_memory_mib: Option<u64>,
    /// Deadline of one call, in milliseconds.
    pub deadline_ms: Option<u64>,
    /// Payload into and out of the actor, in KiB.
    pub max_payload_kib: Option<u64>,
    /// Wasm stack, in KiB.
    pub max_stack_kib: Option<u64>,
    /// One host call's payload, in KiB.
    pub max_host_call_payload_kib: Option<u64>,
}

impl LimitOverrides {
    /// These overrides, with each unset one taken from `fallback`.
    pub fn or(&self, fallback: &LimitOverrides) -> LimitOverrides {
        LimitOverrides {
            max_memory_mib: self.max_memory_mib.or(fallback.max_memory_mib),
            deadline_ms: self.deadline_ms.or(fallback.deadline_ms),
            max_payload_kib: self.max_payload_kib.or(fallback.max_payload_kib),
            max_stack_kib: self.max_stack_kib.or(fallback.max_stack_kib),
            max_host_call_payload_kib: self
                .max_host_call_payload_kib
                .or(fallback.max_host_call_payload_kib),
        }
    }

    /// True when nothing is overridden.
    pub fn is_empty(&self) -> bool {
        *self == LimitOverrides::default()
    }
}

/// One `[[actor]]`. (Named so it does not clash with `caplet_claims::ActorSpec`, the signing input.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestActor {
    /// Unique name, `[a-z0-9][a-z0-9_-]*`.
    pub name: String,
    /// The module file: the manifest's `path` joined to its folder; it existed and was readable.
    pub path: PathBuf,
    /// Warm instances to keep.
    pub instances: u32,
    /// `[actor.limits]`: overrides of `[host.limits]` for this actor.
    pub limits: LimitOverrides,
    /// Line of its `[[actor]]` header.
    pub line: usize,
}

/// A capability provider: one implementation of a contract under one link name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderSpec {
    /// Canonical contract id.
    pub contract: String,
    /// Implementation name from [`crate::IMPLEMENTATIONS`].
    pub implementation: String,
    /// Link name; `"default"` unless given.
    pub link_name: String,
    /// `[provider.config]`, every value as a string, environment substituted.
    pub config: BTreeMap<String, String>,
    /// The line of each `config` key.
    pub config_lines: BTreeMap<String, usize>,
    /// True for a `[[provider]]` entry; false for a default implied by a link.
    pub declared: bool,
    /// Line of its `[[provider]]` header, or of the first link that implied it.
    pub line: usize,
}

/// One `[[link]]`: an actor's configuration for one contract under one link name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSpec {
    /// The linked actor's name (a declared actor).
    pub actor: String,
    /// Canonical contract id.
    pub contract: String,
    /// Link name; `"default"` unless given. With `contract`, the key of its provider.
    pub link_name: String,
    /// `[link.values]`, every value as a string, environment substituted.
    pub values: BTreeMap<String, String>,
    /// The line of each `values` key.
    pub value_lines: BTreeMap<String, usize>,
    /// Line of its `[[link]]` header.
    pub line: usize,
}
