//! `wasmcloud:httpserver` on hyper: each link serves its actor on an address and an optional
//! path prefix; several links may share one listener. Every request reaches the actor through
//! the host's [`ActorDispatcher`], so the host's policy, limits and hot swap apply to it.
//!
//! Control (bind, unbind) takes a mutex; the request path only loads the route table.

mod handler;
mod listener;
mod routes;
mod settings;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use arc_swap::ArcSwap;
use caplet_provider_api::{
    ActorDispatcher, ActorRef, BoxFuture, LinkDefinition, LinkValues, Provider, ProviderCall,
    ProviderConfig, ProviderError,
};
use tokio::task::JoinHandle;

use handler::Shared;
use listener::Listener;
use routes::{Route, RouteTable};
pub use settings::{CONFIG_KEYS, LINK_KEYS};
use settings::{LinkSettings, ServerConfig};

/// Where a link listens when it sets neither `address` nor `port`: `127.0.0.1:8080`
/// (loopback only; set `address = "0.0.0.0:8080"` to serve other machines).
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:8080";

/// Request body limit: 1 MiB by default. A larger body gets `413 Payload Too Large` and the
/// actor is not called (refused before reading when `Content-Length` announces it). Change it
/// for all links with the provider config `max_body_bytes`, or per link with the link value.
pub const MAX_REQUEST_BODY_BYTES: usize = 1024 * 1024;

/// Request header count limit: 100 header lines (HTTP/1). More get
/// `431 Request Header Fields Too Large`. Fixed; change the constant.
pub const MAX_REQUEST_HEADERS: usize = 100;

/// Request head size limit: 64 KiB for the request line and headers together (the HTTP/1 read
/// buffer; the HTTP/2 header list). Larger heads get 431 and the connection closes. Fixed;
/// change the constant (hyper requires at least 8 KiB).
pub const MAX_REQUEST_HEADER_BYTES: usize = 64 * 1024;

/// Request head read timeout: 10 s from when the server starts waiting for a request head
/// (including while a keep-alive connection sits idle, and a new connection's first bytes)
/// until the whole head has arrived. A client that is slower (slowloris) or idle longer is
/// disconnected. Fixed; change the constant.
pub const REQUEST_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Request body read timeout: 30 s to receive the whole body once the head has arrived.
/// When hit the client gets `408 Request Timeout` and the actor is not called. Fixed; change
/// the constant.
pub const REQUEST_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// HTTP/2 keep-alive ping interval: 10 s. An HTTP/2 connection that has received nothing for
/// this long is sent a PING; with [`HTTP2_KEEP_ALIVE_TIMEOUT`] it bounds how long a client that
/// completed the preface and then went silent (or died) keeps its connection: HTTP/2 has no
/// request-head timeout. Clients that answer pings stay connected while idle, as HTTP/2 intends.
/// Fixed; change the constant.
pub const HTTP2_KEEP_ALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// HTTP/2 keep-alive ping timeout: 10 s for the client to acknowledge a keep-alive PING before
/// the connection is closed. Fixed; change the constant.
pub const HTTP2_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// Graceful shutdown grace period: 10 s. `shutdown()`, and unbinding the last route of a
/// listener, close the socket at once and let in-flight requests finish for up to this long;
/// connections still open then are closed. Fixed; change the constant.
pub const SHUTDOWN_GRACE_PERIOD: Duration = Duration::from_secs(10);

/// Open connections per listener: 10 000. When reached, the listener stops accepting until a
/// connection closes (new clients wait in the kernel backlog). Fixed; change the constant.
pub const MAX_CONNECTIONS_PER_LISTENER: usize = 10_000;

/// Kernel accept backlog per listener: 1 024 pending connections (the kernel may cap it at
/// `net.core.somaxconn`). Fixed; change the constant.
pub const LISTEN_BACKLOG: u32 = 1024;

/// Pause after an accept error that is not about one connection (out of file descriptors):
/// 100 ms, so the listener does not spin. Fixed; change the constant.
pub const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(100);

/// Longest dispatch error message put in an error response body: 512 bytes; longer messages
/// are cut on a character boundary. Fixed; change the constant.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 512;

/// Checks the provider config for `caplet up` before anything starts: known keys only,
/// `max_body_bytes` a positive number.
pub fn validate_config(config: &ProviderConfig) -> Result<(), String> {
    ServerConfig::parse(config).map(|_| ())
}

/// Checks one link's values: known keys only (`address`, `port`, `path_prefix`,
/// `max_body_bytes`, any letter case), the address parses, the prefix starts with `/`.
pub fn validate_link(values: &LinkValues) -> Result<(), String> {
    LinkSettings::parse(values, ServerConfig::parse(&ProviderConfig::new())?).map(|_| ())
}

