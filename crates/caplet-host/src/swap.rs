//! Hot swap: replace an actor's code without dropping a call.
//!
//! The new module is verified (same identity, higher `rev`, unless forced), compiled and warmed
//! *before* anything changes; then one atomic pointer store makes it current. Calls that had
//! already taken the old version finish on it, its pool drains as they return, and it is freed
//! with the last of them. If any step before the store fails, the old version keeps serving and
//! the error says which step (hostile-guests.md F2).

use std::sync::Arc;

use caplet_runtime::Limits;

use crate::actors::ActorVersion;
use crate::policy::PolicyAction;
use crate::{Host, HostError};

/// What an update may override.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpdateOptions {
    /// Accept a `rev` that is not higher than the running one (a rollback, or unversioned
    /// builds).
    pub allow_same_or_lower_rev: bool,
}

/// The outcome of a swap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapReport {
    /// The actor's name.
    pub actor: String,
    /// `rev` before and after.
    pub old_rev: Option<i32>,
    /// `rev` now serving.
    pub new_rev: Option<i32>,
    /// Module hashes before and after.
    pub old_hash: String,
    /// The hash now serving.
    pub new_hash: String,
}

impl Host {
    /// Replaces the code of the running actor `name` with `bytes` (see the module docs).
    /// `limits` apply to the new version; `None` keeps the current version's.
    pub async fn update_actor(
        &self,
        name: &str,
        bytes: Vec<u8>,
        limits: Option<Limits>,
        options: UpdateOptions,
    ) -> Result<SwapReport, HostError> {
        let inner = self.inner();
        let entry = inner
            .actors
            .by_name(name)
            .ok_or_else(|| HostError::NoSuchActor(name.to_string()))?;
        let current = entry.current();
        let size_limits = limits.unwrap_or_else(|| current.module.limits());
        crate::host::check_size(name, &bytes, &size_limits)?;
        let admission = inner.policy.admit(name, &bytes)?;
        if admission.id != entry.actor.id {
            return Err(HostError::IdentityChanged {
                name: name.to_string(),
                running: entry.actor.id.to_string(),
                offered: admission.id.to_string(),
            });
        }
        self.check_policy(PolicyAction::Update, name, &admission, None)
            .await?;
        let old_rev = current.admission.claims.as_ref().and_then(|c| c.rev());
        let new_rev = admission.claims.as_ref().and_then(|c| c.rev());
        if !options.allow_same_or_lower_rev
            && new_rev.unwrap_or(0) <= old_rev.unwrap_or(0)
            && admission.claims.is_some()
        {
            return Err(HostError::RevisionNotHigher {
                name: name.to_string(),
                running: old_rev.unwrap_or(0),
                offered: new_rev.unwrap_or(0),
            });
        }
        let limits = limits.unwrap_or_else(|| current.module.limits());
        let module = self.compile(name, bytes, limits).await?;
        let instances = current.instances;
        let warm = usize::try_from(instances).unwrap_or(usize::MAX).max(1);
        module.warm(warm).await.map_err(|source| HostError::Start {
            name: name.to_string(),
            source,
        })?;
        let report = SwapReport {
            actor: name.to_string(),
            old_rev,
            new_rev,
            old_hash: current.module.hash().to_string(),
            new_hash: module.hash().to_string(),
        };
        let old: Arc<ActorVersion> = entry.swap(ActorVersion {
            module,
            admission,
            instances,
        });
        // Idle instances of the old version go now; busy ones are dropped when they return,
        // because the old version is freed with the last call holding it.
        old.module.drain_idle();
        entry.metrics.swapped();
        // New code deserves a fresh start: an open circuit was about the old version.
        entry.breaker.reset();
        tracing::info!(actor = name, ?old_rev, ?new_rev, "actor updated");
        Ok(report)
    }
}
