//! Who may run: the host's claims policy, applied before a module is compiled.
//!
//! Deny by default. A module must carry claims signed by an account in the issuer allow-list,
//! with a matching module hash and a valid time window (`caplet_claims::verify`). An unsigned
//! module is refused unless development mode (`allow_unsigned`) is on; it then runs with every
//! capability claimed — links still decide what it can reach — and a warning says so.
//!
//! After the claims, an optional [`PolicyEngine`] (Rego in-process or an external OPA server,
//! `docs/policy.md`) may refuse an actor at start or update and a link at link time; it fails
//! closed when it cannot answer.

mod engine;
mod opa;
mod rego;

pub(crate) use engine::check;
pub use engine::{
    CachedPolicy, DEFAULT_POLICY_CACHE_TTL, DEFAULT_POLICY_TIMEOUT, Decision,
    MAX_POLICY_CACHE_ENTRIES, PolicyAction, PolicyEngine, actor_input, policy_input,
};
pub use opa::{DEFAULT_OPA_PATH, MAX_OPA_RESPONSE_BYTES, OpaPolicy, parse_answer};
pub use rego::{DEFAULT_REGO_QUERY, MAX_REGO_POLICY_BYTES, RegoPolicy};

use std::sync::Arc;

use caplet_claims::{ClaimsError, Policy, VerifiedClaims, caps};

use crate::HostError;

/// The identity and capabilities a module proved.
#[derive(Debug, Clone)]
pub struct Admission {
    /// `M...` for signed modules, `unsigned:<name>` otherwise.
    pub id: Arc<str>,
    /// The verified claims; `None` for an unsigned module admitted in development mode.
    pub claims: Option<VerifiedClaims>,
    /// Canonical contract ids the actor may call; `None` means any (unsigned, development).
    pub capabilities: Option<Vec<String>>,
}

impl Admission {
    /// Whether the actor may call `contract` (canonical id).
    pub fn allows(&self, contract: &str) -> bool {
        match &self.capabilities {
            None => true,
            Some(list) => list.iter().any(|cap| cap == contract),
        }
    }

    /// The capabilities for messages: `a, b` or `(none)`, or `(any: unsigned)`.
    pub fn capability_list(&self) -> String {
        match &self.capabilities {
            None => "(any: unsigned, development mode)".to_string(),
            Some(list) if list.is_empty() => "(none)".to_string(),
            Some(list) => list.join(", "),
        }
    }

    /// The call alias from the claims, if any.
    pub fn call_alias(&self) -> Option<&str> {
        self.claims.as_ref().and_then(VerifiedClaims::call_alias)
    }
}

/// The admission policy of one host.
#[derive(Debug, Clone, Default)]
pub struct ActorPolicy {
    /// Account public keys (`A...`) whose modules may run.
    pub issuers: Vec<String>,
    /// Development mode: admit unsigned modules.
    pub allow_unsigned: bool,
}

impl ActorPolicy {
    /// Verifies `bytes` for the actor `name` and returns what it may do.
    pub fn admit(&self, name: &str, bytes: &[u8]) -> Result<Admission, HostError> {
        let policy = Policy::default().allow_issuers(self.issuers.iter().cloned());
        match caplet_claims::verify(bytes, &policy) {
            // No trusted issuer means no signed module is trusted: fail closed. Development
            // mode (unsigned allowed) accepts any validly signed module too.
            Ok(claims) if self.issuers.is_empty() && !self.allow_unsigned => {
                Err(HostError::NoTrustedIssuers {
                    name: name.to_string(),
                    issuer: claims.issuer().to_string(),
                })
            }
            Ok(claims) => {
                let capabilities = claims
                    .caps()
                    .iter()
                    .map(|cap| caps::canonical(cap).to_string())
                    .collect();
                Ok(Admission {
                    id: Arc::from(claims.subject()),
                    claims: Some(claims),
                    capabilities: Some(capabilities),
                })
            }
            Err(ClaimsError::Unsigned) if self.allow_unsigned => {
                tracing::warn!(
                    actor = name,
                    "running UNSIGNED actor `{name}` with every capability (development mode: --allow-unsigned); never do this in production"
                );
                Ok(Admission {
                    id: Arc::from(format!("unsigned:{name}")),
                    claims: None,
                    capabilities: None,
                })
            }
            Err(ClaimsError::Unsigned) => Err(HostError::Unsigned {
                name: name.to_string(),
            }),
            Err(source) => Err(HostError::Claims {
                name: name.to_string(),
                hint: source.hint(),
                source,
            }),
        }
    }
}
