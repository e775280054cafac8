#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The HTTP server provider against a plain hyper client, with a dispatcher double standing
//! in for the host.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use caplet_http::HttpServer;
use caplet_provider_api::{
    ActorDispatcher, ActorRef, BoxFuture, DispatchError, LinkDefinition, Provider, ProviderError,
};
use caplet_wire::httpserver::{HANDLE_REQUEST, HttpRequest, HttpResponse};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Answer = dyn Fn(&ActorRef, &HttpRequest) -> Result<Vec<u8>, DispatchError> + Send + Sync;

/// Stands in for the host: records each call and answers with `answer`, after `delay` for
/// paths starting with /slow.
struct Host {
    answer: Box<Answer>,
    calls: Mutex<Vec<(String, HttpRequest)>>,
}

impl Host {
    fn new(
        answer: impl Fn(&ActorRef, &HttpRequest) -> Result<Vec<u8>, DispatchError>
        + Send
        + Sync
        + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            answer: Box::new(answer),
            calls: Mutex::default(),
        })
    }

    /// Answers "<actor> <path>".
    fn echo() -> Arc<Self> {
        Self::new(|actor, request| {
            Ok(caplet_wire::encode(&HttpResponse::text(
                200,
                format!("{actor} {}", request.path),
            ))
            .unwrap())
        })
    }

    fn calls(&self) -> Vec<(String, HttpRequest)> {
        self.calls.lock().unwrap().clone()
    }
}

