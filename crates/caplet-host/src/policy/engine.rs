//! The pluggable policy engine: an optional second gate after the claims check, asked at actor
//! load (start and update) and at link time, so an operator can express rules the issuer
//! allow-list cannot ("only actors tagged `payments` may link to the Redis KV", "no actor with
//! rev < 3"). Backends: in-process Rego ([`super::rego`]) and an external OPA server
//! ([`super::opa`]); [`CachedPolicy`] adds a decision cache in front of either.
//!
//! The gate fails closed: an engine that cannot answer (down, slow, wrong answer) refuses, with
//! [`HostError::PolicyUnavailable`], never admits. The input document is in `docs/policy.md`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use caplet_provider_api::BoxFuture;
use serde_json::{Value, json};

use crate::HostError;
use crate::policy::Admission;

/// How long one policy decision may take before the gate refuses, in milliseconds.
///
/// Default: 500 ms. When hit, the action (start, update, link) is refused with
/// [`HostError::PolicyUnavailable`] (fail closed). Applies to the OPA request and to Rego
/// evaluation. Change it with `[host.policy] timeout_ms` or [`super::OpaPolicy::new`] /
/// [`super::RegoPolicy::with_timeout`].
pub const DEFAULT_POLICY_TIMEOUT: Duration = Duration::from_millis(500);

/// How long a decision is reused for the same input, in seconds.
///
/// Default: 30 s. A cached decision (allow or deny, never "unavailable") answers the same input
/// again without asking the engine; a policy change reaches already-decided inputs after at
/// most this long. Change it with `[host.policy] cache_ttl_s` (0 disables the cache) or
/// [`CachedPolicy::new`].
pub const DEFAULT_POLICY_CACHE_TTL: Duration = Duration::from_secs(30);

/// Most decisions the cache holds.
///
/// Default: 1024 entries. When full, expired entries are dropped, and if that is not enough the
/// whole cache is cleared (inputs are per actor and link, so a host rarely has more). Fixed at
/// build time.
pub const MAX_POLICY_CACHE_ENTRIES: usize = 1024;

/// What the engine decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// True to allow the action.
    pub allow: bool,
    /// Why, when the policy says (shown in the refusal).
    pub reason: Option<String>,
}

/// A policy backend. `evaluate` answers one input document (see `docs/policy.md`); an `Err`
/// means it could not answer, and the host then refuses (fail closed).
pub trait PolicyEngine: Send + Sync + std::fmt::Debug {
    /// Decides on `input`.
    fn evaluate<'a>(&'a self, input: &'a Value) -> BoxFuture<'a, Result<Decision, String>>;

    /// Names the engine in messages: `rego policy.rego (data.caplet.allow)`.
    fn describe(&self) -> String;

    /// How long the host waits for a decision before refusing; see [`DEFAULT_POLICY_TIMEOUT`].
    fn timeout(&self) -> Duration {
        DEFAULT_POLICY_TIMEOUT
    }
}

/// The action being decided, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyAction {
    /// Starting an actor.
    Start,
    /// Updating (hot-swapping) an actor's code.
    Update,
    /// Linking an actor to a contract.
    Link,
}

impl std::fmt::Display for PolicyAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Start => "start",
            Self::Update => "update",
            Self::Link => "link",
        })
    }
}

/// The `actor` object of the input document.
pub fn actor_input(name: &str, admission: &Admission) -> Value {
    let claims = admission.claims.as_ref();
    json!({
        "name": name,
        "id": admission.id.as_ref(),
        "issuer": claims.map(|c| c.issuer()),
        "capabilities": admission.capabilities,
        "rev": claims.and_then(|c| c.rev()),
        "ver": claims.and_then(|c| c.ver()),
        "tags": claims.map(|c| c.tags().to_vec()).unwrap_or_default(),
        "call_alias": claims.and_then(|c| c.call_alias()),
        "expires": claims.and_then(|c| c.expires()),
        "signed": claims.is_some(),
    })
}

/// The whole input document for `action`.
pub fn policy_input(action: PolicyAction, actor: Value, link: Option<Value>, host: Value) -> Value {
    let kind = match action {
        PolicyAction::Start | PolicyAction::Update => "start_actor",
        PolicyAction::Link => "link",
    };
    json!({
        "kind": kind,
        "update": action == PolicyAction::Update,
        "actor": actor,
        "link": link,
        "host": host,
    })
}

/// Asks `engine` about `input` within `timeout` and turns the answer into the host's result.
pub(crate) async fn check(
    engine: &dyn PolicyEngine,
    action: PolicyAction,
    actor: &str,
    input: &Value,
) -> Result<(), HostError> {
    let timeout = engine.timeout();
    // Each engine enforces its own limit with a precise message; this backstop (twice that)
    // only catches an engine that ignores it.
    let answer = match tokio::time::timeout(timeout.saturating_mul(2), engine.evaluate(input)).await
    {
        Ok(answer) => answer,
        Err(_) => Err(format!(
            "no answer within {} ms (DEFAULT_POLICY_TIMEOUT; set [host.policy] timeout_ms)",
            timeout.as_millis()
        )),
    };
    match answer {
        Ok(Decision { allow: true, .. }) => Ok(()),
        Ok(Decision {
            allow: false,
            reason,
        }) => Err(HostError::PolicyDenied {
            actor: actor.to_string(),
            action: action.to_string(),
            reason: reason.unwrap_or_else(|| {
                format!("{} does not allow it (no reason given)", engine.describe())
            }),
        }),
        Err(reason) => {
            tracing::warn!(actor, %action, engine = %engine.describe(), "policy unavailable: {reason}");
            Err(HostError::PolicyUnavailable {
                actor: actor.to_string(),
                action: action.to_string(),
                engine: engine.describe(),
                reason,
            })
        }
    }
}

/// An engine with a decision cache keyed by the serialized input (see
/// [`DEFAULT_POLICY_CACHE_TTL`]). Only answers are cached, never failures.
#[derive(Debug)]
pub struct CachedPolicy {
    inner: Arc<dyn PolicyEngine>,
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Decision)>>,
}

impl CachedPolicy {
    /// `inner` behind a cache keeping decisions for `ttl` (zero: no caching).
    pub fn new(inner: Arc<dyn PolicyEngine>, ttl: Duration) -> Self {
        Self {
            inner,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn lookup(&self, key: &str) -> Option<Decision> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, decision)| decision.clone())
    }

    fn store(&self, key: String, decision: Decision) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_POLICY_CACHE_ENTRIES {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= MAX_POLICY_CACHE_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), decision));
    }
}

impl PolicyEngine for CachedPolicy {
    fn evaluate<'a>(&'a self, input: &'a Value) -> BoxFuture<'a, Result<Decision, String>> {
        Box::pin(async move {
            if self.ttl.is_zero() {
                return self.inner.evaluate(input).await;
            }
            // serde_json maps are ordered (BTreeMap), so equal inputs serialize equally.
            let key = input.to_string();
            if let Some(decision) = self.lookup(&key) {
                return Ok(decision);
            }
            let decision = self.inner.evaluate(input).await?;
            self.store(key, decision.clone());
            Ok(decision)
        })
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn timeout(&self) -> Duration {
        self.inner.timeout()
    }
}
