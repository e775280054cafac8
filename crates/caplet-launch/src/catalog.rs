//! The built-in provider implementations, by (contract, implementation name): how to validate
//! their config and link values, and how to build one. `caplet up`, and later the control API,
//! build providers only through here.

use std::sync::Arc;

use caplet_host::{ActorDispatcher, LinkValues, Provider, ProviderConfig};
use caplet_wire::contracts::{HTTP_CLIENT, HTTP_SERVER, KEY_VALUE, LOGGING, MESSAGING, NUMBERGEN};

/// Checks a provider's `[provider.config]`.
pub fn validate_config(
    contract: &str,
    implementation: &str,
    config: &ProviderConfig,
) -> Result<(), String> {
    match (contract, implementation) {
        (KEY_VALUE, "memory") => caplet_kv::memory::validate_config(config),
        (KEY_VALUE, "redis") => caplet_kv::redis::validate_config(config),
        (MESSAGING, "local" | "nats") => caplet_messaging::validate_config(config),
        (HTTP_SERVER, "hyper") => caplet_http::server::validate_config(config),
        (HTTP_CLIENT, "hyper") => caplet_http::client::validate_config(config),
        (LOGGING | NUMBERGEN, "builtin") if config.is_empty() => Ok(()),
        (LOGGING | NUMBERGEN, "builtin") => {
            Err("the built-in providers take no configuration".to_string())
        }
        _ => Err(unknown(contract, implementation)),
    }
}

/// Checks a link's `[link.values]` for the provider that will serve it.
pub fn validate_link(
    contract: &str,
    implementation: &str,
    values: &LinkValues,
) -> Result<(), String> {
    match (contract, implementation) {
        (KEY_VALUE, "memory") => caplet_kv::memory::validate_link(values),
        (KEY_VALUE, "redis") => caplet_kv::redis::validate_link(values),
        (MESSAGING, "local" | "nats") => caplet_messaging::validate_link(values),
        (HTTP_SERVER, "hyper") => caplet_http::server::validate_link(values),
        (HTTP_CLIENT, "hyper") => caplet_http::client::validate_link(values),
        (LOGGING | NUMBERGEN, "builtin") => Ok(()),
        _ => Err(unknown(contract, implementation)),
    }
}

/// Builds a provider. `dispatcher` is how providers that drive actors call them.
pub fn build(
    contract: &str,
    implementation: &str,
    config: &ProviderConfig,
    dispatcher: Arc<dyn ActorDispatcher>,
) -> Result<Arc<dyn Provider>, String> {
    Ok(match (contract, implementation) {
        (KEY_VALUE, "memory") => Arc::new(caplet_kv::MemoryKeyValue::new(config)?),
        (KEY_VALUE, "redis") => Arc::new(caplet_kv::RedisKeyValue::new(config)?),
        (MESSAGING, "local") => {
            Arc::new(caplet_messaging::LocalMessaging::new(config, dispatcher)?)
        }
        (MESSAGING, "nats") => Arc::new(caplet_messaging::NatsMessaging::new(config, dispatcher)?),
        (HTTP_SERVER, "hyper") => Arc::new(caplet_http::HttpServer::new(config, dispatcher)?),
        (HTTP_CLIENT, "hyper") => Arc::new(caplet_http::HttpClient::new(config)?),
        _ => return Err(unknown(contract, implementation)),
    })
}

/// True for the providers the host installs itself (logging, number generation).
pub fn is_builtin(contract: &str) -> bool {
    contract == LOGGING || contract == NUMBERGEN
}

fn unknown(contract: &str, implementation: &str) -> String {
    format!("no built-in provider `{implementation}` for contract `{contract}`")
}