impl ActorDispatcher for Host {
    fn call_actor<'a>(
        &'a self,
        actor: &'a ActorRef,
        operation: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, DispatchError>> {
        Box::pin(async move {
            assert_eq!(operation, HANDLE_REQUEST);
            let request: HttpRequest = caplet_wire::decode(&payload).unwrap();
            self.calls
                .lock()
                .unwrap()
                .push((actor.name.to_string(), request.clone()));
            if request.path.starts_with("/slow") {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            (self.answer)(actor, &request)
        })
    }
}

fn actor(name: &str) -> ActorRef {
    ActorRef {
        id: format!("unsigned:{name}").into(),
        name: name.into(),
    }
}

fn link(name: &str, values: &[(&str, &str)]) -> LinkDefinition {
    LinkDefinition {
        actor: actor(name),
        contract_id: caplet_wire::contracts::HTTP_SERVER.into(),
        link_name: "default".into(),
        values: values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn server(host: &Arc<Host>) -> HttpServer {
    HttpServer::new(
        &Default::default(),
        Arc::clone(host) as Arc<dyn ActorDispatcher>,
    )
    .unwrap()
}

struct Reply {
    status: u16,
    headers: hyper::HeaderMap,
    body: String,
}

async fn send(addr: SocketAddr, request: Request<Full<Bytes>>) -> Reply {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    let request = Request::get(path)
        .header("host", addr.to_string())
        .body(Full::default())
        .unwrap();
    send(addr, request).await
}

/// Writes `raw` and reads until the server closes or the response is complete enough.
async fn raw(addr: SocketAddr, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw).await.unwrap();
    let mut buf = vec![0; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn request_fields_reach_the_actor_and_the_answer_reaches_the_client() {
    let host = Host::new(|_, _| {
        let mut answer = HttpResponse::text(201, "made");
        answer.header.append("X-Answer", "yes");
        answer.header.append("Set-Cookie", "a=1");
        answer.header.append("Set-Cookie", "b=2");
        Ok(caplet_wire::encode(&answer).unwrap())
    });
    let server = server(&host);
    let addr = caplet_testkit::free_addr();
    server
        .bind(link(
            "shop",
            &[("address", &addr.to_string()), ("path_prefix", "/api/")],
        ))
        .await
        .unwrap();
    let request = Request::post("/api/items/7?colour=red&x=1")
        .header("host", "shop.test")
        .header("X-Test", "one")
        .header("x-test", "two")
        .body(Full::new(Bytes::from_static(b"hello actor")))
        .unwrap();
    let reply = send(addr, request).await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.body, "made");
    assert_eq!(reply.headers["x-answer"], "yes");
    assert_eq!(reply.headers.get_all("set-cookie").iter().count(), 2);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );

    let calls = host.calls();
    assert_eq!(calls.len(), 1);
    let (name, request) = &calls[0];
    assert_eq!(name, "shop");
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/items/7");
    assert_eq!(request.query_string, "colour=red&x=1");
    assert_eq!(request.header.get_all("x-test"), ["one", "two"]);
    assert_eq!(request.header.get("Host"), Some("shop.test"));
    assert_eq!(request.body, b"hello actor");
    server.shutdown().await;
}

#[tokio::test]
async fn keep_alive_serves_many_requests_on_one_connection() {
    let host = Host::echo();
    let server = server(&host);
    let addr = caplet_testkit::free_addr();
    server
        .bind(link("a", &[("ADDRESS", &addr.to_string())]))
        .await
        .unwrap();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    for i in 0..3 {
        let request = Request::get(format!("/n/{i}"))
            .header("host", "x")
            .body(Full::<Bytes>::default())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, format!("a /n/{i}").as_bytes());
    }
    server.shutdown().await;
}

#[tokio::test]
async fn dispatch_errors_map_to_statuses_with_the_message() {
    let host = Host::new(|_, request| match request.path.as_str() {
        "/unavailable" => Err(DispatchError::CapabilityUnavailable(
            "capability wasmcloud:keyvalue is unavailable: no provider".into(),
        )),
        "/not-running" => Err(DispatchError::ActorNotRunning(
            "actor shop is not running".into(),
        )),
        "/overloaded" => Err(DispatchError::Overloaded("host at capacity".into())),
        "/timeout" => Err(DispatchError::Timeout("deadline of 5s exceeded".into())),
        "/failed" => Err(DispatchError::ActorFailed("guest said no".into())),
        "/crashed" => Err(DispatchError::ActorCrashed("trap: unreachable".into())),
        "/rejected" => Err(DispatchError::Rejected("payload too large".into())),
        "/long" => Err(DispatchError::ActorFailed("x".repeat(10_000))),
        _ => Ok(vec![0xc1]),
    });
    let server = server(&host);
    let addr = caplet_testkit::free_addr();
    server
        .bind(link("a", &[("port", &addr.port().to_string())]))
        .await
        .unwrap();
    for (path, status, body) in [
        (
            "/unavailable",
            503,
            "503 Service Unavailable: capability wasmcloud:keyvalue is unavailable: no provider",
        ),
        (
            "/not-running",
            503,
            "503 Service Unavailable: actor shop is not running",
        ),
        (
            "/overloaded",
            503,
            "503 Service Unavailable: host at capacity",
        ),
        (
            "/timeout",
            504,
            "504 Gateway Timeout: deadline of 5s exceeded",
        ),
        ("/failed", 500, "500 Internal Server Error: guest said no"),
        (
            "/crashed",
            500,
            "500 Internal Server Error: trap: unreachable",
        ),
        ("/rejected", 413, "413 Payload Too Large: payload too large"),
        (
            "/malformed",
            500,
            "500 Internal Server Error: actor returned a malformed HttpResponse",
        ),
    ] {
        let reply = get(addr, path).await;
        assert_eq!(reply.status, status, "{path}");
        assert_eq!(reply.body.trim_end(), body, "{path}");
        assert!(
            reply.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/plain")
        );
    }
    let reply = get(addr, "/long").await;
    assert_eq!(reply.status, 500);
    assert!(reply.body.len() < 600, "{}", reply.body.len());
    server.shutdown().await;
}

#[tokio::test]
async fn bodies_over_the_limit_get_413_without_calling_the_actor() {
    let host = Host::echo();
    let server = server(&host);
    let small = caplet_testkit::free_addr();
    server
        .bind(link(
            "small",
            &[("address", &small.to_string()), ("max_body_bytes", "16")],
        ))
        .await
        .unwrap();
    let request = Request::post("/")
        .header("host", "x")
        .body(Full::new(Bytes::from(vec![b'a'; 32])))
        .unwrap();
    let reply = send(small, request).await;
    assert_eq!(reply.status, 413);
    assert!(
        reply.body.contains("exceeds the limit of 16 bytes"),
        "{}",
        reply.body
    );
    // Chunked: no length announced, cut while reading.
    let chunked = raw(
        small,
        b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n",
    )
    .await;
    assert!(chunked.starts_with("HTTP/1.1 413"), "{chunked}");
    // At the limit: served.
    let request = Request::post("/")
        .header("host", "x")
        .body(Full::new(Bytes::from(vec![b'a'; 16])))
        .unwrap();
    assert_eq!(send(small, request).await.status, 200);

    // The default limit (1 MiB), refused from Content-Length alone.
    let default = caplet_testkit::free_addr();
    server
        .bind(link("big", &[("address", &default.to_string())]))
        .await
        .unwrap();
    let reply = raw(
        default,
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 1048577\r\n\r\n",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert_eq!(
        host.calls().len(),
        1,
        "only the request at the limit reached an actor"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_provider_config_sets_the_default_body_limit() {
    let host = Host::echo();
    let config = [("MAX_BODY_BYTES".to_owned(), "4".to_owned())].into();
    let server = HttpServer::new(&config, Arc::clone(&host) as Arc<dyn ActorDispatcher>).unwrap();
    let addr = caplet_testkit::free_addr();
    server
        .bind(link("a", &[("address", &addr.to_string())]))
        .await
        .unwrap();
    let request = Request::post("/")
        .header("host", "x")
        .body(Full::new(Bytes::from_static(b"12345")))
        .unwrap();
    assert_eq!(send(addr, request).await.status, 413);
    let config = [("colour".to_owned(), "red".to_owned())].into();
    let error = HttpServer::new(&config, host as Arc<dyn ActorDispatcher>).unwrap_err();
    assert!(error.contains("known keys: max_body_bytes"), "{error}");
    server.shutdown().await;
}

#[tokio::test]
async fn actors_share_an_address_by_path_prefix() {
    let host = Host::echo();
    let server = server(&host);
    let addr = caplet_testkit::free_addr().to_string();
    server
        .bind(link(
            "users",
            &[("address", &addr), ("path_prefix", "/users")],
        ))
        .await
        .unwrap();
    server
        .bind(link(
            "orders",
            &[("address", &addr), ("path_prefix", "/orders")],
        ))
        .await
        .unwrap();
    let addr: SocketAddr = addr.parse().unwrap();
    assert_eq!(get(addr, "/users/1").await.body, "users /1");
    assert_eq!(get(addr, "/orders").await.body, "orders /");
    let missing = get(addr, "/usersx").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.starts_with("404 Not Found"),
        "{}",
        missing.body
    );

    // The same address and prefix twice is refused and names the owner.
    let error = server
        .bind(link(
            "thief",
            &[("address", &addr.to_string()), ("path_prefix", "/users/")],
        ))
        .await
        .unwrap_err();
    let ProviderError::Failed(message) = error else {
        panic!("{error:?}")
    };
    assert!(message.contains("actor users"), "{message}");
    assert!(message.contains(&addr.to_string()), "{message}");
    assert_eq!(get(addr, "/users/2").await.body, "users /2");

    // A root route catches the rest; longer prefixes still win.
    server
        .bind(link("root", &[("address", &addr.to_string())]))
        .await
        .unwrap();
    assert_eq!(get(addr, "/usersx").await.body, "root /usersx");
    assert_eq!(get(addr, "/users/3").await.body, "users /3");
    server.shutdown().await;
}

#[tokio::test]
async fn rebind_moves_the_route_and_unbind_closes_the_last_listener() {
    let host = Host::echo();
    let server = server(&host);
    let first = caplet_testkit::free_addr();
    let second = caplet_testkit::free_addr();
    let a = actor("a");
    server
        .bind(link("a", &[("address", &first.to_string())]))
        .await
        .unwrap();
    server
        .bind(link(
            "b",
            &[("address", &first.to_string()), ("path_prefix", "/b")],
        ))
        .await
        .unwrap();
    assert_eq!(server.local_addr(&a, "default"), Some(first));

    // Move a elsewhere: b keeps the first listener.
    server
        .bind(link(
            "a",
            &[("address", &second.to_string()), ("path_prefix", "/v2")],
        ))
        .await
        .unwrap();
    assert_eq!(get(second, "/v2/x").await.body, "a /x");
    assert_eq!(get(first, "/x").await.status, 404);
    assert_eq!(get(first, "/b/x").await.body, "b /x");

    // Rebind on the same address with another prefix.
    server
        .bind(link(
            "a",
            &[("address", &second.to_string()), ("path_prefix", "/v3")],
        ))
        .await
        .unwrap();
    assert_eq!(get(second, "/v3/x").await.body, "a /x");
    assert_eq!(get(second, "/v2/x").await.status, 404);

    // Unbinding the last route closes the listener; its port can be bound again.
    server.unbind(&a, "default").await;
    assert!(TcpStream::connect(second).await.is_err());
    assert_eq!(server.local_addr(&a, "default"), None);
    server.unbind(&actor("b"), "default").await;
    assert!(TcpStream::connect(first).await.is_err());
    server
        .bind(link("a", &[("address", &first.to_string())]))
        .await
        .unwrap();
    assert_eq!(get(first, "/").await.body, "a /");
    server.unbind(&a, "missing-link").await;
    assert!(server.health().await.is_ok());
    server.shutdown().await;
}

#[tokio::test]
async fn port_zero_binds_a_free_port() {
    let host = Host::echo();
    let server = server(&host);
    server
        .bind(link("a", &[("address", "127.0.0.1:0")]))
        .await
        .unwrap();
    let addr = server.local_addr(&actor("a"), "default").unwrap();
    assert_ne!(addr.port(), 0);
    assert_eq!(get(addr, "/p").await.body, "a /p");
    // Rebinding with the same values keeps the listener.
    server
        .bind(link(
            "a",
            &[("address", "127.0.0.1:0"), ("max_body_bytes", "9")],
        ))
        .await
        .unwrap();
    assert_eq!(server.local_addr(&actor("a"), "default"), Some(addr));
    // Naming the port it got keeps the same listener and route.
    server
        .bind(link("a", &[("address", &addr.to_string())]))
        .await
        .unwrap();
    assert_eq!(get(addr, "/q").await.body, "a /q");
    server.shutdown().await;
}

#[tokio::test]
async fn a_port_in_use_is_a_bind_error_naming_the_address() {
    let host = Host::echo();
    let server = server(&host);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let error = server
        .bind(link("a", &[("address", &addr.to_string())]))
        .await
        .unwrap_err();
    let ProviderError::Failed(message) = error else {
        panic!("{error:?}")
    };
    assert!(
        message.contains(&format!("cannot listen on {addr}")),
        "{message}"
    );
    assert!(message.contains("actor a"), "{message}");
    assert_eq!(server.local_addr(&actor("a"), "default"), None);

    let error = server
        .bind(link("a", &[("path_prefix", "nope")]))
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::BadRequest(_)), "{error:?}");
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_and_stops_accepting() {
    let host = Host::echo();
    let server = Arc::new(server(&host));
    let addr = caplet_testkit::free_addr();
    server
        .bind(link("a", &[("address", &addr.to_string())]))
        .await
        .unwrap();
    let in_flight = tokio::spawn(async move { get(addr, "/slow").await });
    // Let the request reach the actor, then shut down while it sleeps.
    while host.calls().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = std::time::Instant::now();
    server.shutdown().await;
    let reply = in_flight.await.unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "a /slow");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(TcpStream::connect(addr).await.is_err());
    let error = server
        .bind(link("b", &[("address", &addr.to_string())]))
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::Unavailable(_)), "{error:?}");
}

