//! Provider errors, typed by what the caller should do about them.

/// How a provider call failed. The `Display` text reaches the guest as its host error, so it
/// says what failed and, where it helps, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderError {
    /// The payload could not be decoded or the operation is unknown: the actor's fault.
    BadRequest(String),
    /// Refused by the provider's own policy (an HTTP host outside the allow-list, ...).
    Denied(String),
    /// The backend cannot be reached now (Redis down, NATS disconnected). Fails fast; the
    /// provider recovers by itself when the backend returns.
    Unavailable(String),
    /// The actor has no link with this provider (or the link was removed meanwhile).
    NotBound(String),
    /// The backend answered with an error, or another failure.
    Failed(String),
}

impl std::fmt::Display for ProviderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadRequest(m) => write!(f, "bad request: {m}"),
            Self::Denied(m) => write!(f, "denied: {m}"),
            Self::Unavailable(m) => write!(f, "unavailable: {m}"),
            Self::NotBound(m) => write!(f, "not bound: {m}"),
            Self::Failed(m) => write!(f, "failed: {m}"),
        }
    }
}

impl std::error::Error for ProviderError {}