/// Timeouts, as constants in production; unit tests shorten them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub shutdown_grace: Duration,
    pub http2_keep_alive_interval: Duration,
    pub http2_keep_alive_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            header_read_timeout: REQUEST_HEADER_READ_TIMEOUT,
            body_read_timeout: REQUEST_BODY_READ_TIMEOUT,
            shutdown_grace: SHUTDOWN_GRACE_PERIOD,
            http2_keep_alive_interval: HTTP2_KEEP_ALIVE_INTERVAL,
            http2_keep_alive_timeout: HTTP2_KEEP_ALIVE_TIMEOUT,
        }
    }
}

/// The HTTP server provider. Dropping it stops every listener (as `shutdown`, unawaited).
pub struct HttpServer {
    dispatcher: Arc<dyn ActorDispatcher>,
    config: ServerConfig,
    timing: Timing,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// By requested address; a port-0 listener by its bound address.
    listeners: HashMap<SocketAddr, Listener>,
    /// (actor id, link name) → where its route lives.
    links: HashMap<(Arc<str>, String), Placement>,
    shut_down: bool,
}

struct Placement {
    /// The address the link asked for (port 0 stays 0).
    requested: SocketAddr,
    /// The key of its listener in `State::listeners`.
    listener: SocketAddr,
    prefix: Arc<str>,
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl HttpServer {
    /// A server with the provider config (see [`CONFIG_KEYS`]); it listens nowhere until a
    /// link is bound.
    pub fn new(
        config: &ProviderConfig,
        dispatcher: Arc<dyn ActorDispatcher>,
    ) -> Result<Self, String> {
        Ok(Self {
            dispatcher,
            config: ServerConfig::parse(config)?,
            timing: Timing::default(),
            state: Mutex::default(),
        })
    }

    #[cfg(test)]
    pub(crate) fn with_timing(mut self, timing: Timing) -> Self {
        self.timing = timing;
        self
    }

    /// The address the (actor, link) listener is bound to: the real port when the link asked
    /// for port 0. `None` when that link is not bound.
    pub fn local_addr(&self, actor: &ActorRef, link_name: &str) -> Option<SocketAddr> {
        let state = self.lock();
        let placement = state
            .links
            .get(&(Arc::clone(&actor.id), link_name.to_owned()))?;
        state
            .listeners
            .get(&placement.listener)
            .map(Listener::local_addr)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Places the link's route; returns the listener to stop when a rebind emptied one.
    fn bind_now(&self, link: &LinkDefinition) -> Result<Option<JoinHandle<()>>, ProviderError> {
        let actor = &link.actor;
        let settings = LinkSettings::parse(&link.values, self.config).map_err(|e| {
            ProviderError::BadRequest(format!("actor {actor} link {}: {e}", link.link_name))
        })?;
        let key = (Arc::clone(&actor.id), link.link_name.clone());
        let mut state = self.lock();
        if state.shut_down {
            return Err(ProviderError::Unavailable(
                "http server is shut down; restart the host to serve again".into(),
            ));
        }
        let route = Route {
            actor: actor.clone(),
            link_name: link.link_name.clone(),
            prefix: Arc::clone(&settings.prefix),
            max_body_bytes: settings.max_body_bytes,
        };
        // Same address and prefix as now: update the route in place.
        if let Some(placement) = state.links.get(&key)
            && placement.requested == settings.addr
            && placement.prefix == settings.prefix
            && let Some(listener) = state.listeners.get(&placement.listener)
        {
            listener.set_routes(listener.routes().with(route));
            return Ok(None);
        }
        let listener_key = if settings.addr.port() != 0
            && let Some(listener) = state.listeners.get(&settings.addr)
        {
            let routes = listener.routes();
            if let Some(other) = routes
                .with_prefix(&settings.prefix)
                .filter(|other| !other.is_owned_by(actor, &link.link_name))
            {
                return Err(ProviderError::Failed(format!(
                    "http server: actor {actor} link {} cannot serve {}{} because actor {} \
                     (link {}) already serves that address and path prefix; give one of them \
                     another `path_prefix` or `address`",
                    link.link_name,
                    settings.addr,
                    display_prefix(&settings.prefix),
                    other.actor,
                    other.link_name
                )));
            }
            listener.set_routes(routes.with(route));
            settings.addr
        } else {
            let shared = Shared {
                dispatcher: Arc::clone(&self.dispatcher),
                routes: ArcSwap::from_pointee(RouteTable::default().with(route)),
                body_read_timeout: self.timing.body_read_timeout,
            };
            let listener = Listener::start(settings.addr, shared, self.timing).map_err(|e| {
                ProviderError::Failed(format!(
                    "http server: cannot listen on {} for actor {actor} link {}: {e}; choose \
                     another `address`/`port` in the link or stop what is using it",
                    settings.addr, link.link_name
                ))
            })?;
            let listener_key = if settings.addr.port() == 0 {
                listener.local_addr()
            } else {
                settings.addr
            };
            tracing::info!(addr = %listener.local_addr(), "http server: listening");
            state.listeners.insert(listener_key, listener);
            listener_key
        };
        let settings_prefix = Arc::clone(&settings.prefix);
        let placement = Placement {
            requested: settings.addr,
            listener: listener_key,
            prefix: settings.prefix,
        };
        let previous = state.links.insert(key, placement);
        // A rebind elsewhere: the old route goes (the new one is already serving).
        Ok(previous
            .filter(|old| old.listener != listener_key || old.prefix != settings_prefix)
            .and_then(|old| remove_route(&mut state, &old, actor, &link.link_name)))
    }

    /// Hands the route of (`previous`, link name) to `link`'s actor when the address and prefix
    /// stay the same: one route-table store, the listener keeps running. `false` when there is
    /// nothing to hand over in place.
    fn rebind_in_place(
        &self,
        previous: &ActorRef,
        link: &LinkDefinition,
    ) -> Result<bool, ProviderError> {
        let actor = &link.actor;
        let settings = LinkSettings::parse(&link.values, self.config).map_err(|e| {
            ProviderError::BadRequest(format!("actor {actor} link {}: {e}", link.link_name))
        })?;
        let old_key = (Arc::clone(&previous.id), link.link_name.clone());
        let mut state = self.lock();
        let Some(placement) = state.links.get(&old_key) else {
            return Ok(false);
        };
        if placement.requested != settings.addr || placement.prefix != settings.prefix {
            return Ok(false);
        }
        let Some(listener) = state.listeners.get(&placement.listener) else {
            return Ok(false);
        };
        // `with` replaces the route with the same prefix: the old identity's.
        listener.set_routes(listener.routes().with(Route {
            actor: actor.clone(),
            link_name: link.link_name.clone(),
            prefix: Arc::clone(&settings.prefix),
            max_body_bytes: settings.max_body_bytes,
        }));
        if let Some(placement) = state.links.remove(&old_key) {
            state
                .links
                .insert((Arc::clone(&actor.id), link.link_name.clone()), placement);
        }
        Ok(true)
    }

    fn unbind_now(&self, actor: &ActorRef, link_name: &str) -> Option<JoinHandle<()>> {
        let mut state = self.lock();
        let placement = state
            .links
            .remove(&(Arc::clone(&actor.id), link_name.to_owned()))?;
        remove_route(&mut state, &placement, actor, link_name)
    }
}

/// Removes (actor, link)'s route from its listener; returns the listener's stop handle when
/// that was its last route.
fn remove_route(
    state: &mut State,
    placement: &Placement,
    actor: &ActorRef,
    link_name: &str,
) -> Option<JoinHandle<()>> {
    let listener = state.listeners.get(&placement.listener)?;
    let routes = listener
        .routes()
        .without(actor, link_name, &placement.prefix);
    if !routes.is_empty() {
        listener.set_routes(routes);
        return None;
    }
    let listener = state.listeners.remove(&placement.listener)?;
    tracing::info!(addr = %listener.local_addr(), "http server: closing listener");
    Some(listener.stop())
}

fn display_prefix(prefix: &str) -> &str {
    if prefix.is_empty() { "/" } else { prefix }
}

async fn wait_stopped(handle: Option<JoinHandle<()>>) {
    if let Some(handle) = handle {
        let _ = handle.await;
    }
}

impl Provider for HttpServer {
    fn contract_id(&self) -> &str {
        caplet_wire::contracts::HTTP_SERVER
    }

    fn implementation(&self) -> &str {
        "hyper"
    }

    fn bind(&self, link: LinkDefinition) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(async move {
            let emptied = self.bind_now(&link)?;
            wait_stopped(emptied).await;
            Ok(())
        })
    }

    fn unbind<'a>(&'a self, actor: &'a ActorRef, link_name: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move { wait_stopped(self.unbind_now(actor, link_name)).await })
    }

