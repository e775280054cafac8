//! Hot swap: replace an actor's code without dropping a call.
//!
//! The new module is verified (same identity, higher `rev`, unless forced), compiled and warmed
//! *before* anything changes; then one atomic pointer store makes it current. Calls that had
//! already taken the old version finish on it, its pool drains as they return, and it is freed
//! with the last of them. If any step before the store fails, the old version keeps serving and
//! the error says which step (hostile-guests.md F2).

use std::sync::Arc;

use caplet_runtime::Limits;

use caplet_provider_api::{ActorRef, LinkDefinition};

use crate::actors::{ActorEntry, ActorVersion};
use crate::policy::PolicyAction;
use crate::{Host, HostError};

/// What an update may override.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpdateOptions {
    /// Accept a `rev` that is not higher than the running one (a rollback, or unversioned
    /// builds).
    pub allow_same_or_lower_rev: bool,
    /// Accept a module signed with another module key (subject) than the running one. The
    /// actor keeps its name, metrics and links; it is then known by the new key only: calls by
    /// the old public key stop resolving, and its links move to the new key.
    pub force_new_identity: bool,
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
    /// The actor's id (module public key) before.
    pub old_id: String,
    /// The id now serving: differs from `old_id` only with `force_new_identity`.
    pub new_id: String,
    /// Links that could not move to the new identity (the provider refused the rebind); each
    /// names the link and the reason. Empty unless the identity changed.
    pub warnings: Vec<String>,
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
        let new_identity = admission.id != entry.actor.id;
        if new_identity && !options.force_new_identity {
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
        let mut report = SwapReport {
            actor: name.to_string(),
            old_rev,
            new_rev,
            old_hash: current.module.hash().to_string(),
            new_hash: module.hash().to_string(),
            old_id: entry.actor.id.to_string(),
            new_id: admission.id.to_string(),
            warnings: Vec::new(),
        };
        let version = ActorVersion::new(module, admission, instances);
        let old: Arc<ActorVersion> = if new_identity {
            report.warnings = self.change_identity(&entry, version).await?;
            current
        } else {
            entry.swap(version)
        };
        // Idle instances of the old version go now; busy ones are dropped when they return,
        // because the old version is freed with the last call holding it.
        old.module.drain_idle();
        entry.metrics.swapped();
        // New code deserves a fresh start: an open circuit was about the old version.
        entry.breaker.reset();
        tracing::info!(
            actor = name,
            ?old_rev,
            ?new_rev,
            id = %report.new_id,
            "actor updated"
        );
        Ok(report)
    }

    /// Installs `version` under its new identity: a new table entry (same name, metrics and
    /// breaker) takes the name and the new id while the old id keeps resolving; the links move
    /// to the new id and every running provider is asked to rebind them; then the old id is
    /// retired. Returns the links that could not move.
    async fn change_identity(
        &self,
        entry: &Arc<ActorEntry>,
        version: ActorVersion,
    ) -> Result<Vec<String>, HostError> {
        let inner = self.inner();
        let new_ref = ActorRef {
            id: version.admission.id.clone(),
            name: entry.actor.name.clone(),
        };
        let renamed = Arc::new(entry.with_identity(new_ref.clone(), version));
        inner
            .actors
            .rekey(entry, renamed)
            .map_err(|detail| HostError::DuplicateActor {
                name: entry.actor.name.to_string(),
                detail: format!(": {detail}"),
            })?;
        // Every link under the new id first (the router checks them on each host call), then
        // the providers; calls landing in between may see "capability unavailable".
        let moved: Vec<LinkDefinition> = inner
            .links
            .for_actor(&entry.actor.id)
            .into_iter()
            .map(|link| LinkDefinition {
                actor: new_ref.clone(),
                ..link
            })
            .collect();
        for link in &moved {
            inner.links.put(link.clone());
        }
        let mut warnings = Vec::new();
        for link in moved {
            let moved = link.clone();
            let Some(provider) = inner.providers.get(&moved.contract_id, &moved.link_name) else {
                continue;
            };
            if let Err(error) = provider.rebind(&entry.actor, moved).await {
                let warning = format!(
                    "link of `{}` to {} on `{}` could not move to the new identity: {error}; put the link again",
                    new_ref.name, link.contract_id, link.link_name
                );
                tracing::warn!("{warning}");
                warnings.push(warning);
            }
        }
        inner.links.remove_actor(&entry.actor.id);
        inner.actors.retire_id(entry);
        inner.logging.forget(&entry.actor);
        tracing::warn!(
            actor = %new_ref.name,
            old_id = %entry.actor.id,
            new_id = %new_ref.id,
            "actor identity changed (forced)"
        );
        Ok(warnings)
    }
}
