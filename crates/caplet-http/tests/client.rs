#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The HTTP client provider against a local hyper server on 127.0.0.1: what it lets through,
//! what it refuses (and that refusals never connect), and its limits.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use caplet_http::HttpClient;
use caplet_provider_api::{ActorRef, LinkDefinition, Provider, ProviderCall, ProviderError};
use caplet_wire::HeaderMap;
use caplet_wire::httpclient::{HttpRequest, HttpResponse, REQUEST};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A test server: `/echo` answers with what it got, `/big?n=N` with N bytes (`/chunked?n=N`
/// the same without Content-Length), `/redirect` with a 302 to the metadata address, `/slow`
/// after 2 s. Counts connections.
struct Upstream {
    addr: SocketAddr,
    connections: Arc<AtomicUsize>,
}

async fn upstream() -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), hyper::service::service_fn(answer)),
            );
        }
    });
    Upstream { addr, connections }
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

async fn answer(request: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let n: usize = request
        .uri()
        .query()
        .and_then(|q| q.strip_prefix("n="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let response = match request.uri().path() {
        "/echo" => {
            let summary = format!(
                "{} {} x-test={:?} host={:?} ",
                request.method(),
                request.uri(),
                request
                    .headers()
                    .get_all("x-test")
                    .iter()
                    .collect::<Vec<_>>(),
                request.headers()["host"],
            );
            let body = request.into_body().collect().await.unwrap().to_bytes();
            let mut bytes = summary.into_bytes();
            bytes.extend_from_slice(&body);
            Response::builder()
                .status(201)
                .header("x-echo", "1")
                .body(Full::new(Bytes::from(bytes)).boxed())
        }
        "/big" => Response::builder().body(Full::new(Bytes::from(vec![b'x'; n])).boxed()),
        "/chunked" => {
            let chunks = (0..n / 100)
                .map(|_| Ok::<_, Infallible>(Frame::data(Bytes::from(vec![b'y'; 100]))));
            Response::builder().body(StreamBody::new(futures_stream(chunks)).boxed())
        }
        "/redirect" => Response::builder()
            .status(302)
            .header("location", "http://169.254.169.254/latest/meta-data/")
            .body(Full::default().boxed()),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(2)).await;
            Response::builder().body(Full::default().boxed())
        }
        _ => Response::builder()
            .status(404)
            .body(Full::default().boxed()),
    };
    Ok(response.unwrap())
}

/// An iterator as a `Stream` (no futures crate needed).
fn futures_stream<I: Iterator + Unpin>(iter: I) -> IterStream<I> {
    IterStream(iter)
}

struct IterStream<I>(I);

impl<I: Iterator + Unpin> futures_core::Stream for IterStream<I> {
    type Item = I::Item;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<I::Item>> {
        std::task::Poll::Ready(self.0.next())
    }
}

fn actor() -> ActorRef {
    ActorRef {
        id: "unsigned:fetcher".into(),
        name: "fetcher".into(),
    }
}

async fn client(values: &[(&str, &str)]) -> HttpClient {
    let client = HttpClient::new(&Default::default()).unwrap();
    client
        .bind(LinkDefinition {
            actor: actor(),
            contract_id: caplet_wire::contracts::HTTP_CLIENT.into(),
            link_name: "default".into(),
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        })
        .await
        .unwrap();
    client
}

async fn fetch(
    client: &HttpClient,
    method: &str,
    url: &str,
) -> Result<HttpResponse, ProviderError> {
    fetch_with(
        client,
        HttpRequest {
            method: method.into(),
            url: url.into(),
            ..HttpRequest::default()
        },
    )
    .await
}

async fn fetch_with(
    client: &HttpClient,
    request: HttpRequest,
) -> Result<HttpResponse, ProviderError> {
    let (actor, payload) = (actor(), caplet_wire::encode(&request).unwrap());
    let call = ProviderCall {
        actor: &actor,
        link_name: "default",
        operation: REQUEST,
        payload: &payload,
    };
    client
        .handle(call)
        .await
        .map(|bytes| caplet_wire::decode(&bytes).unwrap())
}

fn denied(result: Result<HttpResponse, ProviderError>) -> String {
    match result {
        Err(ProviderError::Denied(message)) => message,
        other => panic!("expected Denied, got {other:?}"),
    }
}

