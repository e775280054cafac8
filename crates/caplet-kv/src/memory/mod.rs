//! `MemoryKeyValue`: the embedded key-value provider (implementation `memory`).
//!
//! It is the default store of a Caplet host: no server to run, state shared by every actor
//! bound to the same provider (an event actor writes, an HTTP actor reads), lost when the host
//! stops. Its total size is bounded (`max_bytes`) so a guest cannot exhaust the host's memory.

mod store;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};

use caplet_provider_api::{
    ActorRef, BoxFuture, LinkDefinition, LinkValues, Provider, ProviderCall, ProviderConfig,
    ProviderError,
};

use crate::backend::Limits;
use crate::bindings::Bindings;
use crate::config::{lookup, parse_bytes, reject_unknown_keys};
use crate::{DEFAULT_MAX_BYTES, DEFAULT_MAX_VALUE_BYTES, dispatch};
use store::MemoryStore;

/// The implementation name, as inventories and manifests spell it.
pub const IMPLEMENTATION: &str = "memory";

/// The provider config keys the memory provider reads.
pub const CONFIG_KEYS: &[&str] = &["max_bytes", "max_value_bytes"];

/// Checks a memory provider's config: only [`CONFIG_KEYS`], sizes that parse.
pub fn validate_config(config: &ProviderConfig) -> Result<(), String> {
    Settings::from_config(config).map(|_| ())
}

/// Checks a link's values for the memory provider. It reads none, so any values pass (a
/// manifest may share link values between a memory and a Redis provider).
pub fn validate_link(_values: &LinkValues) -> Result<(), String> {
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    max_bytes: usize,
    limits: Limits,
}

impl Settings {
    fn from_config(config: &ProviderConfig) -> Result<Self, String> {
        const WHAT: &str = "memory key-value provider config";
        reject_unknown_keys(config, CONFIG_KEYS, WHAT)?;
        let max_bytes = match lookup(config, "max_bytes", WHAT)? {
            Some(value) => parse_bytes("max_bytes", value)?,
            None => DEFAULT_MAX_BYTES,
        };
        let max_value_bytes = match lookup(config, "max_value_bytes", WHAT)? {
            Some(value) => parse_bytes("max_value_bytes", value)?,
            None => DEFAULT_MAX_VALUE_BYTES,
        };
        Ok(Self {
            max_bytes,
            limits: Limits { max_value_bytes },
        })
    }
}

/// The in-memory key-value provider: one store per provider, shared by its bound actors.
#[derive(Debug)]
pub struct MemoryKeyValue {
    store: MemoryStore,
    settings: Settings,
    bindings: Bindings<()>,
    closed: AtomicBool,
}

impl MemoryKeyValue {
    /// An empty store configured by `config` (keys [`CONFIG_KEYS`]); the error says which key
    /// is wrong and what it accepts.
    pub fn new(config: &ProviderConfig) -> Result<Self, String> {
        let settings = Settings::from_config(config)?;
        Ok(Self {
            store: MemoryStore::new(settings.max_bytes),
            settings,
            bindings: Bindings::default(),
            closed: AtomicBool::new(false),
        })
    }

    /// The byte budget of the store (`max_bytes`).
    pub fn max_bytes(&self) -> usize {
        self.settings.max_bytes
    }

    /// Bytes charged against the budget now, expired keys excluded.
    pub fn used_bytes(&self) -> usize {
        self.store.used_bytes()
    }

    /// Keys stored now, expired keys excluded.
    pub fn key_count(&self) -> usize {
        self.store.key_count()
    }

    fn check_open(&self) -> Result<(), ProviderError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(ProviderError::Unavailable(
                "the memory key-value provider was shut down; the host is stopping or the \
                 provider was removed"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

impl Provider for MemoryKeyValue {
    fn contract_id(&self) -> &str {
        caplet_wire::contracts::KEY_VALUE
    }

    fn implementation(&self) -> &str {
        IMPLEMENTATION
    }

    fn bind(&self, link: LinkDefinition) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(async move {
            self.check_open()?;
            self.bindings.insert(&link.actor, &link.link_name, ());
            Ok(())
        })
    }

    fn unbind<'a>(&'a self, actor: &'a ActorRef, link_name: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            // The data stays: it belongs to the store, shared with the other actors.
            self.bindings.remove(actor, link_name);
        })
    }

    fn handle<'a>(
        &'a self,
        call: ProviderCall<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>> {
        Box::pin(async move {
            self.check_open()?;
            self.bindings
                .get(call.actor, call.link_name, IMPLEMENTATION)?;
            dispatch::dispatch(
                &self.store,
                self.settings.limits,
                call.operation,
                call.payload,
            )
            .await
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move { self.check_open().map_err(|e| e.to_string()) })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.closed.store(true, Ordering::Release);
            self.bindings.clear();
            self.store.clear();
        })
    }
}
