//! The pluggable policy (docs/policy.md): Rego in-process decides on issuer, capabilities and
//! link values; an external OPA server allows and denies, and when it is down or slow the host
//! refuses (fail closed, E8); the decision cache saves a second request.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use caplet_host::policy::{CachedPolicy, OpaPolicy, PolicyEngine, RegoPolicy};
use caplet_host::{HostConfig, HostError, LinkValues};
use caplet_wire::contracts::{HTTP_CLIENT, KEY_VALUE};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

use crate::common::*;

fn rego_policy(issuer: &str) -> String {
    format!(
        r#"
package caplet
import rego.v1

default allow := false

allow if {{
    input.kind == "start_actor"
    input.actor.issuer == "{issuer}"
    not "{HTTP_CLIENT}" in input.actor.capabilities
}}

allow if {{
    input.kind == "link"
    input.link.contract == "{KEY_VALUE}"
    not startswith(input.link.values.URL, "redis://prod")
}}

reason := "actors that call out over HTTP are not allowed on this host" if {{
    input.kind == "start_actor"
    "{HTTP_CLIENT}" in input.actor.capabilities
}}

reason := "links to production stores are not allowed" if {{
    input.kind == "link"
    startswith(input.link.values.URL, "redis://prod")
}}
"#
    )
}

fn host_with_policy(trusted: &[&Issuer], policy: Arc<dyn PolicyEngine>) -> caplet_host::Host {
    let config = HostConfig {
        issuers: trusted.iter().map(|i| i.account.public_key()).collect(),
        policy: Some(policy),
        ..HostConfig::default()
    };
    trusted[0].host_with(config)
}

#[tokio::test]
async fn rego_decides_on_issuer_capabilities_and_link_values() {
    let allowed = Issuer::new();
    let other = Issuer::new();
    let rego = RegoPolicy::from_source(
        "test.rego",
        &rego_policy(&allowed.account.public_key()),
        None,
    )
    .unwrap();
    let host = host_with_policy(&[&allowed, &other], Arc::new(rego));

    let (kv_actor, _) = allowed.sign(PROBE, "kv", &[KEY_VALUE]);
    host.start_actor("kv", kv_actor, limits(), 1).await.unwrap();

    let (http_actor, _) = allowed.sign(PROBE, "web", &[HTTP_CLIENT]);
    let denied = host
        .start_actor("web", http_actor, limits(), 1)
        .await
        .unwrap_err();
    assert!(matches!(denied, HostError::PolicyDenied { .. }), "{denied}");
    assert!(
        denied.to_string().contains("call out over HTTP"),
        "{denied}"
    );

    // Trusted by the claims check, but not by the policy: no reason rule matches.
    let (foreign, _) = other.sign(PROBE, "foreign", &[KEY_VALUE]);
    let denied = host
        .start_actor("foreign", foreign, limits(), 1)
        .await
        .unwrap_err();
    assert!(matches!(denied, HostError::PolicyDenied { .. }), "{denied}");
    assert!(denied.to_string().contains("no reason given"), "{denied}");

    let dev: LinkValues = [("URL".to_string(), "redis://dev:6379".to_string())].into();
    host.put_link("kv", KEY_VALUE, "", dev).await.unwrap();
    let prod: LinkValues = [("URL".to_string(), "redis://prod:6379".to_string())].into();
    let denied = host
        .put_link("kv", KEY_VALUE, "other", prod)
        .await
        .unwrap_err();
    assert!(denied.to_string().contains("production"), "{denied}");
    assert_eq!(host.links().len(), 1, "the refused link was not stored");
}

