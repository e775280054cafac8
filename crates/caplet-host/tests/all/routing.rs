//! Routing beyond the checks: actor-to-actor calls by public key and call alias, the call-depth
//! limit that ends an A→B→A loop (hostile-guests.md C2), provider errors reaching the guest, and
//! a removed provider turning into "unavailable" while everything else keeps serving.

use caplet_claims::{ActorSpec, KeyKind, generate, sign};
use caplet_host::{DispatchError, ProviderError};
use caplet_wire::contracts::KEY_VALUE;

use crate::common::*;

/// A calls B by public key; B's answer comes back to A's caller.
#[tokio::test]
async fn actor_calls_actor_by_public_key_and_alias() {
    let issuer = Issuer::new();
    let host = issuer.host();
    let (a, _) = issuer.sign(PROBE, "a", &[]);
    let subject = generate(KeyKind::Module);
    let mut spec = ActorSpec::new("b");
    spec.call_alias = Some("team/b".into());
    let b = sign(PROBE, &spec, &issuer.account, &subject)
        .unwrap()
        .module;
    host.start_actor("a", a, limits(), 1).await.unwrap();
    host.start_actor("b", b, limits(), 1).await.unwrap();

    let by_key = host_call("default", &subject.public_key(), "echo", b"ping");
    assert_eq!(
        host.call_actor("a", "host_call", &by_key).await.unwrap(),
        b"ping"
    );
    let by_alias = host_call("default", "team/b", "echo", b"pong");
    assert_eq!(
        host.call_actor("a", "host_call", &by_alias).await.unwrap(),
        b"pong"
    );

    // A guest error in B reaches A as a host error, and A reports it.
    let failing = host_call("default", "team/b", "fail", b"");
    let error = host
        .call_actor("a", "host_call", &failing)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("host call failed"), "{error}");
}

/// A → B → A → ... ends at the depth limit with the chain named, and the host keeps serving.
#[tokio::test]
async fn call_loop_between_two_actors_ends_at_the_depth_limit() {
    let issuer = Issuer::new();
    let host = issuer.host();
    let (a, a_key) = issuer.sign(PROBE, "a", &[]);
    let (b, b_key) = issuer.sign(PROBE, "b", &[]);
    host.start_actor("a", a, limits(), 1).await.unwrap();
    host.start_actor("b", b, limits(), 1).await.unwrap();

    // Nest host_call payloads 20 deep, alternating targets: far past the limit of 8.
    let mut payload = b"bottom".to_vec();
    for depth in 0..20 {
        let target = if depth % 2 == 0 { &a_key } else { &b_key };
        payload = host_call("default", target, "host_call", &payload);
    }
    let error = host
        .call_actor("a", "host_call", &payload)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("call depth limit of 8 exceeded"),
        "{message}"
    );
    assert!(message.contains("a → b → a → b"), "{message}");
    assert!(matches!(error, DispatchError::ActorFailed(_)), "{error:?}");
    assert_eq!(
        host.call_actor("a", "echo", b"still").await.unwrap(),
        b"still"
    );
}

/// A provider's error text reaches the guest, prefixed by the contract.
#[tokio::test]
async fn provider_errors_reach_the_guest() {
    let issuer = Issuer::new();
    let host = issuer.host();
    let (module, _) = issuer.sign(PROBE, "kv", &[KEY_VALUE]);
    host.start_actor("kv", module, limits(), 1).await.unwrap();
    let kv = Recorder::new(
        KEY_VALUE,
        Err(ProviderError::BadRequest("no such thing".into())),
    );
    host.add_provider("default", kv).await.unwrap();
    host.put_link("kv", KEY_VALUE, "default", Default::default())
        .await
        .unwrap();
    let payload = host_call("default", KEY_VALUE, "KeyValue.Get", b"k");
    let error = host
        .call_actor("kv", "host_call", &payload)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        DispatchError::ActorFailed(
            "host call failed: wasmcloud:keyvalue: bad request: no such thing".into()
        )
    );
}

/// Removing a provider makes its capability unavailable (503) for linked actors only; adding
/// one back restores it without touching the actor.
#[tokio::test]
async fn removed_provider_is_unavailable_and_can_be_replaced() {
    let issuer = Issuer::new();
    let host = issuer.host();
    let (module, _) = issuer.sign(PROBE, "kv", &[KEY_VALUE]);
    host.start_actor("kv", module, limits(), 1).await.unwrap();
    let first = Recorder::new(KEY_VALUE, Ok(b"one".to_vec()));
    host.add_provider("default", first.clone()).await.unwrap();
    host.put_link("kv", KEY_VALUE, "default", Default::default())
        .await
        .unwrap();
    assert_eq!(first.bound.lock().unwrap().len(), 1);
    let payload = host_call("default", KEY_VALUE, "KeyValue.Get", b"k");
    assert_eq!(
        host.call_actor("kv", "host_call", &payload).await.unwrap(),
        b"one"
    );

    host.remove_provider(KEY_VALUE, "default").await.unwrap();
    assert!(*first.shut_down.lock().unwrap());
    let error = host
        .call_actor("kv", "host_call", &payload)
        .await
        .unwrap_err();
    assert_eq!(error.http_status(), 503, "{error:?}");
    assert!(error.to_string().contains("no provider"), "{error}");
    assert_eq!(host.call_actor("kv", "echo", b"ok").await.unwrap(), b"ok");
    let health = host.health().await;
    assert!(!health.is_healthy());
    assert_eq!(health.unserved_links.len(), 1);

    let second = Recorder::new(KEY_VALUE, Ok(b"two".to_vec()));
    host.add_provider("default", second.clone()).await.unwrap();
    assert_eq!(
        second.bound.lock().unwrap().len(),
        1,
        "waiting links bind on add"
    );
    assert_eq!(
        host.call_actor("kv", "host_call", &payload).await.unwrap(),
        b"two"
    );
    assert!(host.health().await.is_healthy());
}
