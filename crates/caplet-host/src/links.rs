//! Links: (actor, contract, link name) → values. A link is what lets an actor reach a provider;
//! its values configure the provider for that actor (a port, a Redis URL, subscriptions).
//!
//! Stored per actor id as a short list in a [`Snapshot`], so the check on every host call
//! allocates nothing and takes no lock.

use caplet_provider_api::LinkDefinition;

use caplet_provider_api::snapshot::{FastMap, Snapshot};

/// All links, including those whose actor or provider is not running yet.
#[derive(Default)]
pub struct LinkTable {
    by_actor: Snapshot<FastMap<String, Vec<LinkDefinition>>>,
}

fn same(link: &LinkDefinition, contract: &str, link_name: &str) -> bool {
    link.contract_id == contract && link.link_name == link_name
}

impl LinkTable {
    /// Stores `link`, replacing a link with the same key. Returns the replaced one.
    pub fn put(&self, link: LinkDefinition) -> Option<LinkDefinition> {
        self.by_actor.update(|map| {
            let list = map.entry(link.actor.id.to_string()).or_default();
            match list
                .iter_mut()
                .find(|l| same(l, &link.contract_id, &link.link_name))
            {
                Some(existing) => Some(std::mem::replace(existing, link)),
                None => {
                    list.push(link);
                    None
                }
            }
        })
    }

    /// Removes a link and returns it.
    pub fn remove(
        &self,
        actor_id: &str,
        contract: &str,
        link_name: &str,
    ) -> Option<LinkDefinition> {
        self.by_actor.change_some(|map| {
            let list = map.get_mut(actor_id)?;
            let index = list.iter().position(|l| same(l, contract, link_name))?;
            let removed = list.swap_remove(index);
            if list.is_empty() {
                map.remove(actor_id);
            }
            Some(removed)
        })
    }

    /// Removes every link of one actor id and returns them (an identity change moves them).
    pub fn remove_actor(&self, actor_id: &str) -> Vec<LinkDefinition> {
        self.by_actor
            .update(|map| map.remove(actor_id))
            .unwrap_or_default()
    }

    /// Whether the link exists: the check made on every host call.
    pub fn contains(&self, actor_id: &str, contract: &str, link_name: &str) -> bool {
        let map = self.by_actor.load();
        map.get(actor_id)
            .is_some_and(|list| list.iter().any(|l| same(l, contract, link_name)))
    }

    /// Links of one provider (contract, link name).
    pub fn for_provider(&self, contract: &str, link_name: &str) -> Vec<LinkDefinition> {
        let map = self.by_actor.load();
        map.values()
            .flatten()
            .filter(|l| same(l, contract, link_name))
            .cloned()
            .collect()
    }

    /// Links of one actor.
    pub fn for_actor(&self, actor_id: &str) -> Vec<LinkDefinition> {
        let map = self.by_actor.load();
        map.get(actor_id).cloned().unwrap_or_default()
    }

    /// Every link, sorted by actor name, contract and link name.
    pub fn all(&self) -> Vec<LinkDefinition> {
        let map = self.by_actor.load();
        let mut all: Vec<_> = map.values().flatten().cloned().collect();
        all.sort_by(|a, b| {
            (&a.actor.name, &a.contract_id, &a.link_name).cmp(&(
                &b.actor.name,
                &b.contract_id,
                &b.link_name,
            ))
        });
        all
    }
}
