//! Who is calling and with which link: the values passed to providers.

use std::collections::BTreeMap;
use std::sync::Arc;

/// Link values (wasmCloud's `values`): string keys to string values, from the manifest or the
/// control API. Providers document the keys they read.
pub type LinkValues = BTreeMap<String, String>;

/// A provider's own configuration (from the manifest's `[provider.config]`), as strings.
pub type ProviderConfig = BTreeMap<String, String>;

/// An actor as providers see it: its identity and a name for messages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ActorRef {
    /// The actor's stable id: its module public key (`M...`), or `unsigned:<name>` for an actor
    /// loaded unsigned in development. The host routes [`crate::ActorDispatcher`] calls by it.
    pub id: Arc<str>,
    /// The actor's name in the manifest, for logs and error messages.
    pub name: Arc<str>,
}

impl std::fmt::Display for ActorRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

/// A link: (actor, contract, link name) → values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkDefinition {
    /// The linked actor.
    pub actor: ActorRef,
    /// The contract id, canonical form.
    pub contract_id: String,
    /// The link name (`default` unless named).
    pub link_name: String,
    /// The link's values.
    pub values: LinkValues,
}

/// One host call, after the host has checked the actor's claims and its link.
///
/// It borrows the guest's request (the runtime copies it out of guest memory once): a provider
/// copies only what it keeps beyond its future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProviderCall<'a> {
    /// The calling actor.
    pub actor: &'a ActorRef,
    /// The link name the actor called through.
    pub link_name: &'a str,
    /// The operation, e.g. `KeyValue.Increment`.
    pub operation: &'a str,
    /// The MessagePack payload.
    pub payload: &'a [u8],
}
