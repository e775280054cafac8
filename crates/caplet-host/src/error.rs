//! Errors of host operations (start an actor, add a provider, put a link). Call-time failures
//! are [`caplet_provider_api::DispatchError`] or guest-visible host-call errors instead.

use caplet_claims::ClaimsError;
use caplet_runtime::{CallError, LoadError};

/// Why a host operation was refused. Each message says what and which, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// The module's claims did not verify, or the policy refuses it.
    #[error("actor `{name}` refused: {source}; {hint}")]
    Claims {
        name: String,
        source: ClaimsError,
        hint: &'static str,
    },
    /// The module is unsigned and unsigned modules are not allowed.
    #[error(
        "actor `{name}` refused: the module is unsigned; sign it with `caplet claims sign` (or run with --allow-unsigned during development)"
    )]
    Unsigned { name: String },
    /// The host trusts no issuer (and unsigned modules are not allowed), so nothing may run.
    #[error(
        "actor `{name}` refused: this host trusts no issuer (the module is signed by {issuer}); list the account in host.issuers"
    )]
    NoTrustedIssuers { name: String, issuer: String },
    /// The module could not be compiled or linked.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Its first instances could not start (`_start` or `wapc_init` failed).
    #[error("actor `{name}` could not start: {source}")]
    Start { name: String, source: CallError },
    /// An actor with this name or identity is already running.
    #[error("actor `{name}` is already running{detail}")]
    DuplicateActor { name: String, detail: String },
    /// No actor with this name or id.
    #[error("no actor named `{0}` is running")]
    NoSuchActor(String),
    /// The actor's claims do not list the contract a link names.
    #[error(
        "link refused: actor `{actor}` is not signed for `{contract}` (its claims list: {caps}); re-sign it with that capability"
    )]
    MissingCapability {
        actor: String,
        contract: String,
        caps: String,
    },
    /// A provider already serves this contract and link name.
    #[error("a `{contract}` provider for link `{link_name}` is already running")]
    DuplicateProvider { contract: String, link_name: String },
    /// No provider for this contract and link name.
    #[error("no `{contract}` provider for link `{link_name}`")]
    NoSuchProvider { contract: String, link_name: String },
    /// The provider refused to bind the actor.
    #[error("provider `{contract}` could not bind actor `{actor}` on link `{link_name}`: {reason}")]
    Bind {
        actor: String,
        contract: String,
        link_name: String,
        reason: String,
    },
    /// An update carries another module key than the running actor.
    #[error(
        "update of `{name}` refused: the new module's key {offered} is not the running actor's {running}; an update must be signed with the same module key, or force the new identity (`force_new_identity`, `caplet ctl actor update --force-new-identity`)"
    )]
    IdentityChanged {
        name: String,
        running: String,
        offered: String,
    },
    /// An update's `rev` is not higher than the running one.
    #[error(
        "update of `{name}` refused: its rev {offered} is not higher than the running rev {running}; sign it with a higher --rev, or force the update"
    )]
    RevisionNotHigher {
        name: String,
        running: i32,
        offered: i32,
    },
    /// The policy engine refused the action.
    #[error("policy refused the {action} of actor `{actor}`: {reason}")]
    PolicyDenied {
        actor: String,
        action: String,
        reason: String,
    },
    /// The policy engine could not answer, so the action is refused (fail closed).
    #[error(
        "policy unavailable, so the {action} of actor `{actor}` is refused (fail closed): {engine}: {reason}; check that the policy engine runs and answers, see docs/policy.md"
    )]
    PolicyUnavailable {
        actor: String,
        action: String,
        engine: String,
        reason: String,
    },
    /// The host is stopping.
    #[error("the host is shutting down")]
    ShuttingDown,
}
