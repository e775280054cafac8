//! The seeds' demo: HTTP GET → atomic increment → `{"counter":N}`, against the embedded
//! in-memory store and against a real Redis, served through the HTTP server provider.

use caplet_testkit::Server;
use caplet_wire::contracts::{HTTP_SERVER, KEY_VALUE};

use crate::common::*;

fn kvcounter_manifest(addr: &str, provider: &str) -> String {
    format!(
        r#"
[[actor]]
name = "kvcounter"
path = "kvcounter.wasm"
instances = 2

{provider}

[[link]]
actor = "kvcounter"
contract = "wasmcloud:httpserver"
[link.values]
address = "{addr}"

[[link]]
actor = "kvcounter"
contract = "wasmcloud:keyvalue"
"#
    )
}

async fn counts_up(addr: &str) {
    for expected in 1..=3 {
        let reply = get(addr, "/").await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.body, format!("{{\"counter\":{expected}}}"));
    }
}

#[tokio::test]
async fn kvcounter_counts_with_the_in_memory_store() {
    let deployment = Deployment::new();
    deployment.add_signed("kvcounter.wasm", KVCOUNTER, &[HTTP_SERVER, KEY_VALUE]);
    let addr = free_addr();
    deployment.manifest(&kvcounter_manifest(&addr, ""));
    let running = deployment.launch().await.unwrap();
    counts_up(&addr).await;
    assert_eq!(
        running.http_endpoints,
        vec![("kvcounter".into(), addr.clone())]
    );
    assert_eq!(running.host.shutdown().await, 0);
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "listener closed"
    );
}

#[tokio::test]
async fn kvcounter_counts_in_redis_and_survives_a_host_restart() {
    let redis = Server::redis();
    let deployment = Deployment::new();
    deployment.add_signed("kvcounter.wasm", KVCOUNTER, &[HTTP_SERVER, KEY_VALUE]);
    let addr = free_addr();
    let provider = format!(
        "[[provider]]\ncontract = \"wasmcloud:keyvalue\"\nimplementation = \"redis\"\n[provider.config]\nurl = \"{}\"\n",
        redis.url()
    );
    deployment.manifest(&kvcounter_manifest(&addr, &provider));
    let running = deployment.launch().await.unwrap();
    counts_up(&addr).await;
    running.host.shutdown().await;

    // The count lives in Redis: a new host continues it.
    let running = deployment.launch().await.unwrap();
    let reply = get(&addr, "/").await;
    assert_eq!(reply.body, "{\"counter\":4}");
    running.host.shutdown().await;
}

/// Concurrent requests never lose an increment (the increment is atomic in the provider).
#[tokio::test]
async fn concurrent_requests_lose_no_increment() {
    let deployment = Deployment::new();
    deployment.add_signed("kvcounter.wasm", KVCOUNTER, &[HTTP_SERVER, KEY_VALUE]);
    let addr = free_addr();
    deployment.manifest(&kvcounter_manifest(&addr, ""));
    let running = deployment.launch().await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let addr = addr.clone();
        tasks.push(tokio::spawn(async move { get(&addr, "/").await.status }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    assert_eq!(get(&addr, "/").await.body, "{\"counter\":51}");
    running.host.shutdown().await;
}
