//! `caplet-baseline`: the benchmark actors written as plain native hyper services.
//!
//! This binary exists only to be the baseline of the HTTP benchmark in `BENCHMARKS.md`
//! ("HTTP: caplet up vs native hyper", run by `scripts/bench-http.sh`). Each subcommand does
//! what one of the benchmark actors does under `caplet up`, written the way a competent engineer
//! writes a small hyper service and nothing more: hyper 1 HTTP/1.1 with keep-alive on a
//! multi-threaded tokio runtime set up as `caplet up`'s, the same hyper and redis crate
//! versions as `caplet-http` and `caplet-kv`, no WebAssembly, no claims, no dispatch. The ratio
//! Caplet ÷ this is the price of running the logic as a sandboxed actor.
//!
//! - `caplet-baseline hello --addr A`: every request → 200 `Hello, world!` (`text/plain`), as
//!   `guests/hello`.
//! - `caplet-baseline counter --addr A [--redis URL]`: GET → increment `counter` (Redis `INCRBY`
//!   through a `ConnectionManager`, or an in-process atomic without `--redis`) → 200
//!   `{"counter":N}` (`application/json`); other methods → 405, as `examples/kvcounter`.
//!
//! It prints `caplet-baseline: serving on http://ADDR/` on stderr once listening and exits 0 on
//! Ctrl-C or SIGTERM.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use clap::{Parser, Subcommand};
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use redis::aio::ConnectionManager;
use tokio::net::TcpListener;

/// The same global allocator as the `caplet` binary, so the comparison measures the host and
/// not the allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The key the counter lives under (the kvcounter actor's key).
const COUNTER_KEY: &str = "counter";

/// Pause after a failed accept (out of file descriptors and the like) instead of spinning.
const ACCEPT_ERROR_BACKOFF: Duration = Duration::from_millis(10);

#[derive(Parser, Debug)]
#[command(
    name = "caplet-baseline",
    about = "Native hyper equivalents of Caplet's benchmark actors (the HTTP benchmark's baseline)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Answer every request with 200 "Hello, world!" (the hello actor).
    Hello {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        addr: SocketAddr,
    },
    /// GET increments `counter` and answers {"counter":N} (the kvcounter actor).
    Counter {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long)]
        addr: SocketAddr,
        /// Keep the counter in this Redis (redis://HOST:PORT/) instead of in memory.
        #[arg(long)]
        redis: Option<String>,
    },
}

/// What the service answers.
enum App {
    Hello,
    Counter(Store),
}

/// Where the counter lives.
enum Store {
    Memory(AtomicU64),
    Redis(ConnectionManager),
}

fn main() -> anyhow::Result<()> {
    // The scheduler `caplet up` uses (caplet-launch's `server_runtime`: no LIFO slot when built
    // with `--cfg tokio_unstable`, as .cargo/config.toml does), so the comparison measures the
    // Wasm host and not a scheduler setting.
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    #[cfg(tokio_unstable)]
    builder.disable_lifo_slot();
    builder.build()?.block_on(serve_command())
}

async fn serve_command() -> anyhow::Result<()> {
    let (addr, app) = match Cli::parse().command {
        Command::Hello { addr } => (addr, App::Hello),
        Command::Counter { addr, redis } => {
            let store = match redis {
                None => Store::Memory(AtomicU64::new(0)),
                Some(url) => {
                    let client = redis::Client::open(url.as_str())
                        .with_context(|| format!("invalid Redis URL {url}"))?;
                    let manager = ConnectionManager::new(client)
                        .await
                        .with_context(|| format!("cannot connect to Redis at {url}"))?;
                    Store::Redis(manager)
                }
            };
            (addr, App::Counter(store))
        }
    };
    serve(addr, Arc::new(app)).await
}

/// Accepts connections on `addr` until Ctrl-C or SIGTERM; one task per connection.
async fn serve(addr: SocketAddr, app: Arc<App>) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    eprintln!(
        "caplet-baseline: serving on http://{}/",
        listener.local_addr()?
    );
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                eprintln!("caplet-baseline: accept failed: {error}");
                tokio::time::sleep(ACCEPT_ERROR_BACKOFF).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = Arc::clone(&app);
        tokio::spawn(async move {
            let service = service_fn(move |request| handle(Arc::clone(&app), request));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            // Clients closing mid-request are normal under load; nothing to report.
            let _ = connection.await;
        });
    }
    eprintln!("caplet-baseline: stopped");
    Ok(())
}

/// Serves one request. The body is never needed: both actors answer from the method alone.
async fn handle<B>(
    app: Arc<App>,
    request: Request<B>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match app.as_ref() {
        App::Hello => response(StatusCode::OK, "text/plain", "Hello, world!".into()),
        App::Counter(_) if request.method() != Method::GET => {
            let mut answer = response(
                StatusCode::METHOD_NOT_ALLOWED,
                "text/plain",
                "kvcounter only answers GET\n".into(),
            );
            answer
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET"));
            answer
        }
        App::Counter(store) => match increment(store).await {
            Ok(counter) => response(
                StatusCode::OK,
                "application/json",
                format!("{{\"counter\":{counter}}}"),
            ),
            Err(error) => response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain",
                format!("cannot increment the counter: {error}\n"),
            ),
        },
    })
}

/// Adds one to the counter and returns the new value.
async fn increment(store: &Store) -> Result<i64, redis::RedisError> {
    match store {
        Store::Memory(counter) => Ok(counter
            .fetch_add(1, Ordering::Relaxed)
            .saturating_add(1)
            .try_into()
            .unwrap_or(i64::MAX)),
        Store::Redis(manager) => {
            // ConnectionManager is a cheap handle onto one multiplexed connection.
            let mut manager = manager.clone();
            // Sized up front, as caplet-kv's Redis provider builds its commands.
            redis::Cmd::with_capacity(3, 32)
                .arg("INCRBY")
                .arg(COUNTER_KEY)
                .arg(1)
                .query_async(&mut manager)
                .await
        }
    }
}

fn response(status: StatusCode, content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn call(app: &Arc<App>, method: Method) -> (StatusCode, String, String) {
        let request = Request::builder().method(method).uri("/").body(()).unwrap();
        let response = handle(Arc::clone(app), request).await.unwrap();
        let status = response.status();
        let content_type = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_owned();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn hello_says_hello() {
        let app = Arc::new(App::Hello);
        let (status, content_type, body) = call(&app, Method::GET).await;
        assert_eq!(
            (status, content_type.as_str(), body.as_str()),
            (StatusCode::OK, "text/plain", "Hello, world!")
        );
    }

    #[tokio::test]
    async fn the_in_memory_counter_counts_gets_only() {
        let app = Arc::new(App::Counter(Store::Memory(AtomicU64::new(0))));
        for expected in 1..=3 {
            let (status, content_type, body) = call(&app, Method::GET).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(content_type, "application/json");
            assert_eq!(body, format!("{{\"counter\":{expected}}}"));
        }
        let (status, _, _) = call(&app, Method::POST).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        let (_, _, body) = call(&app, Method::GET).await;
        assert_eq!(body, "{\"counter\":4}");
    }
}
