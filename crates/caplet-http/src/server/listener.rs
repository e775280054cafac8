//! One TCP listener and its connections. The accept loop owns every connection task, so a
//! stop (unbind of the last route, or provider shutdown) can close the socket at once, let
//! in-flight requests finish within the grace period, and then cut what is left.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot, watch};
use tokio::task::{self, JoinHandle, JoinSet};

use super::handler::{self, Shared};
use super::routes::RouteTable;
use super::{
    ACCEPT_ERROR_BACKOFF, LISTEN_BACKLOG, MAX_CONNECTIONS_PER_LISTENER, MAX_REQUEST_HEADER_BYTES,
    MAX_REQUEST_HEADERS, Timing,
};

/// hyper's own header-count limit; setting any value moves the header buffer to the heap, so
/// it is set only when [`MAX_REQUEST_HEADERS`] differs.
const HYPER_DEFAULT_MAX_HEADERS: usize = 100;

/// A running listener.
pub(crate) struct Listener {
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    pub(super) stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Listener {
    /// Binds `addr` and starts accepting. Must run inside the tokio runtime.
    pub(crate) fn start(addr: SocketAddr, shared: Shared, timing: Timing) -> std::io::Result<Self> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        let listener = socket.listen(LISTEN_BACKLOG)?;
        let local_addr = listener.local_addr()?;
        let shared = Arc::new(shared);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(
            listener,
            Arc::clone(&shared),
            Arc::new(builder(timing)),
            stopped,
            timing.shutdown_grace,
        ));
        Ok(Self {
            local_addr,
            shared,
            stop,
            task,
        })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub(crate) fn routes(&self) -> Arc<RouteTable> {
        self.shared.routes.load_full()
    }

    pub(crate) fn set_routes(&self, routes: RouteTable) {
        self.shared.routes.store(Arc::new(routes));
    }

    /// False when the accept loop has ended on its own.
    pub(crate) fn is_running(&self) -> bool {
        !self.task.is_finished()
    }

    /// Stops accepting now; the returned handle completes when the last connection is done
    /// (at most the grace period later).
    pub(crate) fn stop(self) -> JoinHandle<()> {
        self.stop.send_replace(true);
        self.task
    }
}

fn builder(timing: Timing) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timing.header_read_timeout)
        .max_buf_size(MAX_REQUEST_HEADER_BYTES)
        .keep_alive(true);
    if MAX_REQUEST_HEADERS != HYPER_DEFAULT_MAX_HEADERS {
        builder.http1().max_headers(MAX_REQUEST_HEADERS);
    }
    builder
        .http2()
        .max_header_list_size(u32::try_from(MAX_REQUEST_HEADER_BYTES).unwrap_or(u32::MAX));
    builder
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    builder: Arc<Builder<TokioExecutor>>,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let addr = listener.local_addr().ok();
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS_PER_LISTENER));
    let mut connections = JoinSet::new();
    // One stop signal per connection, dropped to stop it. Not a shared watch channel: every
    // poll of a connection would then lock that channel's waiter list, which all connections
    // contend for.
    let mut stops: HashMap<task::Id, oneshot::Sender<()>> = HashMap::new();
    loop {
        let permit = tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            Some(joined) = connections.join_next_with_id(), if !connections.is_empty() => {
                stops.remove(&joined_id(&joined));
                continue;
            }
        };
        let accepted = tokio::select! {
            biased;
            () = stopped(&mut stop) => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _peer)) => {
                let (stop_tx, stop_rx) = oneshot::channel();
                let handle = connections.spawn(serve(
                    stream,
                    Arc::clone(&shared),
                    Arc::clone(&builder),
                    stop_rx,
                    permit,
                ));
                stops.insert(handle.id(), stop_tx);
            }
            Err(error) if is_per_connection(&error) => {}
            Err(error) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(?addr, %error, "http server: accept failed; backing off");
                tokio::select! {
                    () = stopped(&mut stop) => break,
                    () = tokio::time::sleep(ACCEPT_ERROR_BACKOFF) => {}
                }
            }
        }
        while let Some(joined) = connections.try_join_next_with_id() {
            stops.remove(&joined_id(&joined));
        }
    }
    drop(listener);
    stops.clear();
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            ?addr,
            left = connections.len(),
            "http server: connections still open after the {grace:?} grace period; closing them"
        );
        connections.shutdown().await;
    }
}

fn joined_id(joined: &Result<(task::Id, ()), task::JoinError>) -> task::Id {
    match joined {
        Ok((id, ())) => *id,
        Err(error) => error.id(),
    }
}

/// Resolves once a stop was requested (or the listener's owner is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Errors that concern one connection only; the listener keeps going at once.
fn is_per_connection(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted
    )
}

async fn serve(
    stream: TcpStream,
    shared: Arc<Shared>,
    builder: Arc<Builder<TokioExecutor>>,
    stop: oneshot::Receiver<()>,
    _permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| handler::handle(Arc::clone(&shared), request));
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        biased;
        result = connection.as_mut() => result,
        _ = stop => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "http server: connection ended with an error");
    }
}