#[tokio::test]
async fn a_listed_ip_gets_the_response_with_method_headers_and_body_passed_through() {
    let server = upstream().await;
    let client = client(&[("allowed_hosts", "127.0.0.1")]).await;
    let mut headers = HeaderMap::new();
    headers.append("X-Test", "a");
    headers.append("X-Test", "b");
    headers.append("Host", "admin.internal");
    let response = fetch_with(
        &client,
        HttpRequest {
            method: "PUT".into(),
            url: format!("http://{}/echo?q=1", server.addr),
            headers,
            body: b"payload".to_vec(),
        },
    )
    .await
    .unwrap();
    assert_eq!(response.status_code, 201);
    assert_eq!(response.header.get("x-echo"), Some("1"));
    let body = String::from_utf8(response.body).unwrap();
    assert!(
        body.starts_with("PUT /echo?q=1 x-test=[\"a\", \"b\"]"),
        "{body}"
    );
    // Host comes from the URL, not from the actor.
    assert!(
        body.contains(&format!("host={:?}", server.addr.to_string())),
        "{body}"
    );
    assert!(body.ends_with(" payload"), "{body}");
    // The pool reuses the connection.
    fetch(&client, "GET", &format!("http://{}/echo", server.addr))
        .await
        .unwrap();
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

/// E10: a host name in the list opens public addresses only; `localhost` resolves to
/// loopback, so it is denied after resolution, without connecting, until the loopback
/// addresses themselves are listed.
#[tokio::test]
async fn a_listed_localhost_is_denied_after_resolution_unless_its_addresses_are_listed() {
    let server = upstream().await;
    let url = format!("http://localhost:{}/echo", server.addr.port());
    let client_by_name = client(&[("allowed_hosts", "example.com, localhost")]).await;
    let message = denied(fetch(&client_by_name, "GET", &url).await);
    assert!(message.contains("host localhost resolves to"), "{message}");
    assert!(message.contains("a loopback address"), "{message}");
    assert!(message.contains("by IP or CIDR"), "{message}");
    assert_eq!(server.connections.load(Ordering::SeqCst), 0);
    // localhost may resolve to ::1 as well: list both loopback addresses.
    let client_by_ip = client(&[("allowed_hosts", "localhost, 127.0.0.1, ::1")]).await;
    assert_eq!(
        fetch(&client_by_ip, "GET", &url).await.unwrap().status_code,
        201
    );
    let client_by_cidr = client(&[("allowed_hosts", "localhost, 127.0.0.0/8, ::1")]).await;
    assert_eq!(
        fetch(&client_by_cidr, "GET", &url)
            .await
            .unwrap()
            .status_code,
        201
    );
}

#[tokio::test]
async fn loopback_through_an_unlisted_name_is_denied() {
    let server = upstream().await;
    let client = client(&[("allowed_hosts", "example.com")]).await;
    let url = format!("http://localhost:{}/echo", server.addr.port());
    let message = denied(fetch(&client, "GET", &url).await);
    assert!(message.contains("host localhost"), "{message}");
    assert!(message.contains("actor fetcher"), "{message}");
    assert!(
        message.contains("add `localhost` to the link's allowed_hosts"),
        "{message}"
    );
    assert_eq!(server.connections.load(Ordering::SeqCst), 0);
}

/// E10: the cloud metadata endpoint is denied without connecting, even when the list names
/// it by IP or covers it by CIDR.
#[tokio::test]
async fn the_metadata_address_is_denied_without_connecting() {
    for list in [
        "example.com, *.example.org, 10.0.0.0/8",
        "169.254.169.254, 169.254.0.0/16, ::ffff:169.254.169.254",
    ] {
        let client = client(&[("allowed_hosts", list)]).await;
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[::ffff:169.254.169.254]/",
            "https://169.254.169.254:443/",
        ] {
            let begun = Instant::now();
            let message = denied(fetch(&client, "GET", url).await);
            assert!(message.contains("host 169.254.169.254"), "{message}");
            assert!(message.contains("cloud metadata endpoint"), "{message}");
            assert!(message.contains("allowed_hosts"), "{message}");
            assert!(begun.elapsed() < Duration::from_millis(500));
        }
    }
}

