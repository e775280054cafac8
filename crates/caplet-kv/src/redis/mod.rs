//! `RedisKeyValue`: the key-value provider backed by a Redis server (implementation `redis`).
//!
//! Redis gives actors state that outlives the host and is shared between hosts. The provider
//! must never make actors wait on a Redis that is down: connections are opened lazily (building
//! the provider does not need Redis up), every call is bounded by short timeouts and fails with
//! `Unavailable`, and the connection manager reconnects by itself once Redis is back.

mod backend;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ::redis::Client;
use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use caplet_provider_api::{
    ActorRef, BoxFuture, LinkDefinition, LinkValues, Provider, ProviderCall, ProviderConfig,
    ProviderError,
};

use crate::backend::Limits;
use crate::bindings::Bindings;
use crate::config::{lookup, parse_bytes, parse_millis, reject_unknown_keys};
use crate::{
    DEFAULT_MAX_VALUE_BYTES, DEFAULT_REDIS_URL, MAX_REDIS_CONNECTIONS, REDIS_CONNECT_TIMEOUT,
    REDIS_HEALTH_TIMEOUT, REDIS_RECONNECT_MAX_DELAY, REDIS_RECONNECT_MIN_DELAY,
    REDIS_RECONNECT_RETRIES, REDIS_RESPONSE_TIMEOUT, dispatch,
};
use backend::{Conn, ConnInner, RedisBackend};

/// The implementation name, as inventories and manifests spell it.
pub const IMPLEMENTATION: &str = "redis";

/// The provider config keys the Redis provider reads (case-insensitive).
pub const CONFIG_KEYS: &[&str] = &[
    "url",
    "max_value_bytes",
    "connect_timeout_ms",
    "response_timeout_ms",
];

/// The link value that points one actor at another Redis (case-insensitive: `URL` works too).
pub const LINK_URL_KEY: &str = "url";

/// Checks a Redis provider's config: only [`CONFIG_KEYS`], a URL the client accepts, sizes and
/// timeouts that parse. Nothing is contacted.
pub fn validate_config(config: &ProviderConfig) -> Result<(), String> {
    Settings::from_config(config).map(|_| ())
}

/// Checks a link's values for the Redis provider: unknown keys are allowed (links may carry
/// values for other purposes), but `url`, when present, must be a usable Redis URL.
pub fn validate_link(values: &LinkValues) -> Result<(), String> {
    link_url(values).map(|_| ())
}

fn link_url(values: &LinkValues) -> Result<Option<Arc<str>>, String> {
    const WHAT: &str = "redis key-value link values";
    match lookup(values, LINK_URL_KEY, WHAT)? {
        Some(url) => {
            check_url(url, WHAT)?;
            Ok(Some(Arc::from(url)))
        }
        None => Ok(None),
    }
}

/// Opens (without connecting) a client for `url`, or says what is wrong with it.
fn check_url(url: &str, what: &str) -> Result<Client, String> {
    Client::open(url).map_err(|e| {
        format!(
            "{what}: `url` = \"{}\" is not a usable Redis URL: {e}; write \
             redis://[user:password@]host[:port][/db] (TLS is not supported), e.g. \
             {DEFAULT_REDIS_URL}",
            redact(url)
        )
    })
}

/// `url` with any password replaced by `***`, for messages.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest.get(..authority_end).and_then(|a| a.rfind('@')) {
        Some(at) => format!("{scheme}://***{}", rest.get(at..).unwrap_or("")),
        None => url.to_owned(),
    }
}

#[derive(Debug, Clone)]
struct Settings {
    url: Arc<str>,
    connect_timeout: Duration,
    response_timeout: Duration,
    limits: Limits,
}

impl Settings {
    fn from_config(config: &ProviderConfig) -> Result<Self, String> {
        const WHAT: &str = "redis key-value provider config";
        reject_unknown_keys(config, CONFIG_KEYS, WHAT)?;
        let url = lookup(config, "url", WHAT)?.unwrap_or(DEFAULT_REDIS_URL);
        check_url(url, WHAT)?;
        let millis = |key: &str, default: Duration| -> Result<Duration, String> {
            lookup(config, key, WHAT)?.map_or(Ok(default), |v| parse_millis(key, v))
        };
        let max_value_bytes = match lookup(config, "max_value_bytes", WHAT)? {
            Some(value) => parse_bytes("max_value_bytes", value)?,
            None => DEFAULT_MAX_VALUE_BYTES,
        };
        Ok(Self {
            url: Arc::from(url),
            connect_timeout: millis("connect_timeout_ms", REDIS_CONNECT_TIMEOUT)?,
            response_timeout: millis("response_timeout_ms", REDIS_RESPONSE_TIMEOUT)?,
            limits: Limits { max_value_bytes },
        })
    }

