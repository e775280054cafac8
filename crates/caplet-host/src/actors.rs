//! The actor table: each running actor's identity and its *current* version.
//!
//! A version is swapped with one atomic pointer store, so a call that already took the old
//! version finishes on it while new calls take the new one (hot swap). Lookups by id, name or
//! call alias read a [`Snapshot`] of small maps (no lock) and clone an `Arc`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use arc_swap::ArcSwap;
use caplet_provider_api::ActorRef;
use caplet_runtime::ActorModule;

use crate::breaker::Breaker;
use crate::metrics::ActorMetrics;
use crate::policy::Admission;
use caplet_provider_api::snapshot::{FastMap, Snapshot};

/// One loaded version of an actor: its compiled module (with its instance pool) and claims.
///
/// Aligned to 128 bytes: every call clones and drops its `Arc` from whichever core runs it, and
/// this keeps the fields each call reads off the cache line that reference count lives on.
#[repr(align(128))]
pub struct ActorVersion {
    /// The compiled module and its warm instances.
    pub module: ActorModule,
    /// What the claims allow.
    pub admission: Admission,
    /// Warm instances asked for.
    pub instances: u32,
    /// Whether this version handles `Actor.HealthRequest`: learnt from its first answer, so a
    /// version without a handler is not asked again (see [`crate::Host::health`]).
    pub(crate) health_handler: HealthHandler,
}

impl ActorVersion {
    /// A version serving `module` with `admission`, keeping `instances` warm.
    pub fn new(module: ActorModule, admission: Admission, instances: u32) -> Self {
        Self {
            module,
            admission,
            instances,
            health_handler: HealthHandler::default(),
        }
    }
}

/// Whether a version handles the health operation: not known yet, yes, or no.
#[derive(Debug, Default)]
pub(crate) struct HealthHandler(AtomicU8);

impl HealthHandler {
    const YES: u8 = 1;
    const NO: u8 = 2;

    /// True once the version answered that it has no handler.
    pub(crate) fn known_absent(&self) -> bool {
        self.0.load(Ordering::Relaxed) == Self::NO
    }

    pub(crate) fn set(&self, present: bool) {
        let value = if present { Self::YES } else { Self::NO };
        self.0.store(value, Ordering::Relaxed);
    }
}

/// A running actor.
///
/// Aligned to 128 bytes: every call clones and drops its `Arc` from whichever core runs it, and
/// this keeps the fields each call reads off the cache line that reference count lives on.
#[repr(align(128))]
pub struct ActorEntry {
    /// Its identity as providers see it.
    pub actor: ActorRef,
    current: ArcSwap<ActorVersion>,
    /// Its call metrics; they start with the actor and end with it (an identity change keeps
    /// them: they belong to the name).
    pub(crate) metrics: Arc<ActorMetrics>,
    /// Its circuit breaker and trap-log limiter.
    pub(crate) breaker: Arc<Breaker>,
}

impl ActorEntry {
    /// A new entry serving `version`.
    pub fn new(actor: ActorRef, version: ActorVersion) -> Self {
        Self {
            actor,
            current: ArcSwap::from_pointee(version),
            metrics: Arc::default(),
            breaker: Arc::default(),
        }
    }

    /// The same actor (name, metrics, breaker) under a new identity, serving `version`: what an
    /// update with `force_new_identity` installs.
    pub fn with_identity(&self, actor: ActorRef, version: ActorVersion) -> Self {
        Self {
            actor,
            current: ArcSwap::from_pointee(version),
            metrics: self.metrics.clone(),
            breaker: self.breaker.clone(),
        }
    }

    /// The version new calls go to.
    pub fn current(&self) -> Arc<ActorVersion> {
        self.current.load_full()
    }

    /// Makes `version` current and returns the previous one.
    pub fn swap(&self, version: ActorVersion) -> Arc<ActorVersion> {
        self.current.swap(Arc::new(version))
    }
}

#[derive(Default, Clone)]
struct Maps {
    by_id: FastMap<Arc<str>, Arc<ActorEntry>>,
    by_name: FastMap<Arc<str>, Arc<ActorEntry>>,
    by_alias: FastMap<String, Arc<ActorEntry>>,
}

/// The running actors, by id, name and call alias.
#[derive(Default)]
pub struct ActorTable {
    maps: Snapshot<Maps>,
}

impl ActorTable {
    /// Adds `entry`. Fails (returning why) when its name, id or alias is taken.
    pub fn insert(&self, entry: Arc<ActorEntry>) -> Result<(), String> {
        self.maps.change(|maps| Self::insert_into(maps, entry))
    }

