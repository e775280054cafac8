//! The HTTP client capability only reaches hosts in the link's allow-list, and loopback only
//! when it is listed: an actor cannot use the host to reach internal services.

use caplet_wire::contracts::HTTP_CLIENT;
use caplet_wire::httpclient::{HttpRequest, HttpResponse};

use crate::common::*;

fn probe_request(url: &str) -> Vec<u8> {
    let request = HttpRequest {
        method: "GET".into(),
        url: url.into(),
        ..HttpRequest::default()
    };
    let mut payload = format!("default\n{HTTP_CLIENT}\nHttpClient.Request\n").into_bytes();
    payload.extend(caplet_wire::encode(&request).unwrap());
    payload
}

#[tokio::test]
async fn http_client_denies_hosts_outside_the_allow_list() {
    // A local server the actor will try to reach.
    let target = free_addr();
    let deployment = Deployment::new();
    deployment.add_signed("kvcounter.wasm", KVCOUNTER, &["wasmcloud:httpserver"]);
    deployment.add_signed("probe.wasm", PROBE, &[HTTP_CLIENT]);
    let server_addr = target.clone();
    deployment.manifest(&format!(
        "[[actor]]\nname = \"kvcounter\"\npath = \"kvcounter.wasm\"\n[[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:httpserver\"\n[link.values]\naddress = \"{server_addr}\"\n\n\
         [[actor]]\nname = \"probe\"\npath = \"probe.wasm\"\n[[link]]\nactor = \"probe\"\ncontract = \"wasmcloud:httpclient\"\n[link.values]\nallowed_hosts = \"example.com\"\n"
    ));
    let running = deployment.launch().await.unwrap();
    let host = &running.host;

    let url = format!("http://{target}/");
    let error = host
        .call_actor("probe", "host_call", &probe_request(&url))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("denied"), "{error}");
    assert!(error.contains("127.0.0.1"), "{error}");
    let error = host
        .call_actor("probe", "host_call", &probe_request("http://localhost:9/"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("denied"),
        "loopback by name is denied too: {error}"
    );
    let error = host
        .call_actor(
            "probe",
            "host_call",
            &probe_request("http://169.254.169.254/latest/meta-data/"),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("denied"), "{error}");

    // Listing the address allows it: the actor reaches the local server.
    host.put_link(
        "probe",
        HTTP_CLIENT,
        "default",
        [("allowed_hosts".to_string(), "127.0.0.1".to_string())].into(),
    )
    .await
    .unwrap();
    let reply = host
        .call_actor("probe", "host_call", &probe_request(&url))
        .await
        .unwrap();
    let response: HttpResponse = caplet_wire::decode(&reply).unwrap();
    // kvcounter answers 500 here (it has no key-value): what matters is that we got through.
    assert_eq!(response.status_code, 500);
    running.host.shutdown().await;
}
