//! `wasmcloud:httpclient` on hyper: outbound requests for actors, only to hosts their link's
//! `allowed_hosts` lists. An empty list denies everything; loopback, private and link-local
//! addresses need an IP or CIDR entry covering them (a host name entry opens public addresses
//! only), checked on the resolved addresses themselves; cloud metadata endpoints are never
//! reachable; and redirects are handed back to the actor instead of followed.
//!
//! Redirects are not followed because a redirect is a new request to a host the actor did not
//! name: following it here would let any allowed server steer the actor past its allow-list.

mod allow;
mod connect;
mod request;

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use caplet_provider_api::{
    ActorRef, BoxFuture, LinkDefinition, LinkValues, Provider, ProviderCall, ProviderConfig,
    ProviderError,
};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use allow::AllowList;
use connect::{Connector, Policy};

/// Request timeout: 10 s from sending the request to the last byte of the response body
/// (connecting included). When hit the call fails with `ProviderError::Unavailable`. Change it
/// per link with the link value `timeout_ms`, or for all links with the provider config
/// `timeout_ms`. The host's call deadline still bounds the calling actor.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Response body limit: 4 MiB. A larger body fails the call with `ProviderError::Failed`
/// (early when `Content-Length` announces it). Change it per link with the link value
/// `max_response_bytes`, or for all links with the provider config `max_response_bytes`.
pub const MAX_RESPONSE_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Request body limit: 4 MiB. A larger body fails the call with `ProviderError::BadRequest`
/// before any connection is made. Fixed; change the constant (the host's host-call limit,
/// 8 MiB by default, applies first).
pub const MAX_REQUEST_BODY_BYTES: usize = 4 * 1024 * 1024;

/// Connect timeout per resolved address: 5 s; then the next address is tried, and the call
/// fails with `ProviderError::Unavailable` when none answers. Fixed; change the constant.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Idle pooled connections are closed after 90 s. Each link has its own pool, so a
/// connection checked under one link's allow-list is never reused by another. Fixed; change
/// the constant.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Idle pooled connections kept per (link, host): 16; more are closed when they go idle.
/// Fixed; change the constant.
pub const MAX_IDLE_CONNECTIONS_PER_HOST: usize = 16;

const ALLOWED_HOSTS: &str = "allowed_hosts";
const TIMEOUT_MS: &str = "timeout_ms";
const MAX_RESPONSE_BYTES: &str = "max_response_bytes";

/// Every link value the client reads.
pub const LINK_KEYS: [&str; 3] = [ALLOWED_HOSTS, TIMEOUT_MS, MAX_RESPONSE_BYTES];
/// Every provider config key the client reads.
pub const CONFIG_KEYS: [&str; 2] = [TIMEOUT_MS, MAX_RESPONSE_BYTES];

/// Checks the provider config: known keys, positive numbers.
pub fn validate_config(config: &ProviderConfig) -> Result<(), String> {
    parse_config(config).map(|_| ())
}

fn parse_config(config: &ProviderConfig) -> Result<Limits, String> {
    crate::values::reject_unknown(config, &CONFIG_KEYS, "http client config key")?;
    Limits::parse(config, Limits::default(), "http client config")
}

/// Checks one link's values: known keys, `allowed_hosts` syntax, positive numbers.
pub fn validate_link(values: &LinkValues) -> Result<(), String> {
    LinkSettings::parse(values, Limits::default()).map(|_| ())
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    timeout: Duration,
    max_response_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
            max_response_bytes: MAX_RESPONSE_BODY_BYTES,
        }
    }
}

impl Limits {
    fn parse(
        values: &std::collections::BTreeMap<String, String>,
        defaults: Self,
        what: &str,
    ) -> Result<Self, String> {
        let timeout = crate::values::positive(values, TIMEOUT_MS, what)?
            .map_or(defaults.timeout, Duration::from_millis);
        let max_response_bytes = crate::values::byte_count(values, MAX_RESPONSE_BYTES, what)?
            .unwrap_or(defaults.max_response_bytes);
        Ok(Self {
            timeout,
            max_response_bytes,
        })
    }
}

struct LinkSettings {
    allow: AllowList,
    limits: Limits,
}

