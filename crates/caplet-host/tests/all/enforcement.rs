//! Deny by default: an actor reaches a provider only when its signed claims list the contract
//! AND a link binds it; unsigned or untrusted modules never load. A refused call must not touch
//! the provider at all, and the guest must learn why.

use caplet_host::{DispatchError, HostConfig, HostError};
use caplet_wire::contracts::{HTTP_SERVER, KEY_VALUE, NUMBERGEN};

use crate::common::*;

/// A call to a contract missing from the claims is refused with the reason; no provider call.
#[tokio::test]
async fn call_without_capability_claim_is_refused_before_the_provider() {
    let issuer = Issuer::new();
    let host = issuer.host();
    let (module, _) = issuer.sign(PROBE, "no-kv", &[HTTP_SERVER]);
    host.start_actor("no-kv", module, limits(), 1)
        .await
        .unwrap();
    let kv = Recorder::new(KEY_VALUE, Ok(b"unused".to_vec()));
    host.add_provider("default", kv.clone()).await.unwrap();

    let payload = host_call("default", KEY_VALUE, "KeyValue.Get", b"k");
    let error = host
        .call_actor("no-kv", "host_call", &payload)
        .await
        .unwrap_err();
    let DispatchError::ActorFailed(message) = &error else {
        panic!("expected the actor's error, got {error:?}");
    };
    assert!(
        message.contains("missing capability claim for wasmcloud:keyvalue"),
        "{message}"
    );
    assert!(message.contains("wasmcloud:httpserver"), "{message}");
    assert!(kv.calls().is_empty(), "the provider must not be contacted");

    // A link cannot be made for a contract the claims lack, either.
    let refused = host
        .put_link("no-kv", KEY_VALUE, "default", Default::default())
        .await
        .unwrap_err();
    assert!(
        matches!(refused, HostError::MissingCapability { .. }),
        "{refused}"
    );
}

/// The claim alone is not enough: without a link the call is refused as unavailable (503).
#[tokio::test]
async fn call_with_claim_but_no_link_is_refused_as_unavailable() {
    let issuer = Issuer::new();
    let host = issuer.host();
    let (module, _) = issuer.sign(PROBE, "kv-user", &[KEY_VALUE]);
    host.start_actor("kv-user", module, limits(), 1)
        .await
        .unwrap();
    let kv = Recorder::new(KEY_VALUE, Ok(b"unused".to_vec()));
    host.add_provider("default", kv.clone()).await.unwrap();

    let payload = host_call("default", KEY_VALUE, "KeyValue.Get", b"k");
    let error = host
        .call_actor("kv-user", "host_call", &payload)
        .await
        .unwrap_err();
    let DispatchError::CapabilityUnavailable(message) = &error else {
        panic!("expected unavailable, got {error:?}");
    };
    assert!(
        message.contains("missing link definition for wasmcloud:keyvalue"),
        "{message}"
    );
    assert_eq!(error.http_status(), 503);
    assert!(kv.calls().is_empty());

    // With the link, the same call goes through to the provider.
    host.put_link("kv-user", KEY_VALUE, "default", Default::default())
        .await
        .unwrap();
    let reply = host
        .call_actor("kv-user", "host_call", &payload)
        .await
        .unwrap();
    assert_eq!(reply, b"unused");
    let calls = kv.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].operation, "KeyValue.Get");
    assert_eq!(calls[0].payload, b"k");
    assert_eq!(calls[0].actor, "kv-user");
    assert_eq!(calls[0].link_name, "default");
}

/// Legacy `wascc:` namespaces are the same capability as their `wasmcloud:` names.
#[tokio::test]
async fn legacy_contract_names_reach_the_same_provider() {
    let issuer = Issuer::new();
    let host = issuer.host();
    let (module, _) = issuer.sign(PROBE, "old", &["wascc:keyvalue"]);
    host.start_actor("old", module, limits(), 1).await.unwrap();
    let kv = Recorder::new(KEY_VALUE, Ok(b"v".to_vec()));
    host.add_provider("default", kv.clone()).await.unwrap();
    // A blank link name means `default`, as in waSCC and wasmCloud.
    host.put_link("old", "wascc:keyvalue", "", Default::default())
        .await
        .unwrap();
    assert_eq!(host.links()[0].link_name, "default");
    assert_eq!(host.links()[0].contract_id, KEY_VALUE);
    let payload = host_call("", "wascc:keyvalue", "Get", b"k");
    assert_eq!(
        host.call_actor("old", "host_call", &payload).await.unwrap(),
        b"v"
    );
}

/// Unsigned modules are refused unless development mode is on.
#[tokio::test]
async fn unsigned_actor_is_refused_unless_allowed() {
    let issuer = Issuer::new();
    let host = issuer.host();
    let error = host
        .start_actor("raw", PROBE.to_vec(), limits(), 1)
        .await
        .unwrap_err();
    assert!(matches!(error, HostError::Unsigned { .. }), "{error}");
    assert!(error.to_string().contains("--allow-unsigned"), "{error}");

    let dev = issuer.host_with(HostConfig {
        allow_unsigned: true,
        ..HostConfig::default()
    });
    let actor = dev
        .start_actor("raw", PROBE.to_vec(), limits(), 1)
        .await
        .unwrap();
    assert_eq!(&*actor.id, "unsigned:raw");
    assert_eq!(dev.call_actor("raw", "echo", b"hi").await.unwrap(), b"hi");
}

/// A module signed by an account outside the allow-list is refused with the reason.
#[tokio::test]
async fn untrusted_issuer_is_refused() {
    let trusted = Issuer::new();
    let stranger = Issuer::new();
    let host = trusted.host();
    let (module, _) = stranger.sign(PROBE, "stranger", &[]);
    let error = host
        .start_actor("stranger", module, limits(), 1)
        .await
        .unwrap_err();
    assert!(matches!(error, HostError::Claims { .. }), "{error}");
    assert!(error.to_string().contains("not"), "{error}");
    assert!(host.call_actor("stranger", "echo", b"").await.is_err());
}

/// The built-in number generator needs the claim, but no link.
#[tokio::test]
async fn builtin_numbergen_needs_only_the_claim() {
    let issuer = Issuer::new();
    let host = issuer.host();
    let (module, _) = issuer.sign(PROBE, "dice", &[NUMBERGEN]);
    host.start_actor("dice", module, limits(), 1).await.unwrap();
    let payload = host_call("default", NUMBERGEN, "NumberGen.GenerateGuid", b"");
    let reply = host
        .call_actor("dice", "host_call", &payload)
        .await
        .unwrap();
    let guid: String = caplet_wire::decode(&reply).unwrap();
    assert_eq!(guid.len(), 36, "{guid}");

    let (module, _) = issuer.sign(PROBE, "no-dice", &[]);
    host.start_actor("no-dice", module, limits(), 1)
        .await
        .unwrap();
    let error = host
        .call_actor("no-dice", "host_call", &payload)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("missing capability claim"),
        "{error}"
    );
}
