//! Policy as a user meets it through `caplet up`: unsigned or unentitled actors are refused
//! before anything starts (every problem reported, at its line), and at run time a missing
//! capability claim is an actor error (500) while a missing link or provider is 503.

use caplet_launch::LaunchError;
use caplet_wire::contracts::{HTTP_SERVER, KEY_VALUE};

use crate::common::*;

fn report(error: LaunchError) -> String {
    match error {
        LaunchError::Manifest(errors) => errors.to_string(),
        other => panic!("expected manifest errors, got {other}"),
    }
}

#[tokio::test]
async fn unsigned_actor_is_refused_before_anything_starts() {
    let deployment = Deployment::new();
    deployment.add_unsigned("kvcounter.wasm", KVCOUNTER);
    let addr = free_addr();
    deployment.manifest(&format!(
        "[[actor]]\nname = \"kvcounter\"\npath = \"kvcounter.wasm\"\n\n[[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:httpserver\"\n[link.values]\naddress = \"{addr}\"\n"
    ));
    let text = report(deployment.launch().await.err().unwrap());
    assert!(text.contains("caplet.toml:4:"), "{text}");
    assert!(text.contains("is unsigned"), "{text}");
    assert!(text.contains("--allow-unsigned"), "{text}");
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "nothing may listen"
    );
}

#[tokio::test]
async fn every_problem_is_reported_at_its_line() {
    let deployment = Deployment::new();
    // Signed for the HTTP server only, but linked to key-value; and a bad HTTP address.
    deployment.add_signed("kvcounter.wasm", KVCOUNTER, &[HTTP_SERVER]);
    deployment.manifest(
        "[[actor]]\nname = \"kvcounter\"\npath = \"kvcounter.wasm\"\n\n[[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:httpserver\"\n[link.values]\naddress = \"not an address\"\n\n[[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:keyvalue\"\n",
    );
    let text = report(deployment.launch().await.err().unwrap());
    // Three lines of [host] come first: the address is on line 12, the kv link starts on 14.
    assert!(
        text.contains("caplet.toml:12:"),
        "address error at its line: {text}"
    );
    assert!(
        text.contains("caplet.toml:14:"),
        "kv link error at its line: {text}"
    );
    assert!(text.contains("not signed for it"), "{text}");
}

/// Signed without the key-value capability, so the actor may not even be linked to it; its
/// host call is refused with the claim named, and the HTTP answer is the actor's error (500).
#[tokio::test]
async fn call_without_the_claim_is_refused_with_the_message() {
    let deployment = Deployment::new();
    deployment.add_signed("kvcounter.wasm", KVCOUNTER, &[HTTP_SERVER]);
    let addr = free_addr();
    deployment.manifest(&format!(
        "[[actor]]\nname = \"kvcounter\"\npath = \"kvcounter.wasm\"\n\n[[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:httpserver\"\n[link.values]\naddress = \"{addr}\"\n"
    ));
    let running = deployment.launch().await.unwrap();
    let reply = get(&addr, "/").await;
    assert_eq!(reply.status, 500, "{reply:?}");
    assert!(
        reply
            .body
            .contains("missing capability claim for wasmcloud:keyvalue"),
        "{reply:?}"
    );
    running.host.shutdown().await;
}

/// Signed for key-value but not linked: refused as unavailable, HTTP 503 saying which.
#[tokio::test]
async fn call_with_the_claim_but_no_link_is_503() {
    let deployment = Deployment::new();
    deployment.add_signed("kvcounter.wasm", KVCOUNTER, &[HTTP_SERVER, KEY_VALUE]);
    let addr = free_addr();
    deployment.manifest(&format!(
        "[[actor]]\nname = \"kvcounter\"\npath = \"kvcounter.wasm\"\n\n[[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:httpserver\"\n[link.values]\naddress = \"{addr}\"\n"
    ));
    let running = deployment.launch().await.unwrap();
    let reply = get(&addr, "/").await;
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(reply.body.contains("wasmcloud:keyvalue"), "{reply:?}");
    assert!(reply.body.contains("missing link"), "{reply:?}");
    running.host.shutdown().await;
}

/// Development mode admits unsigned actors (with a warning) and they work.
#[tokio::test]
async fn allow_unsigned_runs_unsigned_actors() {
    let deployment = Deployment::new();
    deployment.add_unsigned("kvcounter.wasm", KVCOUNTER);
    let addr = free_addr();
    let path = deployment.path().join("caplet.toml");
    std::fs::write(
        &path,
        format!(
            "[host]\nallow_unsigned = true\n\n[[actor]]\nname = \"kvcounter\"\npath = \"kvcounter.wasm\"\n\n[[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:httpserver\"\n[link.values]\naddress = \"{addr}\"\n\n[[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:keyvalue\"\n"
        ),
    )
    .unwrap();
    let running = deployment.launch().await.unwrap();
    assert_eq!(get(&addr, "/").await.body, "{\"counter\":1}");
    running.host.shutdown().await;
}