impl LinkSettings {
    fn parse(values: &LinkValues, defaults: Limits) -> Result<Self, String> {
        crate::values::reject_unknown(values, &LINK_KEYS, "http client link value")?;
        let allow = AllowList::parse(crate::values::get(values, ALLOWED_HOSTS).unwrap_or(""))?;
        let limits = Limits::parse(values, defaults, "http client link value")?;
        Ok(Self { allow, limits })
    }
}

/// actor id → link name → binding.
type Bindings = HashMap<Arc<str>, HashMap<String, Arc<Binding>>>;

/// One bound link: its policy and its own connection pool.
struct Binding {
    policy: Arc<Policy>,
    client: Client<Connector, http_body_util::Full<bytes::Bytes>>,
    limits: Limits,
}

/// The HTTP client provider.
pub struct HttpClient {
    defaults: Limits,
    tls: Arc<rustls::ClientConfig>,
    bindings: RwLock<Bindings>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("defaults", &self.defaults)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client with the provider config (see [`CONFIG_KEYS`]); TLS trusts the webpki roots.
    pub fn new(config: &ProviderConfig) -> Result<Self, String> {
        let defaults = parse_config(config)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let mut tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("http client: cannot set up TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            defaults,
            tls: Arc::new(tls),
            bindings: RwLock::default(),
        })
    }

    fn binding(&self, actor: &ActorRef, link_name: &str) -> Option<Arc<Binding>> {
        let bindings = self.bindings.read().unwrap_or_else(PoisonError::into_inner);
        bindings.get(&actor.id)?.get(link_name).cloned()
    }

    async fn call(&self, call: ProviderCall<'_>) -> Result<Vec<u8>, ProviderError> {
        if call.operation != caplet_wire::httpclient::REQUEST {
            return Err(ProviderError::BadRequest(format!(
                "http client: unknown operation `{}`; the only one is {}",
                call.operation,
                caplet_wire::httpclient::REQUEST
            )));
        }
        let binding = self.binding(call.actor, call.link_name).ok_or_else(|| {
            ProviderError::NotBound(format!(
                "http client: actor {} has no link `{}` to {}; link it with allowed_hosts \
                 listing the hosts it may call",
                call.actor,
                call.link_name,
                caplet_wire::contracts::HTTP_CLIENT
            ))
        })?;
        request::send(&binding, call.payload).await
    }
}

impl Provider for HttpClient {
    fn contract_id(&self) -> &str {
        caplet_wire::contracts::HTTP_CLIENT
    }

    fn implementation(&self) -> &str {
        "hyper"
    }

    fn bind(&self, link: LinkDefinition) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(async move {
            let settings = LinkSettings::parse(&link.values, self.defaults).map_err(|e| {
                ProviderError::BadRequest(format!(
                    "actor {} link {}: {e}",
                    link.actor, link.link_name
                ))
            })?;
            let policy = Arc::new(Policy {
                allow: settings.allow,
                actor: link.actor.clone(),
                link_name: link.link_name.clone(),
            });
            let client = Client::builder(TokioExecutor::new())
                .pool_timer(TokioTimer::new())
                .pool_idle_timeout(POOL_IDLE_TIMEOUT)
                .pool_max_idle_per_host(MAX_IDLE_CONNECTIONS_PER_HOST)
                .build(Connector::new(Arc::clone(&policy), Arc::clone(&self.tls)));
            let binding = Arc::new(Binding {
                policy,
                client,
                limits: settings.limits,
            });
            self.bindings
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(Arc::clone(&link.actor.id))
                .or_default()
                .insert(link.link_name, binding);
            Ok(())
        })
    }

    fn unbind<'a>(&'a self, actor: &'a ActorRef, link_name: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let mut bindings = self
                .bindings
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(links) = bindings.get_mut(&actor.id) {
                links.remove(link_name);
                if links.is_empty() {
                    bindings.remove(&actor.id);
                }
            }
        })
    }

    fn handle<'a>(
        &'a self,
        call: ProviderCall<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>> {
        Box::pin(self.call(call))
    }

    fn health(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.bindings
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        })
    }
}
