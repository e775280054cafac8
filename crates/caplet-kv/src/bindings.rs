//! The record of which (actor, link name) pairs are bound to a provider, and with what.
//!
//! The host only forwards calls it has authorised, but a link can be removed while a call is in
//! flight; both providers look the caller up here first and answer `NotBound` when the link is
//! gone, so a removed link stops working at once. That look-up is on every call, so the table
//! is a [`Snapshot`]: read without a lock, copied on the rare bind and unbind.

use std::sync::Arc;

use caplet_provider_api::snapshot::{FastMap, Snapshot};
use caplet_provider_api::{ActorRef, ProviderError};

type Table<T> = FastMap<Arc<str>, FastMap<String, T>>;

/// (actor id → link name → T).
pub(crate) struct Bindings<T> {
    map: Snapshot<Table<T>>,
}

impl<T> std::fmt::Debug for Bindings<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bindings").finish_non_exhaustive()
    }
}

impl<T> Default for Bindings<T> {
    fn default() -> Self {
        Self {
            map: Snapshot::default(),
        }
    }
}

impl<T: Clone> Bindings<T> {
    /// Records (or replaces) the binding of `actor` through `link_name`.
    pub(crate) fn insert(&self, actor: &ActorRef, link_name: &str, value: T) {
        self.map.update(|map| {
            map.entry(actor.id.clone())
                .or_default()
                .insert(link_name.to_owned(), value);
        });
    }

    /// Forgets the binding; returns what it held.
    pub(crate) fn remove(&self, actor: &ActorRef, link_name: &str) -> Option<T> {
        self.map.change_some(|map| {
            let links = map.get_mut(&*actor.id)?;
            let removed = links.remove(link_name);
            if links.is_empty() {
                map.remove(&*actor.id);
            }
            removed
        })
    }

    /// What the binding holds, or `NotBound` naming the actor, the link and the provider.
    pub(crate) fn get(
        &self,
        actor: &ActorRef,
        link_name: &str,
        implementation: &str,
    ) -> Result<T, ProviderError> {
        self.map
            .load()
            .get(&*actor.id)
            .and_then(|links| links.get(link_name))
            .cloned()
            .ok_or_else(|| {
                ProviderError::NotBound(format!(
                    "actor {} ({}) has no link named \"{link_name}\" to the {implementation} \
                     key-value provider ({}); add the link in the manifest or through the \
                     control API",
                    actor.name,
                    actor.id,
                    caplet_wire::contracts::KEY_VALUE
                ))
            })
    }

    /// Every bound value, for finding which connections are still in use.
    pub(crate) fn values(&self) -> Vec<T> {
        self.map
            .load()
            .values()
            .flat_map(|links| links.values().cloned())
            .collect()
    }

    /// Forgets every binding (shutdown).
    pub(crate) fn clear(&self) {
        self.map.update(|map| map.clear());
    }
}
