//! Providers change under a running host (the seeds' demo): with the key-value provider gone,
//! kvcounter answers 503 naming the capability while other actors keep serving; an in-memory
//! provider added in its place restores it (Redis → memory). And when Redis itself dies, calls
//! fail fast with 503 and recover by themselves when it returns, with no restart.

use std::time::Duration;

use caplet_launch::catalog;
use caplet_testkit::Server;
use caplet_wire::contracts::{HTTP_SERVER, KEY_VALUE};

use crate::common::*;

const HELLO: &[u8] = include_bytes!("../../../../guests/out/hello.wasm");

fn manifest(counter: &str, hello: &str, redis: &str) -> String {
    format!(
        r#"
[[actor]]
name = "kvcounter"
path = "kvcounter.wasm"

[[actor]]
name = "hello"
path = "hello.wasm"

[[provider]]
contract = "wasmcloud:keyvalue"
implementation = "redis"
[provider.config]
url = "{redis}"

[[link]]
actor = "kvcounter"
contract = "wasmcloud:httpserver"
[link.values]
address = "{counter}"

[[link]]
actor = "kvcounter"
contract = "wasmcloud:keyvalue"

[[link]]
actor = "hello"
contract = "wasmcloud:httpserver"
[link.values]
address = "{hello}"
"#
    )
}

fn deployment(counter: &str, hello: &str, redis: &str) -> Deployment {
    let deployment = Deployment::new();
    deployment.add_signed("kvcounter.wasm", KVCOUNTER, &[HTTP_SERVER, KEY_VALUE]);
    deployment.add_signed("hello.wasm", HELLO, &[HTTP_SERVER]);
    deployment.manifest(&manifest(counter, hello, redis));
    deployment
}

#[tokio::test]
async fn removing_the_kv_provider_gives_503_and_adding_memory_restores_it() {
    let redis = Server::redis();
    let (counter, hello) = (free_addr(), free_addr());
    let running = deployment(&counter, &hello, &redis.url())
        .launch()
        .await
        .unwrap();
    let host = &running.host;
    assert_eq!(get(&counter, "/").await.body, "{\"counter\":1}");

    host.remove_provider(KEY_VALUE, "default").await.unwrap();
    let reply = get(&counter, "/").await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(
        reply.body.contains("wasmcloud:keyvalue is unavailable"),
        "{reply:?}"
    );
    assert_eq!(
        get(&hello, "/").await.status,
        200,
        "other actors keep serving"
    );
    let health = host.health().await;
    assert!(!health.is_healthy());
    assert_eq!(health.unserved_links[0].1, KEY_VALUE);

    let memory =
        catalog::build(KEY_VALUE, "memory", &Default::default(), host.dispatcher()).unwrap();
    host.add_provider("default", memory).await.unwrap();
    assert_eq!(
        get(&counter, "/").await.body,
        "{\"counter\":1}",
        "a fresh in-memory count"
    );
    assert!(host.health().await.is_healthy());
    running.host.shutdown().await;
}

#[tokio::test]
async fn redis_dying_gives_fast_503s_and_recovery_needs_no_restart() {
    let mut redis = Server::redis();
    let (counter, hello) = (free_addr(), free_addr());
    let running = deployment(&counter, &hello, &redis.url())
        .launch()
        .await
        .unwrap();
    assert_eq!(get(&counter, "/").await.body, "{\"counter\":1}");

    redis.kill();
    let reply = get(&counter, "/").await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(reply.body.contains("redis"), "{reply:?}");
    assert!(!running.host.health().await.is_healthy());
    assert_eq!(get(&hello, "/").await.status, 200);

    redis.restart();
    let mut recovered = None;
    for _ in 0..100 {
        let reply = get(&counter, "/").await;
        if reply.status == 200 {
            recovered = Some(reply.body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The restarted Redis is empty, so the count starts again.
    assert_eq!(recovered.as_deref(), Some("{\"counter\":1}"));
    running.host.shutdown().await;
}
