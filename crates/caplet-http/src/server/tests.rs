//! Timeouts, with [`Timing`] shortened so the tests run in milliseconds.

use std::time::{Duration, Instant};

use caplet_provider_api::DispatchError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

/// Answers 200 after `delay`.
struct Slow(Duration);

impl ActorDispatcher for Slow {
    fn call_actor<'a>(
        &'a self,
        _actor: &'a ActorRef,
        _operation: &'a str,
        _payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, DispatchError>> {
        Box::pin(async move {
            tokio::time::sleep(self.0).await;
            Ok(caplet_wire::encode(&caplet_wire::httpserver::HttpResponse::default()).unwrap())
        })
    }
}

const SHORT: Timing = Timing {
    header_read_timeout: Duration::from_millis(200),
    body_read_timeout: Duration::from_millis(200),
    shutdown_grace: Duration::from_millis(200),
    http2_keep_alive_interval: Duration::from_millis(200),
    http2_keep_alive_timeout: Duration::from_millis(200),
};

async fn started(delay: Duration) -> (HttpServer, SocketAddr) {
    let server = HttpServer::new(&ProviderConfig::new(), Arc::new(Slow(delay)))
        .unwrap()
        .with_timing(SHORT);
    let link = LinkDefinition {
        actor: ActorRef {
            id: "a".into(),
            name: "a".into(),
        },
        contract_id: caplet_wire::contracts::HTTP_SERVER.into(),
        link_name: "default".into(),
        values: [("address".to_owned(), "127.0.0.1:0".to_owned())].into(),
    };
    let actor = link.actor.clone();
    server.bind(link).await.unwrap();
    let addr = server.local_addr(&actor, "default").unwrap();
    (server, addr)
}

/// Reads until EOF (or 2 s); returns what arrived.
async fn read_all(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_slow_request_head_is_disconnected() {
    let (server, addr) = started(Duration::ZERO).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let begun = Instant::now();
    let reply = read_all(&mut stream).await;
    assert!(
        begun.elapsed() < Duration::from_secs(1),
        "{:?}",
        begun.elapsed()
    );
    assert!(!reply.contains("200"), "{reply}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_slow_request_body_gets_408() {
    let (server, addr) = started(Duration::ZERO).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\nabc")
        .await
        .unwrap();
    let reply = read_all(&mut stream).await;
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_cuts_requests_that_outlive_the_grace_period() {
    let (server, addr) = started(Duration::from_secs(5)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let begun = Instant::now();
    server.shutdown().await;
    assert!(
        begun.elapsed() < Duration::from_secs(2),
        "{:?}",
        begun.elapsed()
    );
    assert_eq!(read_all(&mut stream).await, "");
}

#[tokio::test]
async fn health_names_a_stopped_listener() {
    let (server, addr) = started(Duration::ZERO).await;
    assert!(server.health().await.is_ok());
    // Stop the accept loop behind the provider's back, as a crash would.
    {
        let state = server.lock();
        let listener = state.listeners.values().next().unwrap();
        listener.stop.send_replace(true);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let error = server.health().await.unwrap_err();
    assert!(error.contains(&addr.to_string()), "{error}");
}

/// Asserts the server closes `stream` without an answer, by the request-head timeout (200 ms
/// here) and not by `read_all` giving up at 2 s.
async fn assert_closed_unanswered(stream: &mut TcpStream) {
    let begun = Instant::now();
    assert_eq!(read_all(stream).await, "");
    assert!(
        begun.elapsed() < Duration::from_secs(1),
        "{:?}",
        begun.elapsed()
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let (server, addr) = started(Duration::ZERO).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    assert_closed_unanswered(&mut stream).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_stalled_http2_preface_is_closed() {
    let (server, addr) = started(Duration::ZERO).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    assert_closed_unanswered(&mut stream).await;
    server.shutdown().await;
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_served() {
    let (server, addr) = started(Duration::ZERO).await;
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    for round in 0..2 {
        if round == 1 {
            // Idle past a keep-alive ping and its timeout: a client that answers pings (hyper's
            // does) keeps its connection.
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
        let request = hyper::Request::get(format!("http://{addr}/"))
            .body(http_body_util::Empty::<bytes::Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.version(), hyper::Version::HTTP_2);
        assert_eq!(response.status(), hyper::StatusCode::OK);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn http1_keep_alive_serves_several_requests() {
    let (server, addr) = started(Duration::ZERO).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nhost: x\r\n\r\nGET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let reply = read_all(&mut stream).await;
    assert_eq!(reply.matches("HTTP/1.1 200 OK").count(), 2, "{reply}");
    server.shutdown().await;
}

#[tokio::test]
async fn a_silent_http2_client_is_closed_by_the_keep_alive_ping() {
    let (server, addr) = started(Duration::ZERO).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The whole preface, then nothing: no SETTINGS, no answer to the server's PING.
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    let begun = Instant::now();
    let mut frames = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut frames)).await;
    // Closed after the ping interval and its timeout (200 + 200 ms here), not at `timeout`'s 2 s.
    assert!(
        begun.elapsed() < Duration::from_millis(1500),
        "{:?}",
        begun.elapsed()
    );
    // The server spoke HTTP/2 first: its SETTINGS frame (type 4) leads.
    assert_eq!(frames.get(3), Some(&4), "{frames:?}");
    server.shutdown().await;
}
