//! The provider implementations built into Caplet, as far as the manifest needs to know them.
//!
//! A `[[provider]]` may only name a contract and implementation from [`IMPLEMENTATIONS`], and a
//! `[[link]]` without a `[[provider]]` gets the contract's default implementation. The host owns
//! the implementations themselves; this table is what the manifest checks names against.

use caplet_wire::contracts::{self as ids, canonical};

/// The implementation name of the built-in contracts (logging, number generation).
pub const BUILTIN_IMPLEMENTATION: &str = "builtin";

/// A contract Caplet ships providers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownContract {
    /// The canonical contract id (`wasmcloud:...`).
    pub contract: &'static str,
    /// The implementation names; the first one is the default.
    pub implementations: &'static [&'static str],
    /// Built into the host: always present, takes no configuration.
    pub builtin: bool,
}

impl KnownContract {
    /// The implementation a link gets when no `[[provider]]` chooses one.
    pub fn default_implementation(&self) -> &'static str {
        self.implementations
            .first()
            .copied()
            .unwrap_or(BUILTIN_IMPLEMENTATION)
    }

    /// Whether `name` is one of this contract's implementations.
    pub fn has_implementation(&self, name: &str) -> bool {
        self.implementations.contains(&name)
    }
}

/// Every contract with a built-in provider and its implementations (default first).
///
/// Adding an implementation to the host means adding its name here, so manifests may choose it.
pub const IMPLEMENTATIONS: &[KnownContract] = &[
    KnownContract {
        contract: ids::HTTP_SERVER,
        implementations: &["hyper"],
        builtin: false,
    },
    KnownContract {
        contract: ids::HTTP_CLIENT,
        implementations: &["hyper"],
        builtin: false,
    },
    KnownContract {
        contract: ids::KEY_VALUE,
        implementations: &["memory", "redis"],
        builtin: false,
    },
    KnownContract {
        contract: ids::MESSAGING,
        implementations: &["local", "nats"],
        builtin: false,
    },
    KnownContract {
        contract: ids::LOGGING,
        implementations: &[BUILTIN_IMPLEMENTATION],
        builtin: true,
    },
    KnownContract {
        contract: ids::NUMBERGEN,
        implementations: &[BUILTIN_IMPLEMENTATION],
        builtin: true,
    },
];

/// The entry for `contract` (canonical or legacy id), if Caplet has a provider for it.
pub fn known_contract(contract: &str) -> Option<&'static KnownContract> {
    let contract = canonical(contract);
    IMPLEMENTATIONS
        .iter()
        .find(|known| known.contract == contract)
}

/// The ids of every contract in [`IMPLEMENTATIONS`], in table order.
pub fn known_contract_ids() -> Vec<&'static str> {
    IMPLEMENTATIONS.iter().map(|known| known.contract).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_aliases() {
        let kv = known_contract("wascc:keyvalue").unwrap();
        assert_eq!(kv.contract, "wasmcloud:keyvalue");
        assert_eq!(kv.default_implementation(), "memory");
        assert!(kv.has_implementation("redis"));
        assert!(known_contract("wasmcloud:logging").unwrap().builtin);
        assert!(known_contract("wasmcloud:blobstore").is_none());
        assert!(known_contract("acme:custom").is_none());
        for known in IMPLEMENTATIONS {
            assert_eq!(canonical(known.contract), known.contract);
            assert!(!known.implementations.is_empty());
        }
    }
}
