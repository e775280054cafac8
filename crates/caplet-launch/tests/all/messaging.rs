//! The IoT example's flow: messages on `sensors.<id>` reach the subscribed ingest actor, which
//! updates key-value state that the dashboard actor serves over HTTP. With real NATS, devices
//! publish directly and request/reply round-trips through the actor; with the embedded local
//! messaging, the dashboard's POST publishes the reading.

use std::time::Duration;

use caplet_testkit::Server;
use caplet_wire::contracts::{HTTP_SERVER, KEY_VALUE, MESSAGING};

use crate::common::*;

fn iot_manifest(addr: &str, provider: &str) -> String {
    format!(
        r#"
[[actor]]
name = "iot-ingest"
path = "iot_ingest.wasm"

[[actor]]
name = "iot-dashboard"
path = "iot_dashboard.wasm"

{provider}

[[link]]
actor = "iot-ingest"
contract = "wasmcloud:messaging"
[link.values]
subscriptions = "sensors.>"

[[link]]
actor = "iot-ingest"
contract = "wasmcloud:keyvalue"

[[link]]
actor = "iot-dashboard"
contract = "wasmcloud:httpserver"
[link.values]
address = "{addr}"

[[link]]
actor = "iot-dashboard"
contract = "wasmcloud:keyvalue"

[[link]]
actor = "iot-dashboard"
contract = "wasmcloud:messaging"
"#
    )
}

fn deployment(addr: &str, provider: &str) -> Deployment {
    let deployment = Deployment::new();
    deployment.add_signed("iot_ingest.wasm", IOT_INGEST, &[MESSAGING, KEY_VALUE]);
    deployment.add_signed(
        "iot_dashboard.wasm",
        IOT_DASHBOARD,
        &[HTTP_SERVER, KEY_VALUE, MESSAGING],
    );
    deployment.manifest(&iot_manifest(addr, provider));
    deployment
}

/// Polls GET /sensors until `needle` appears (messages are delivered asynchronously).
async fn wait_for_reading(addr: &str, needle: &str) -> String {
    for _ in 0..100 {
        let reply = get(addr, "/sensors").await;
        assert_eq!(reply.status, 200, "{reply:?}");
        if reply.body.contains(needle) {
            return reply.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{needle} never appeared in /sensors");
}

#[tokio::test]
async fn nats_messages_reach_the_subscribed_actor_and_requests_get_replies() {
    let nats = Server::nats();
    let addr = free_addr();
    let provider = format!(
        "[[provider]]\ncontract = \"wasmcloud:messaging\"\nimplementation = \"nats\"\n[provider.config]\nurl = \"{}\"\n",
        nats.url()
    );
    let running = deployment(&addr, &provider).launch().await.unwrap();
    let client = async_nats::connect(nats.url()).await.unwrap();

    // Request/reply: the actor's answer comes back to the requester. The provider subscribes
    // in the background once connected, so retry until the subscription is live.
    let mut answered = None;
    for _ in 0..100 {
        let request = client.request("sensors.t0", r#"{"sensor":"t0","value":7}"#.into());
        if let Ok(Ok(reply)) = tokio::time::timeout(Duration::from_millis(200), request).await {
            answered = Some(reply.payload.to_vec());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(answered.as_deref(), Some(&b"ok"[..]));
    wait_for_reading(&addr, "t0").await;

    // A device publishes directly to NATS.
    client
        .publish("sensors.t1", r#"{"sensor":"t1","value":21.5}"#.into())
        .await
        .unwrap();
    client.flush().await.unwrap();
    let body = wait_for_reading(&addr, "t1").await;
    assert!(body.contains("21.5"), "{body}");

    // The dashboard publishes through the same provider; a plain subscriber sees it.
    let mut watch = client.subscribe("sensors.t3").await.unwrap();
    // flush() only empties the client's buffer; a request that nobody answers returns only
    // after the server has processed the subscription, so the publish below cannot overtake it.
    let _ = client.request("caplet.test.sync", "".into()).await;
    let posted = http("POST", &addr, "/sensors/t3", r#"{"sensor":"t3","value":1}"#).await;
    assert!(posted.status < 300, "{posted:?}");
    let seen = tokio::time::timeout(Duration::from_secs(5), futures_next(&mut watch))
        .await
        .unwrap();
    assert!(String::from_utf8_lossy(&seen).contains("t3"));
    wait_for_reading(&addr, "t3").await;
    running.host.shutdown().await;
}

async fn futures_next(subscriber: &mut async_nats::Subscriber) -> Vec<u8> {
    use futures_util::StreamExt;
    subscriber.next().await.unwrap().payload.to_vec()
}

#[tokio::test]
async fn local_messaging_carries_the_flow_with_no_server() {
    let addr = free_addr();
    let running = deployment(&addr, "").launch().await.unwrap();
    let posted = http(
        "POST",
        &addr,
        "/sensors/k1",
        r#"{"sensor":"k1","value":3.5}"#,
    )
    .await;
    assert!(posted.status < 300, "{posted:?}");
    let body = wait_for_reading(&addr, "k1").await;
    assert!(body.contains("3.5"), "{body}");
    running.host.shutdown().await;
}
