//! Providers and links through the API: a kvcounter wired up entirely over HTTP serves
//! requests; removing its key-value provider degrades health, adding it back restores it.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

const KV: &str = "wasmcloud:keyvalue";
const HTTP: &str = "wasmcloud:httpserver";

fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

async fn http_get(addr: &str) -> String {
    tokio::time::timeout(Duration::from_secs(5), async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        String::from_utf8_lossy(&raw).into_owned()
    })
    .await
    .unwrap()
}

async fn health(rig: &Rig) -> (u16, serde_json::Value) {
    let reply = rig.get("/v1/health").await;
    (reply.status, reply.json().unwrap())
}

#[tokio::test]
async fn a_counter_wired_over_the_api_serves_and_health_follows_its_providers() {
    let rig = Rig::new().await;
    let module = rig.sign(KVCOUNTER, &module_key(), "kvcounter", &[KV, HTTP], 1);
    let started = rig
        .send(
            "POST",
            "/v1/actors",
            &json!({ "name": "kvcounter", "module_base64": base64(&module) }),
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.text());

    // Links before providers: health names the link without a provider.
    let addr = free_addr();
    let http_link =
        json!({ "actor": "kvcounter", "contract": HTTP, "values": { "address": addr } });
    let linked = rig.send("PUT", "/v1/links", &http_link).await;
    assert_eq!(linked.status, 200, "{}", linked.text());
    let kv_link = json!({ "actor": "kvcounter", "contract": KV });
    assert_eq!(rig.send("PUT", "/v1/links", &kv_link).await.status, 200);
    let (status, body) = health(&rig).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(
        body["unserved_links"].as_array().unwrap().len(),
        2,
        "{body}"
    );

    // A bad config is refused before anything changes.
    let bad = json!({ "contract": KV, "implementation": "memory", "config": { "bogus": "1" } });
    let refused = rig.send("POST", "/v1/providers", &bad).await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(
        refused.error_message().contains("invalid config"),
        "{}",
        refused.text()
    );

    for provider in [
        json!({ "contract": KV, "implementation": "memory" }),
        json!({ "contract": HTTP }),
    ] {
        let added = rig.send("POST", "/v1/providers", &provider).await;
        assert_eq!(added.status, 201, "{}", added.text());
    }
    let (status, body) = health(&rig).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "healthy");
    let first = http_get(&addr).await;
    assert!(first.ends_with("{\"counter\":1}"), "{first}");

    let inventory = rig.inventory().await;
    let providers = inventory["providers"].as_array().unwrap();
    assert!(
        providers.iter().any(|p| p["contract"] == KV
            && p["implementation"] == "memory"
            && p["link_name"] == "default"
            && p["healthy"] == true),
        "{inventory}"
    );
    assert!(
        providers
            .iter()
            .any(|p| p["contract"] == HTTP && p["implementation"] == "hyper")
    );
    let links = inventory["links"].as_array().unwrap();
    assert_eq!(links.len(), 2, "{inventory}");
    assert!(
        links
            .iter()
            .any(|l| l["contract"] == HTTP && l["values"]["address"] == addr.as_str())
    );
    assert_eq!(inventory["actors"][0]["capabilities"], json!([KV, HTTP]));

    // A second provider for the same slot conflicts; link values the provider refuses are 400.
    let duplicate = rig
        .send("POST", "/v1/providers", &json!({ "contract": KV }))
        .await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.text());
    let bad_link =
        json!({ "actor": "kvcounter", "contract": HTTP, "values": { "address": "nowhere" } });
    let refused = rig.send("PUT", "/v1/links", &bad_link).await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    let unsigned_for = json!({ "actor": "kvcounter", "contract": "wasmcloud:messaging" });
    let refused = rig.send("PUT", "/v1/links", &unsigned_for).await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(
        refused.error_message().contains("not signed for"),
        "{}",
        refused.text()
    );

    // Remove the key-value provider: degraded, and the counter's calls fail with 503.
    let removed = rig
        .client
        .send::<()>("DELETE", "/v1/providers/wasmcloud:keyvalue/default", None)
        .await
        .unwrap();
    assert_eq!(removed.status, 200, "{}", removed.text());
    let (status, body) = health(&rig).await;
    assert_eq!(status, 503, "{body}");
    let reasons = body["reasons"].to_string();
    assert!(
        reasons.contains("wasmcloud:keyvalue") && reasons.contains("no provider"),
        "{body}"
    );
    assert!(http_get(&addr).await.starts_with("HTTP/1.1 503"));

    // Add it back (fresh memory store): healthy again, counting from 1.
    let added = rig
        .send("POST", "/v1/providers", &json!({ "contract": KV }))
        .await;
    assert_eq!(added.status, 201, "{}", added.text());
    assert_eq!(health(&rig).await.0, 200);
    assert!(http_get(&addr).await.ends_with("{\"counter\":1}"));

    // Replace in place.
    let replaced = rig
        .send("PUT", "/v1/providers", &json!({ "contract": KV }))
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text());
    assert_eq!(
        replaced.json::<serde_json::Value>().unwrap()["replaced"],
        true
    );
    assert!(http_get(&addr).await.ends_with("{\"counter\":1}"));
    assert_eq!(health(&rig).await.0, 200);

    // Delete a link: gone from the inventory; deleting it again is 404.
    let deleted = rig.send("DELETE", "/v1/links", &kv_link).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text());
    assert_eq!(rig.inventory().await["links"].as_array().unwrap().len(), 1);
    assert_eq!(rig.send("DELETE", "/v1/links", &kv_link).await.status, 404);
}

/// `/v1/health` lists every actor's health; an actor that answers unhealthy makes it 503 with
/// the actor's message among the reasons; `/readyz` runs no guest code and stays 200.
#[tokio::test]
async fn health_reports_each_actor_and_degrades_on_an_unhealthy_one() {
    let rig = Rig::new().await;
    let module = rig.sign(PROBE, &module_key(), "probe", &[], 1);
    let started = rig
        .send(
            "POST",
            "/v1/actors",
            &json!({ "name": "probe", "module_base64": base64(&module) }),
        )
        .await;
    assert_eq!(started.status, 201, "{}", started.text());
    let counter = rig.sign(KVCOUNTER, &module_key(), "kvcounter", &[KV, HTTP], 1);
    rig.host
        .start_actor("kvcounter", counter, caplet_runtime::Limits::default(), 1)
        .await
        .unwrap();

    let (status, body) = health(&rig).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["actors"][0]["name"], "kvcounter", "{body}");
    assert_eq!(body["actors"][0]["healthy"], true);
    assert_eq!(body["actors"][0]["has_handler"], false);
    assert_eq!(body["actors"][1]["name"], "probe");
    assert_eq!(body["actors"][1]["healthy"], true);
    assert_eq!(body["actors"][1]["has_handler"], true);
    assert_eq!(body["actors"][1]["message"], "probe ok");

    rig.host
        .call_actor("probe", "set_health", b"unhealthy:queue is full")
        .await
        .unwrap();
    let (status, body) = health(&rig).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["actors"][1]["healthy"], false);
    assert_eq!(
        body["reasons"],
        json!(["actor `probe` is unhealthy: queue is full"])
    );
    let ready = rig
        .client_with(None)
        .send::<()>("GET", "/readyz", None)
        .await
        .unwrap();
    assert_eq!(ready.status, 200, "{}", ready.text());
}
