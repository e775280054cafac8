//! The listener and its connections. Binding is separate from serving so `caplet up` can learn
//! that the address is taken before it writes a new token over the one a running host uses.

use std::net::SocketAddr;
use std::sync::Arc;

use caplet_host::Host;
use caplet_runtime::Limits;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::token::Token;
use crate::{HEADER_READ_TIMEOUT, MAX_CONNECTIONS, SHUTDOWN_GRACE};

/// Why the control API could not start.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The address could not be bound.
    #[error(
        "the control API cannot listen on {addr}: {source}; choose another `control_api` in [host], or run with --no-control"
    )]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// What the API serves with, besides the host.
#[derive(Debug, Clone)]
pub struct ControlOptions {
    /// The bearer token every request (but `/livez`, `/readyz`) must carry.
    pub token: Token,
    /// Limits for actors started through the API (the manifest's `[host.limits]`).
    pub default_limits: Limits,
}

/// Shared by every request.
pub(crate) struct State {
    pub(crate) host: Host,
    pub(crate) token: Token,
    pub(crate) default_limits: Limits,
}

/// A bound, not yet serving, control API socket.
pub struct ControlListener {
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl ControlListener {
    /// Binds `addr`. Must run inside the tokio runtime.
    pub async fn bind(addr: SocketAddr) -> Result<Self, ControlError> {
        let bind = |source| ControlError::Bind { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(bind)?;
        let local_addr = listener.local_addr().map_err(bind)?;
        Ok(Self {
            listener,
            local_addr,
        })
    }

    /// The bound address (its real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Starts serving the API for `host`.
    pub fn serve(self, host: Host, options: ControlOptions) -> ControlServer {
        if !self.local_addr.ip().is_loopback() {
            tracing::warn!(
                addr = %self.local_addr,
                "the control API listens beyond loopback over plain HTTP: the token crosses the network unencrypted; put it behind a TLS proxy or a private network"
            );
        }
        let state = Arc::new(State {
            host,
            token: options.token,
            default_limits: options.default_limits,
        });
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(self.listener, state, stopped));
        ControlServer {
            local_addr: self.local_addr,
            stop,
            task,
        }
    }
}

/// A running control API.
pub struct ControlServer {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ControlServer {
    /// Binds `addr` and serves the API for `host`.
    pub async fn start(
        addr: SocketAddr,
        host: Host,
        options: ControlOptions,
    ) -> Result<Self, ControlError> {
        Ok(ControlListener::bind(addr).await?.serve(host, options))
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, lets requests in progress finish (up to [`SHUTDOWN_GRACE`]), and
    /// returns when the socket is closed.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        let _ = self.task.await;
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>, mut stop: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let permit = tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                connections.spawn(serve(stream, state.clone(), stop.clone(), permit));
            }
            Err(error) => {
                tracing::debug!(%error, "control API: accept failed");
                // Out of file descriptors and the like: do not spin.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        connections.shutdown().await;
    }
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

async fn serve(
    stream: TcpStream,
    state: Arc<State>,
    mut stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| crate::routes::handle(state.clone(), request));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true);
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stopped(&mut stop) => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "control API: connection ended with an error");
    }
}