#[tokio::test]
async fn a_broken_rego_policy_or_query_fails_at_load() {
    let broken =
        RegoPolicy::from_source("bad.rego", "package caplet\nallow if {", None).unwrap_err();
    assert!(broken.contains("does not compile"), "{broken}");
    let unknown = RegoPolicy::from_source(
        "ok.rego",
        "package caplet\ndefault allow := false",
        Some("data.caplet.nope"),
    );
    // An undefined rule is a "no", never an error at evaluation; a bad path is an error.
    let bad_path = RegoPolicy::from_source("ok.rego", "package caplet", Some("allow"));
    assert!(bad_path.is_err());
    drop(unknown);
}

/// A tiny OPA double on a free loopback port: allows actors named `good`, counts requests,
/// and waits `delay` before answering.
async fn fake_opa(delay: Duration) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let seen = seen.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |request: Request<hyper::body::Incoming>| {
                        let seen = seen.clone();
                        async move {
                            seen.fetch_add(1, Ordering::SeqCst);
                            assert_eq!(request.uri().path(), "/v1/data/caplet");
                            let body = request.into_body().collect().await.unwrap().to_bytes();
                            let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
                            tokio::time::sleep(delay).await;
                            let allow = doc["input"]["actor"]["name"] == "good";
                            let answer = serde_json::json!({
                                "result": {"allow": allow, "reason": format!("name is {}", doc["input"]["actor"]["name"])}
                            });
                            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(
                                answer.to_string(),
                            ))))
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, count)
}

#[tokio::test]
async fn opa_allows_and_denies() {
    let issuer = Issuer::new();
    let (url, count) = fake_opa(Duration::ZERO).await;
    let opa = OpaPolicy::new(&url, None, None).unwrap();
    let host = host_with_policy(&[&issuer], Arc::new(opa));
    let (good, _) = issuer.sign(PROBE, "good", &[]);
    host.start_actor("good", good, limits(), 1).await.unwrap();
    let (bad, _) = issuer.sign(PROBE, "bad", &[]);
    let denied = host.start_actor("bad", bad, limits(), 1).await.unwrap_err();
    assert!(matches!(denied, HostError::PolicyDenied { .. }), "{denied}");
    assert!(denied.to_string().contains("name is \"bad\""), "{denied}");
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn opa_down_refuses() {
    let issuer = Issuer::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let opa = OpaPolicy::new(&url, None, None).unwrap();
    let host = host_with_policy(&[&issuer], Arc::new(opa));
    let (good, _) = issuer.sign(PROBE, "good", &[]);
    let refused = host
        .start_actor("good", good, limits(), 1)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, HostError::PolicyUnavailable { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("fail closed"), "{refused}");
    assert!(host.actors().is_empty());
}

#[tokio::test]
async fn opa_slower_than_the_timeout_refuses_after_the_timeout() {
    let issuer = Issuer::new();
    let (url, _) = fake_opa(Duration::from_secs(3)).await;
    let opa = OpaPolicy::new(&url, None, Some(Duration::from_millis(200))).unwrap();
    let host = host_with_policy(&[&issuer], Arc::new(opa));
    let (good, _) = issuer.sign(PROBE, "good", &[]);
    let started = Instant::now();
    let refused = host
        .start_actor("good", good, limits(), 1)
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(refused, HostError::PolicyUnavailable { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("200 ms"), "{refused}");
    assert!(
        took >= Duration::from_millis(200) && took < Duration::from_secs(2),
        "{took:?}"
    );
}

#[tokio::test]
async fn a_cached_decision_saves_the_second_request() {
    let issuer = Issuer::new();
    let (url, count) = fake_opa(Duration::ZERO).await;
    let opa = OpaPolicy::new(&url, None, None).unwrap();
    let cached = CachedPolicy::new(Arc::new(opa), Duration::from_secs(30));
    let host = host_with_policy(&[&issuer], Arc::new(cached));
    let (good, _) = issuer.sign(PROBE, "good", &[]);
    host.start_actor("good", good.clone(), limits(), 1)
        .await
        .unwrap();
    host.stop_actor("good").await.unwrap();
    host.start_actor("good", good, limits(), 1).await.unwrap();
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "the second start was answered from the cache"
    );
}
