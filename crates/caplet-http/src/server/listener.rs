//! One TCP listener and its connections. The accept loop owns every connection task, so a
//! stop (unbind of the last route, or provider shutdown) can close the socket at once, let
//! in-flight requests finish within the grace period, and then cut what is left.
//!
//! Each connection first waits, under the request-head timeout, for its first bytes and looks at
//! them without consuming them: the HTTP/2 client preface means HTTP/2 with prior knowledge,
//! anything else HTTP/1. hyper-util's `auto` builder made the same choice by reading, but with no
//! timeout: a client that connected and sent nothing held its connection (and one of the
//! listener's [`MAX_CONNECTIONS_PER_LISTENER`] slots) until shutdown. Choosing here also serves
//! each HTTP/1 request through hyper's own HTTP/1 connection, without `auto`'s layer around it.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
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

/// The bytes every HTTP/2 connection with prior knowledge starts with (RFC 9113, §3.4).
const HTTP2_PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How often a connection whose first bytes are only the start of the HTTP/2 preface is looked
/// at again: 10 ms. HTTP/2 clients send the whole preface at once, so this is only for slow or
/// hostile clients, until the request-head timeout closes them. Fixed; change the constant.
const PREFACE_RECHECK: Duration = Duration::from_millis(10);

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
            Arc::new(Protocols::new(timing)),
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

/// How the listener's connections are served: one builder per protocol, and how long a new
/// connection may take to send its first bytes.
struct Protocols {
    http1: http1::Builder,
    http2: http2::Builder<TokioExecutor>,
    first_bytes_timeout: Duration,
}

impl Protocols {
    fn new(timing: Timing) -> Self {
        let mut http1 = http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(timing.header_read_timeout)
            .max_buf_size(MAX_REQUEST_HEADER_BYTES)
            .keep_alive(true);
        if MAX_REQUEST_HEADERS != HYPER_DEFAULT_MAX_HEADERS {
            http1.max_headers(MAX_REQUEST_HEADERS);
        }
        let mut http2 = http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .keep_alive_interval(timing.http2_keep_alive_interval)
            .keep_alive_timeout(timing.http2_keep_alive_timeout)
            .max_header_list_size(u32::try_from(MAX_REQUEST_HEADER_BYTES).unwrap_or(u32::MAX));
        Self {
            http1,
            http2,
            first_bytes_timeout: timing.header_read_timeout,
        }
    }
}

/// The protocol a new connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Http1,
    Http2,
}

/// Looks at the connection's first bytes, without consuming them, until they tell HTTP/2 prior
/// knowledge (the whole preface) from HTTP/1 (anything else). `None` when the client closed the
/// connection, or sent too little to tell within `timeout`.
async fn sniff(stream: &TcpStream, timeout: Duration) -> Option<Protocol> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut first = [0u8; HTTP2_PREFACE.len()];
    loop {
        let seen = tokio::time::timeout_at(deadline, stream.peek(&mut first))
            .await
            .ok()?
            .ok()?;
        match protocol_of(first.get(..seen).unwrap_or(first.as_slice())) {
            Some(protocol) => return Some(protocol),
            None if seen == 0 => return None,
            // A peek returns at once while unread bytes wait, so wait a little before the next.
            None => {
                let next = tokio::time::Instant::now() + PREFACE_RECHECK;
                tokio::time::sleep_until(next.min(deadline)).await;
                if next >= deadline {
                    return None;
                }
            }
        }
    }
}

/// The protocol that `first` (a connection's first bytes) starts, or `None` while it is still
/// a strict beginning of the HTTP/2 preface (or empty).
fn protocol_of(first: &[u8]) -> Option<Protocol> {
    if first
        .iter()
        .zip(HTTP2_PREFACE)
        .any(|(seen, preface)| seen != preface)
    {
        Some(Protocol::Http1)
    } else if first.len() >= HTTP2_PREFACE.len() {
        Some(Protocol::Http2)
    } else {
        None
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    protocols: Arc<Protocols>,
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
                    Arc::clone(&protocols),
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
    protocols: Arc<Protocols>,
    mut stop: oneshot::Receiver<()>,
    _permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let protocol = tokio::select! {
        biased;
        _ = &mut stop => return,
        protocol = sniff(&stream, protocols.first_bytes_timeout) => protocol,
    };
    let Some(protocol) = protocol else {
        tracing::debug!(
            timeout = ?protocols.first_bytes_timeout,
            "http server: connection closed before its first request (nothing sent in time, or closed by the client)"
        );
        return;
    };
    let service = service_fn(move |request| handler::handle(Arc::clone(&shared), request));
    let io = TokioIo::new(stream);
    let result = match protocol {
        Protocol::Http1 => {
            let connection = protocols.http1.serve_connection(io, service);
            until_stopped(connection, stop, http1::Connection::graceful_shutdown).await
        }
        Protocol::Http2 => {
            let connection = protocols.http2.serve_connection(io, service);
            until_stopped(connection, stop, http2::Connection::graceful_shutdown).await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "http server: connection ended with an error");
    }
}

/// Runs `connection` to its end; once `stop` fires, asks it to finish the requests it has and
/// take no more (`graceful_shutdown`), then waits for that.
async fn until_stopped<C>(
    connection: C,
    stop: oneshot::Receiver<()>,
    graceful_shutdown: impl FnOnce(Pin<&mut C>),
) -> Result<(), hyper::Error>
where
    C: Future<Output = Result<(), hyper::Error>>,
{
    tokio::pin!(connection);
    tokio::select! {
        biased;
        result = connection.as_mut() => result,
        _ = stop => {
            graceful_shutdown(connection.as_mut());
            connection.await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{HTTP2_PREFACE, Protocol, protocol_of};

    #[test]
    fn the_first_bytes_choose_the_protocol() {
        assert_eq!(protocol_of(HTTP2_PREFACE), Some(Protocol::Http2));
        let mut more = HTTP2_PREFACE.to_vec();
        more.extend_from_slice(b"\0\0\x12\x04");
        assert_eq!(protocol_of(&more), Some(Protocol::Http2));
        for http1 in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"G",
            b"PUT /x HTTP/1.1\r\n",
            b"PRI / HTTP/1.1\r\n",
            b"\x16\x03\x01",
        ] {
            assert_eq!(protocol_of(http1), Some(Protocol::Http1), "{http1:?}");
        }
        for undecided in [&b""[..], b"P", b"PRI * HTTP/2.0\r\n", &HTTP2_PREFACE[..23]] {
            assert_eq!(protocol_of(undecided), None, "{undecided:?}");
        }
    }
}