#[tokio::test]
async fn unbind_of_the_last_route_drains_in_flight_requests() {
    let host = Host::echo();
    let server = server(&host);
    let addr = caplet_testkit::free_addr();
    server
        .bind(link("a", &[("address", &addr.to_string())]))
        .await
        .unwrap();
    let in_flight = tokio::spawn(async move { get(addr, "/slow").await });
    while host.calls().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.unbind(&actor("a"), "default").await;
    assert_eq!(in_flight.await.unwrap().status, 200);
}

#[tokio::test]
async fn provider_identity_and_handle() {
    let host = Host::echo();
    let server = server(&host);
    assert_eq!(server.contract_id(), "wasmcloud:httpserver");
    assert_eq!(server.implementation(), "hyper");
    assert!(server.health().await.is_ok());
    let caller = actor("a");
    let call = caplet_provider_api::ProviderCall {
        actor: &caller,
        link_name: "default",
        operation: "HttpServer.Other",
        payload: &[],
    };
    assert!(matches!(
        server.handle(call).await,
        Err(ProviderError::BadRequest(_))
    ));
}

#[test]
fn validation_reports_manifest_errors() {
    use caplet_http::server::{validate_config, validate_link};
    let values = |pairs: &[(&str, &str)]| -> caplet_provider_api::LinkValues {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert!(validate_link(&values(&[("PORT", "8080"), ("path_prefix", "/api")])).is_ok());
    assert!(validate_link(&values(&[])).is_ok());
    for (pairs, expected) in [
        (&[("address", "nowhere")][..], "not a socket address"),
        (&[("path_prefix", "api")][..], "must start with `/`"),
        (&[("max_body_bytes", "1MB")][..], "positive whole number"),
        (
            &[("tls", "on")][..],
            "known keys: address, port, path_prefix, max_body_bytes",
        ),
    ] {
        let error = validate_link(&values(pairs)).unwrap_err();
        assert!(error.contains(expected), "{error}");
    }
    assert!(validate_config(&values(&[("max_body_bytes", "100")])).is_ok());
    assert!(validate_config(&values(&[("max_body_bytes", "0")])).is_err());
    assert!(
        validate_config(&values(&[("address", "x")]))
            .unwrap_err()
            .contains("known keys")
    );
}