    fn insert_into(maps: &mut Maps, entry: Arc<ActorEntry>) -> Result<(), String> {
        if maps.by_name.contains_key(&entry.actor.name) {
            return Err(String::new());
        }
        if let Some(other) = maps.by_id.get(&entry.actor.id) {
            return Err(format!(
                " as `{}` (same module key {})",
                other.actor.name, entry.actor.id
            ));
        }
        let alias = entry.current().admission.call_alias().map(str::to_string);
        if let Some(alias) = alias {
            if let Some(other) = maps.by_alias.get(&alias) {
                return Err(format!(
                    ": call alias `{alias}` is already used by `{}`",
                    other.actor.name
                ));
            }
            maps.by_alias.insert(alias, entry.clone());
        }
        maps.by_id.insert(entry.actor.id.clone(), entry.clone());
        maps.by_name.insert(entry.actor.name.clone(), entry);
        Ok(())
    }

    /// First step of an identity change: `new` (same name as `old`, another id) takes the name
    /// and its own id and alias, while `old` stays reachable by its old id until
    /// [`ActorTable::retire_id`], so providers still holding the old identity keep working
    /// while their links move. Fails (returning why) when the new id or alias belongs to
    /// another actor, or `old` is no longer the running entry of its name.
    pub fn rekey(&self, old: &Arc<ActorEntry>, new: Arc<ActorEntry>) -> Result<(), String> {
        self.maps.change(|maps| Self::rekey_in(maps, old, new))
    }

    fn rekey_in(
        maps: &mut Maps,
        old: &Arc<ActorEntry>,
        new: Arc<ActorEntry>,
    ) -> Result<(), String> {
        match maps.by_name.get(&old.actor.name) {
            Some(running) if Arc::ptr_eq(running, old) => {}
            _ => {
                return Err(format!(
                    "actor `{}` was stopped or changed during the update; try again",
                    old.actor.name
                ));
            }
        }
        if let Some(other) = maps.by_id.get(&new.actor.id)
            && other.actor.name != old.actor.name
        {
            return Err(format!(
                "the new module key {} is already running as `{}`",
                new.actor.id, other.actor.name
            ));
        }
        let alias = new.current().admission.call_alias().map(str::to_string);
        if let Some(alias) = &alias
            && let Some(other) = maps.by_alias.get(alias)
            && other.actor.name != old.actor.name
        {
            return Err(format!(
                "call alias `{alias}` is already used by `{}`",
                other.actor.name
            ));
        }
        maps.by_alias.retain(|_, other| !Arc::ptr_eq(other, old));
        if let Some(alias) = alias {
            maps.by_alias.insert(alias, new.clone());
        }
        maps.by_id.insert(new.actor.id.clone(), new.clone());
        maps.by_name.insert(new.actor.name.clone(), new);
        Ok(())
    }

    /// Last step of an identity change: the old id stops resolving (if it still points at
    /// `old`).
    pub fn retire_id(&self, old: &Arc<ActorEntry>) {
        self.maps.update(|maps| {
            if maps
                .by_id
                .get(&old.actor.id)
                .is_some_and(|entry| Arc::ptr_eq(entry, old))
            {
                maps.by_id.remove(&old.actor.id);
            }
        });
    }

    /// Removes the actor named `name`.
    pub fn remove(&self, name: &str) -> Option<Arc<ActorEntry>> {
        self.maps.change_some(|maps| {
            let entry = maps.by_name.remove(name)?;
            maps.by_id.remove(&entry.actor.id);
            maps.by_alias.retain(|_, other| !Arc::ptr_eq(other, &entry));
            Some(entry)
        })
    }

    /// The actor with this id (`M...`).
    pub fn by_id(&self, id: &str) -> Option<Arc<ActorEntry>> {
        let maps = self.maps.load();
        maps.by_id.get(id).cloned()
    }

    /// The actor with this manifest name.
    pub fn by_name(&self, name: &str) -> Option<Arc<ActorEntry>> {
        let maps = self.maps.load();
        maps.by_name.get(name).cloned()
    }

    /// The target of an actor-to-actor host call: a public key or a call alias.
    pub fn call_target(&self, namespace: &str) -> Option<Arc<ActorEntry>> {
        let maps = self.maps.load();
        maps.by_id
            .get(namespace)
            .or_else(|| maps.by_alias.get(namespace))
            .cloned()
    }

    /// The actor with this name, id or alias.
    pub fn find(&self, reference: &str) -> Option<Arc<ActorEntry>> {
        let maps = self.maps.load();
        maps.by_name
            .get(reference)
            .or_else(|| maps.by_id.get(reference))
            .or_else(|| maps.by_alias.get(reference))
            .cloned()
    }

    /// Every running actor, sorted by name.
    pub fn all(&self) -> Vec<Arc<ActorEntry>> {
        let maps = self.maps.load();
        let mut all: Vec<_> = maps.by_name.values().cloned().collect();
        all.sort_by(|a, b| a.actor.name.cmp(&b.actor.name));
        all
    }
}
