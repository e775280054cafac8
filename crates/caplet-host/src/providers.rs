//! The running providers, keyed by (contract id, link name).
//!
//! A slot may be empty: while a contract has no provider, host calls to it fail fast with a
//! "capability unavailable" error and health reports degraded, and everything else keeps
//! serving. Adding, removing and replacing publish a new [`Snapshot`] of the table; calls
//! already inside a provider keep their `Arc` and finish.

use std::sync::Arc;

use caplet_provider_api::Provider;

use caplet_provider_api::snapshot::{FastMap, Snapshot};

/// The key of a provider: canonical contract id and link name.
pub type ProviderKey = (String, String);

/// The providers of one contract, by link name (few per contract: a short list).
type ByLinkName = Vec<(String, Arc<dyn Provider>)>;

/// The running providers.
#[derive(Default)]
pub struct ProviderTable {
    map: Snapshot<FastMap<String, ByLinkName>>,
}

impl ProviderTable {
    /// The provider serving (contract, link name).
    pub fn get(&self, contract: &str, link_name: &str) -> Option<Arc<dyn Provider>> {
        let map = self.map.load();
        map.get(contract)?
            .iter()
            .find(|(name, _)| name == link_name)
            .map(|(_, provider)| provider.clone())
    }

    /// Installs `provider` for (contract, link name), returning the one it replaced.
    pub fn insert(
        &self,
        contract: &str,
        link_name: &str,
        provider: Arc<dyn Provider>,
    ) -> Option<Arc<dyn Provider>> {
        self.map.update(|map| {
            let list = map.entry(contract.to_string()).or_default();
            match list.iter_mut().find(|(name, _)| name == link_name) {
                Some((_, existing)) => Some(std::mem::replace(existing, provider)),
                None => {
                    list.push((link_name.to_string(), provider));
                    None
                }
            }
        })
    }

    /// Removes and returns the provider of (contract, link name).
    pub fn remove(&self, contract: &str, link_name: &str) -> Option<Arc<dyn Provider>> {
        self.map.change_some(|map| {
            let list = map.get_mut(contract)?;
            let index = list.iter().position(|(name, _)| name == link_name)?;
            let (_, provider) = list.swap_remove(index);
            if list.is_empty() {
                map.remove(contract);
            }
            Some(provider)
        })
    }

    /// Every provider with its key, sorted.
    pub fn all(&self) -> Vec<(ProviderKey, Arc<dyn Provider>)> {
        let map = self.map.load();
        let mut all: Vec<_> = map
            .iter()
            .flat_map(|(contract, list)| {
                list.iter().map(move |(link_name, provider)| {
                    ((contract.clone(), link_name.clone()), provider.clone())
                })
            })
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}
