//! Calls from providers into actors, always through the host.

use crate::{ActorRef, BoxFuture};

/// The host's entry point for providers that drive actors. Every call goes through the host's
/// actor table, so it reaches the actor's *current* version (hot swap) under its limits.
pub trait ActorDispatcher: Send + Sync + 'static {
    /// Calls `operation` on `actor` with `payload` and returns the actor's response bytes.
    fn call_actor<'a>(
        &'a self,
        actor: &'a ActorRef,
        operation: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, DispatchError>>;
}

/// Why a dispatched call did not produce a response. Each variant maps to one HTTP status in the
/// HTTP server ([`DispatchError::http_status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DispatchError {
    /// No actor with that id runs on this host (stopped, or never started).
    ActorNotRunning(String),
    /// The actor called a capability that has no provider or no link now; the text says which.
    CapabilityUnavailable(String),
    /// The actor returned an error (its guest error text).
    ActorFailed(String),
    /// The actor trapped, ran out of memory, or broke a limit; its instance was discarded.
    ActorCrashed(String),
    /// The call hit the actor's deadline.
    Timeout(String),
    /// The host is at capacity or stopping; try again.
    Overloaded(String),
    /// The payload was refused before the actor ran (too large).
    Rejected(String),
}

impl DispatchError {
    /// The HTTP status this error maps to: 503 for unavailable or overloaded, 504 for a
    /// timeout, 413 for a rejected payload, 500 for an actor error or crash.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::ActorNotRunning(_) | Self::CapabilityUnavailable(_) | Self::Overloaded(_) => 503,
            Self::Timeout(_) => 504,
            Self::Rejected(_) => 413,
            Self::ActorFailed(_) | Self::ActorCrashed(_) => 500,
        }
    }

    /// The message, without the variant.
    pub fn message(&self) -> &str {
        match self {
            Self::ActorNotRunning(m)
            | Self::CapabilityUnavailable(m)
            | Self::ActorFailed(m)
            | Self::ActorCrashed(m)
            | Self::Timeout(m)
            | Self::Overloaded(m)
            | Self::Rejected(m) => m,
        }
    }
}

impl std::fmt::Display for DispatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for DispatchError {}