    fn rebind<'a>(
        &'a self,
        previous: &'a ActorRef,
        link: LinkDefinition,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            if self.rebind_in_place(previous, &link)? {
                return Ok(());
            }
            // Another address or prefix: the old route goes first, as it may hold the port.
            wait_stopped(self.unbind_now(previous, &link.link_name)).await;
            let emptied = self.bind_now(&link)?;
            wait_stopped(emptied).await;
            Ok(())
        })
    }

    fn handle<'a>(
        &'a self,
        call: ProviderCall<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>> {
        Box::pin(async move {
            Err(ProviderError::BadRequest(format!(
                "the http server provider has no operations actors can call (got `{}` from \
                 actor {}); it calls actors with {}",
                call.operation,
                call.actor,
                caplet_wire::httpserver::HANDLE_REQUEST
            )))
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let state = self.lock();
            let stopped: Vec<String> = state
                .listeners
                .values()
                .filter(|listener| !listener.is_running())
                .map(|listener| listener.local_addr().to_string())
                .collect();
            if stopped.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "http server: listener on {} stopped; rebind its links to restart it",
                    stopped.join(", ")
                ))
            }
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let handles: Vec<JoinHandle<()>> = {
                let mut state = self.lock();
                state.shut_down = true;
                state.links.clear();
                state.listeners.drain().map(|(_, l)| l.stop()).collect()
            };
            for handle in handles {
                let _ = handle.await;
            }
        })
    }
}

#[cfg(test)]
mod tests;