    fn manager_config(&self) -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.response_timeout))
            .set_number_of_retries(REDIS_RECONNECT_RETRIES)
            .set_min_delay(REDIS_RECONNECT_MIN_DELAY)
            .set_max_delay(REDIS_RECONNECT_MAX_DELAY)
    }
}

/// The Redis key-value provider. Actors use the provider's `url` unless their link names
/// another; each distinct URL has one reconnecting connection, shared by its actors.
pub struct RedisKeyValue {
    settings: Settings,
    /// (actor, link) → the URL that actor uses.
    /// Each binding holds its connection (shared by the bindings of one URL), so a call finds
    /// it with one lock-free look-up.
    bindings: Bindings<Conn>,
    /// URL → its connection, created on first use (in the caller's tokio runtime).
    connections: Mutex<HashMap<Arc<str>, Conn>>,
    closed: AtomicBool,
}

impl std::fmt::Debug for RedisKeyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisKeyValue")
            .field("url", &redact(&self.settings.url))
            .field("closed", &self.closed.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RedisKeyValue {
    /// A provider configured by `config` (keys [`CONFIG_KEYS`]). It does not contact Redis:
    /// connections open on the first call (or bind) that needs them, so it can be built, and
    /// actors bound, while Redis is still down.
    pub fn new(config: &ProviderConfig) -> Result<Self, String> {
        Ok(Self {
            settings: Settings::from_config(config)?,
            bindings: Bindings::default(),
            connections: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
        })
    }

    /// The provider's own URL, password redacted.
    pub fn url(&self) -> String {
        redact(&self.settings.url)
    }

    fn lock_connections(&self) -> MutexGuard<'_, HashMap<Arc<str>, Conn>> {
        self.connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn check_open(&self) -> Result<(), ProviderError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(ProviderError::Unavailable(
                "the redis key-value provider was shut down; the host is stopping or the \
                 provider was removed"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// The connection for `url`, created (lazily connecting) when there is none yet.
    fn connection(&self, url: &Arc<str>) -> Result<Conn, ProviderError> {
        let mut connections = self.lock_connections();
        if let Some(conn) = connections.get(url) {
            return Ok(conn.clone());
        }
        if connections.len() >= MAX_REDIS_CONNECTIONS {
            return Err(ProviderError::Denied(format!(
                "the redis provider already keeps {MAX_REDIS_CONNECTIONS} connections \
                 (MAX_REDIS_CONNECTIONS) for distinct link URLs; point more actors at the same \
                 Redis, or use another provider"
            )));
        }
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(ProviderError::Unavailable(
                "the redis provider must be called from within a tokio runtime".to_owned(),
            ));
        }
        let client = check_url(url, "redis URL").map_err(ProviderError::BadRequest)?;
        let addr: Arc<str> = Arc::from(client.get_connection_info().addr().to_string());
        let manager =
            ConnectionManager::new_lazy_with_config(client, self.settings.manager_config())
                .map_err(|e| backend::map_error(&addr, "creating the connection", &e))?;
        tracing::debug!(redis = %addr, "redis key-value connection created (connects lazily)");
        let conn = Arc::new(ConnInner {
            manager,
            addr,
            url: url.clone(),
        });
        connections.insert(url.clone(), conn.clone());
        Ok(conn)
    }

    /// The URL of every bound link's connection (repeats included).
    fn bound_urls(&self) -> Vec<Arc<str>> {
        self.bindings
            .values()
            .into_iter()
            .map(|c| c.url.clone())
            .collect()
    }

    /// Drops the connections no binding uses any more (the provider's own URL stays).
    fn release_unused_connections(&self) {
        let mut in_use = self.bound_urls();
        in_use.push(self.settings.url.clone());
        self.lock_connections()
            .retain(|url, _| in_use.iter().any(|used| used == url));
    }

    fn backend(&self, conn: Conn) -> RedisBackend {
        RedisBackend { conn }
    }
}

impl Provider for RedisKeyValue {
    fn contract_id(&self) -> &str {
        caplet_wire::contracts::KEY_VALUE
    }

    fn implementation(&self) -> &str {
        IMPLEMENTATION
    }

    fn bind(&self, link: LinkDefinition) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(async move {
            self.check_open()?;
            let url = link_url(&link.values)
                .map_err(|e| ProviderError::BadRequest(format!("actor {}: {e}", link.actor)))?
                .unwrap_or_else(|| self.settings.url.clone());
            // Creates the connection if needed (without connecting), so the limit is checked now.
            let conn = self.connection(&url)?;
            tracing::debug!(actor = %link.actor, link = %link.link_name, url = %redact(&url), "redis key-value link bound");
            self.bindings.insert(&link.actor, &link.link_name, conn);
            self.release_unused_connections();
            Ok(())
        })
    }

    fn unbind<'a>(&'a self, actor: &'a ActorRef, link_name: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if self.bindings.remove(actor, link_name).is_some() {
                self.release_unused_connections();
            }
        })
    }

    fn handle<'a>(
        &'a self,
        call: ProviderCall<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>> {
        Box::pin(async move {
            self.check_open()?;
            let conn = self
                .bindings
                .get(call.actor, call.link_name, IMPLEMENTATION)?;
            let backend = self.backend(conn);
            dispatch::dispatch(&backend, self.settings.limits, call.operation, call.payload).await
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.check_open().map_err(|e| e.to_string())?;
            let mut urls = self.bound_urls();
            if urls.is_empty() {
                urls.push(self.settings.url.clone());
            }
            urls.sort();
            urls.dedup();
            let mut problems = Vec::new();
            for url in &urls {
                let result = match self.connection(url) {
                    Ok(conn) => {
                        let addr = conn.addr.clone();
                        let backend = RedisBackend { conn };
                        match tokio::time::timeout(REDIS_HEALTH_TIMEOUT, backend.ping()).await {
                            Ok(answer) => answer,
                            Err(_) => Err(ProviderError::Unavailable(format!(
                                "redis at {addr}: no answer to PING within \
                                 {REDIS_HEALTH_TIMEOUT:?}"
                            ))),
                        }
                    }
                    Err(error) => Err(error),
                };
                if let Err(error) = result {
                    problems.push(error.to_string());
                }
            }
            if problems.is_empty() {
                Ok(())
            } else {
                let problems = problems.join("; ");
                tracing::warn!(%problems, "redis key-value provider unhealthy");
                Err(problems)
            }
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.closed.store(true, Ordering::Release);
            self.bindings.clear();
            self.lock_connections().clear();
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> ProviderConfig {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn config_defaults_and_overrides() {
        let settings = Settings::from_config(&config(&[])).unwrap();
        assert_eq!(&*settings.url, DEFAULT_REDIS_URL);
        let settings = Settings::from_config(&config(&[
            ("URL", "redis://10.0.0.1:7000/2"),
            ("connect_timeout_ms", "300"),
            ("response_timeout_ms", "400"),
            ("max_value_bytes", "4KiB"),
        ]))
        .unwrap();
        assert_eq!(&*settings.url, "redis://10.0.0.1:7000/2");
        assert_eq!(settings.connect_timeout, Duration::from_millis(300));
        assert_eq!(settings.limits.max_value_bytes, 4096);
    }

    #[test]
    fn config_errors_name_the_key_and_hint_the_fix() {
        let error = validate_config(&config(&[("uri", "redis://x/")])).unwrap_err();
        assert!(
            error.contains("unknown key `uri`") && error.contains("`url`"),
            "{error}"
        );
        let error = validate_config(&config(&[("url", "http://host/")])).unwrap_err();
        assert!(error.contains("not a usable Redis URL"), "{error}");
        let error = validate_config(&config(&[("url", "rediss://host/")])).unwrap_err();
        assert!(error.contains("not a usable Redis URL"), "{error}");
        assert!(validate_config(&config(&[("url", "redis+unix:///tmp/redis.sock")])).is_ok());
        let error = validate_config(&config(&[("response_timeout_ms", "0")])).unwrap_err();
        assert!(error.contains("response_timeout_ms"), "{error}");
    }

    #[test]
    fn link_values_allow_unknown_keys_but_check_the_url() {
        assert!(validate_link(&config(&[("anything", "x")])).is_ok());
        assert!(validate_link(&config(&[("URL", "redis://127.0.0.1:1/")])).is_ok());
        let error = validate_link(&config(&[("url", "not a url")])).unwrap_err();
        assert!(error.contains("`url`"), "{error}");
    }

    #[test]
    fn passwords_are_redacted_from_messages() {
        assert_eq!(
            redact("redis://user:secret@host:1/0"),
            "redis://***@host:1/0"
        );
        assert_eq!(redact("redis://host:1/"), "redis://host:1/");
        let error =
            validate_link(&config(&[("url", "redis://u:secret@host:notaport/")])).unwrap_err();
        assert!(!error.contains("secret"), "{error}");
    }

    #[test]
    fn construction_needs_neither_redis_nor_a_runtime() {
        let provider = RedisKeyValue::new(&config(&[("url", "redis://127.0.0.1:1/")])).unwrap();
        assert_eq!(provider.implementation(), "redis");
        assert_eq!(provider.url(), "redis://127.0.0.1:1/");
    }
}
