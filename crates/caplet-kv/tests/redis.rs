#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The Redis provider against a real `redis-server`: the shared operation suite, atomic
//! increments under concurrency, per-link URLs, and failing fast and recovering by itself when
//! Redis dies and comes back.

#[macro_use]
mod suite;

use std::sync::Arc;
use std::time::{Duration, Instant};

use caplet_kv::RedisKeyValue;
use caplet_provider_api::{Provider, ProviderConfig, ProviderError};
use caplet_testkit::Server;
use caplet_wire::keyvalue as kv;
use suite::Kv;

/// How long a call may take before the test calls it a hang (the provider's own bound is a
/// few seconds; this only turns a hang into a failure).
const HANG: Duration = Duration::from_secs(10);

fn config(url: &str) -> ProviderConfig {
    [("url".to_owned(), url.to_owned())].into_iter().collect()
}

async fn setup() -> (Kv, Server) {
    let server = Server::redis();
    let provider = RedisKeyValue::new(&config(&server.url())).unwrap();
    (Kv::bind(Arc::new(provider), "writer", &[]).await, server)
}

suite_tests!(setup);

async fn set_within(kv: &Kv, key: &str, value: &str) -> (Result<(), ProviderError>, Duration) {
    let started = Instant::now();
    let result = tokio::time::timeout(HANG, kv.try_set(key, value, 0))
        .await
        .expect("the call hung instead of failing fast");
    (result, started.elapsed())
}

#[track_caller]
fn assert_unavailable(result: Result<(), ProviderError>, port: u16) {
    match result {
        Err(ProviderError::Unavailable(message)) => assert!(
            message.contains(&format!("redis at 127.0.0.1:{port}")),
            "{message}"
        ),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_fails_fast_and_the_same_provider_recovers() {
    let (kv, mut server) = setup().await;
    let port = server.port();
    kv.set("before", "1").await;
    assert_eq!(kv.provider.health().await, Ok(()));

    server.kill();
    let (result, elapsed) = set_within(&kv, "during", "1").await;
    assert_unavailable(result, port);
    eprintln!("first call after the kill failed in {elapsed:?}");
    // Later calls keep failing fast (each starts a new round of connection attempts).
    for _ in 0..3 {
        let (result, elapsed) = set_within(&kv, "during", "1").await;
        assert_unavailable(result, port);
        eprintln!("call while down failed in {elapsed:?}");
    }
    let health = tokio::time::timeout(HANG, kv.provider.health())
        .await
        .unwrap();
    let error = health.unwrap_err();
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");

    server.restart(); // empty, same port
    let deadline = Instant::now() + HANG;
    loop {
        let (result, _) = set_within(&kv, "after", "2").await;
        match result {
            Ok(()) => break,
            Err(error) if Instant::now() < deadline => {
                eprintln!("not yet back: {error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("the provider did not recover: {error}"),
        }
    }
    assert_eq!(kv.get("after").await.value, "2");
    assert!(
        !kv.get("before").await.exists,
        "the restarted server is empty"
    );
    assert_eq!(kv.incr("n", 1).await.unwrap(), 1);
    assert_eq!(kv.provider.health().await, Ok(()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn built_and_bound_while_redis_is_down() {
    let port = caplet_testkit::free_port();
    let provider = RedisKeyValue::new(&config(&format!("redis://127.0.0.1:{port}/"))).unwrap();
    let kv = Kv::bind(Arc::new(provider), "early", &[]).await;
    let (result, _) = set_within(&kv, "k", "v").await;
    match result {
        Err(ProviderError::Unavailable(message)) => {
            assert!(message.contains("connection refused"), "{message}");
            assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert!(kv.provider.health().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_url_overrides_the_provider_url() {
    let server = Server::redis();
    let dead = format!("redis://127.0.0.1:{}/", caplet_testkit::free_port());
    let provider: Arc<dyn Provider> = Arc::new(RedisKeyValue::new(&config(&dead)).unwrap());
    // Link keys are case-insensitive.
    let linked = Kv::bind(provider.clone(), "linked", &[("URL", &server.url())]).await;
    let unlinked = Kv::bind(provider.clone(), "unlinked", &[]).await;
    linked.set("k", "v").await;
    assert_eq!(linked.get("k").await.value, "v");
    let (result, _) = set_within(&unlinked, "k", "v").await;
    assert!(
        matches!(result, Err(ProviderError::Unavailable(_))),
        "{result:?}"
    );
    // A bad link URL refuses the link.
    let refused = provider
        .bind(caplet_provider_api::LinkDefinition {
            actor: suite::actor("bad"),
            contract_id: caplet_wire::contracts::KEY_VALUE.to_owned(),
            link_name: "default".to_owned(),
            values: [("url".to_owned(), "nonsense".to_owned())]
                .into_iter()
                .collect(),
        })
        .await;
    assert!(
        matches!(refused, Err(ProviderError::BadRequest(_))),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_index_in_the_url_separates_keyspaces() {
    let server = Server::redis();
    let provider: Arc<dyn Provider> = Arc::new(RedisKeyValue::new(&config(&server.url())).unwrap());
    let db0 = Kv::bind(provider.clone(), "zero", &[]).await;
    let db1 = Kv::bind(
        provider.clone(),
        "one",
        &[("url", &format!("{}1", server.url()))],
    )
    .await;
    db0.set("k", "zero").await;
    assert!(!db1.get("k").await.exists);
    db1.set("k", "one").await;
    assert_eq!(db0.get("k").await.value, "zero");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_serving() {
    let (kv, _server) = setup().await;
    kv.set("k", "v").await;
    kv.provider.shutdown().await;
    let result = kv.raw(kv::GET, caplet_wire::encode("k").unwrap()).await;
    assert!(
        matches!(result, Err(ProviderError::Unavailable(_))),
        "{result:?}"
    );
    assert!(kv.provider.health().await.is_err());
}

/// A server that accepts connections and reads what it is sent but never answers: a hung
/// Redis. The provider adds no timer of its own around a command: the connection manager's
/// timeouts must end the call, with `Unavailable`. (The silent server never completes the
/// client's connection handshake, so here the connect timeout, twice, is what ends it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_fails_the_call_within_the_managers_timeouts() {
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream); // keep the connection open, answer nothing
        }
    });
    let provider = RedisKeyValue::new(
        &[
            ("url".to_owned(), format!("redis://127.0.0.1:{port}/")),
            ("connect_timeout_ms".to_owned(), "300".to_owned()),
            ("response_timeout_ms".to_owned(), "300".to_owned()),
        ]
        .into_iter()
        .collect(),
    )
    .unwrap();
    let kv = Kv::bind(Arc::new(provider), "hung", &[]).await;
    let (result, elapsed) = set_within(&kv, "k", "v").await;
    assert_unavailable(result, port);
    eprintln!("a silent server failed the call in {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(3),
        "the call took {elapsed:?}, not about two 300 ms attempts and a back-off"
    );
}