#[tokio::test]
async fn an_empty_or_missing_list_denies_everything() {
    let server = upstream().await;
    for values in [&[("allowed_hosts", " ")][..], &[][..]] {
        let client = client(values).await;
        denied(fetch(&client, "GET", &format!("http://{}/echo", server.addr)).await);
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn cidr_and_port_entries() {
    let server = upstream().await;
    let url = format!("http://{}/echo", server.addr);
    let client = client(&[("allowed_hosts", "127.0.0.0/8")]).await;
    assert_eq!(fetch(&client, "GET", &url).await.unwrap().status_code, 201);
    let right_port = client_with_port(server.addr.port()).await;
    assert_eq!(
        fetch(&right_port, "GET", &url).await.unwrap().status_code,
        201
    );
    let wrong_port = client_with_port(server.addr.port().wrapping_add(1).max(1)).await;
    denied(fetch(&wrong_port, "GET", &url).await);
}

async fn client_with_port(port: u16) -> HttpClient {
    client(&[("allowed_hosts", &format!("127.0.0.1:{port}"))]).await
}

#[tokio::test]
async fn bad_urls_and_schemes_are_bad_requests() {
    let client = client(&[("allowed_hosts", "example.com")]).await;
    for url in [
        "not a url",
        "/relative/path",
        "ftp://example.com/file",
        "file:///etc/passwd",
        "http://user:pw@example.com/",
        "http://0x7f.1/",
    ] {
        match fetch(&client, "GET", url).await {
            Err(ProviderError::BadRequest(message)) => {
                assert!(message.contains("http client"), "{message}")
            }
            other => panic!("{url}: {other:?}"),
        }
    }
    match fetch(&client, "NOT A METHOD", "http://example.com/").await {
        Err(ProviderError::BadRequest(message)) => {
            assert!(message.contains("HTTP method"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let caller = actor();
    let call = ProviderCall {
        actor: &caller,
        link_name: "default",
        operation: "HttpClient.Other",
        payload: &[],
    };
    assert!(matches!(
        client.handle(call).await,
        Err(ProviderError::BadRequest(_))
    ));
}

#[tokio::test]
async fn unbound_actors_are_not_bound() {
    let client = client(&[("allowed_hosts", "127.0.0.1")]).await;
    let (caller, payload) = (
        actor(),
        caplet_wire::encode(&HttpRequest::default()).unwrap(),
    );
    let call = ProviderCall {
        actor: &caller,
        link_name: "other",
        operation: REQUEST,
        payload: &payload,
    };
    assert!(matches!(
        client.handle(call).await,
        Err(ProviderError::NotBound(_))
    ));
    client.unbind(&actor(), "default").await;
    match fetch(&client, "GET", "http://127.0.0.1/").await {
        Err(ProviderError::NotBound(message)) => assert!(message.contains("fetcher"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn responses_over_the_limit_fail() {
    let server = upstream().await;
    let client = client(&[
        ("allowed_hosts", "127.0.0.1"),
        ("max_response_bytes", "1000"),
    ])
    .await;
    let at_limit = fetch(
        &client,
        "GET",
        &format!("http://{}/big?n=1000", server.addr),
    )
    .await
    .unwrap();
    assert_eq!(at_limit.body.len(), 1000);
    for path in ["big?n=1001", "chunked?n=5000"] {
        match fetch(&client, "GET", &format!("http://{}/{path}", server.addr)).await {
            Err(ProviderError::Failed(message)) => {
                assert!(
                    message.contains("exceeds the limit of 1000 bytes"),
                    "{message}"
                );
            }
            other => panic!("{path}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn redirects_are_returned_not_followed() {
    let server = upstream().await;
    let client = client(&[("allowed_hosts", "127.0.0.1")]).await;
    let response = fetch(&client, "GET", &format!("http://{}/redirect", server.addr))
        .await
        .unwrap();
    assert_eq!(response.status_code, 302);
    assert_eq!(
        response.header.get("location"),
        Some("http://169.254.169.254/latest/meta-data/")
    );
}

#[tokio::test]
async fn slow_servers_time_out() {
    let server = upstream().await;
    let client = client(&[("allowed_hosts", "127.0.0.1"), ("timeout_ms", "200")]).await;
    let begun = Instant::now();
    match fetch(&client, "GET", &format!("http://{}/slow", server.addr)).await {
        Err(ProviderError::Unavailable(message)) => {
            assert!(message.contains("timed out after 200 ms"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    assert!(begun.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn a_closed_port_is_unavailable() {
    let addr = caplet_testkit::free_addr();
    let client = client(&[("allowed_hosts", "127.0.0.1")]).await;
    match fetch(&client, "GET", &format!("http://{addr}/")).await {
        Err(ProviderError::Unavailable(message)) => {
            assert!(message.contains("cannot connect"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn bind_and_validation_refuse_bad_link_values() {
    use caplet_http::client::{validate_config, validate_link};
    let values = |pairs: &[(&str, &str)]| -> caplet_provider_api::LinkValues {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert!(
        validate_link(&values(&[
            (
                "ALLOWED_HOSTS",
                "a.example, *.b.example:8443, 10.0.0.0/8, [::1]:80"
            ),
            ("timeout_ms", "500")
        ]))
        .is_ok()
    );
    for (pairs, expected) in [
        (&[("allowed_hosts", "*")][..], "bare `*`"),
        (&[("allowed_hosts", "10.0.0.0/40")][..], "prefix length"),
        (&[("timeout_ms", "soon")][..], "positive whole number"),
        (&[("timeout_ms", "0")][..], "positive whole number"),
        (
            &[("allowed_host", "x")][..],
            "known keys: allowed_hosts, timeout_ms, max_response_bytes",
        ),
    ] {
        let error = validate_link(&values(pairs)).unwrap_err();
        assert!(error.contains(expected), "{error}");
    }
    assert!(validate_config(&values(&[("timeout_ms", "100")])).is_ok());
    assert!(
        validate_config(&values(&[("allowed_hosts", "x")]))
            .unwrap_err()
            .contains("known keys")
    );
    assert!(HttpClient::new(&values(&[("max_response_bytes", "-1")])).is_err());

    let client = HttpClient::new(&Default::default()).unwrap();
    assert_eq!(client.contract_id(), "wasmcloud:httpclient");
    assert_eq!(client.implementation(), "hyper");
    let error = client
        .bind(LinkDefinition {
            actor: actor(),
            contract_id: caplet_wire::contracts::HTTP_CLIENT.into(),
            link_name: "default".into(),
            values: values(&[("allowed_hosts", "bad host")]),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::BadRequest(ref m) if m.contains("`bad host`")),
        "{error:?}"
    );
    assert!(client.health().await.is_ok());
}
