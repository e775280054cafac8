//! Hot swap: an update is verified, compiled and warmed before it becomes current; calls in
//! flight finish on the version they started on; a bad update changes nothing
//! (hostile-guests.md F2). Versions are tiny WAT waPC modules that answer their version after
//! one host call, so a slow provider can hold a call in flight across the swap.

use std::sync::Arc;
use std::time::Duration;

use caplet_claims::{ActorSpec, KeyKind, KeyPair, generate, sign};
use caplet_host::{
    ActorRef, BoxFuture, HostError, LinkDefinition, Provider, ProviderCall, ProviderError,
    UpdateOptions,
};
use caplet_wire::contracts::KEY_VALUE;

use crate::common::*;

/// A waPC module that makes one key-value host call, then answers `version`.
fn versioned(version: &str) -> Vec<u8> {
    let ns = KEY_VALUE;
    wat::parse_str(format!(
        r#"(module
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__guest_response" (func $response (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "default")
  (data (i32.const 16) "{ns}")
  (data (i32.const 64) "slow")
  (data (i32.const 96) "{version}")
  (func (export "__guest_call") (param i32 i32) (result i32)
    (drop (call $host_call (i32.const 0) (i32.const 7) (i32.const 16) (i32.const {ns_len})
                           (i32.const 64) (i32.const 4) (i32.const 0) (i32.const 0)))
    (call $response (i32.const 96) (i32.const {v_len}))
    (i32.const 1)))"#,
        ns_len = ns.len(),
        v_len = version.len(),
    ))
    .unwrap()
}

fn signed(issuer: &Issuer, subject: &KeyPair, version: &str, rev: i32) -> Vec<u8> {
    let mut spec = ActorSpec::new("swappy");
    spec.caps = vec![KEY_VALUE.to_string()];
    spec.rev = Some(rev);
    sign(&versioned(version), &spec, &issuer.account, subject)
        .unwrap()
        .module
}

/// Answers every call after `delay`.
struct Delay(Duration);

impl Provider for Delay {
    fn contract_id(&self) -> &str {
        KEY_VALUE
    }
    fn implementation(&self) -> &str {
        "delay"
    }
    fn bind(&self, _: LinkDefinition) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(async { Ok(()) })
    }
    fn unbind<'a>(&'a self, _: &'a ActorRef, _: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    fn handle<'a>(&'a self, _: ProviderCall<'a>) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>> {
        let delay = self.0;
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            Ok(Vec::new())
        })
    }
    fn health(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

async fn deployed(delay: Duration) -> (Issuer, KeyPair, caplet_host::Host) {
    let issuer = Issuer::new();
    let subject = generate(KeyKind::Module);
    let host = issuer.host();
    host.start_actor("swappy", signed(&issuer, &subject, "v1", 1), limits(), 2)
        .await
        .unwrap();
    host.add_provider("default", Arc::new(Delay(delay)))
        .await
        .unwrap();
    host.put_link("swappy", KEY_VALUE, "default", Default::default())
        .await
        .unwrap();
    (issuer, subject, host)
}

#[tokio::test]
async fn in_flight_calls_finish_on_the_old_version_and_new_calls_take_the_new() {
    let (issuer, subject, host) = deployed(Duration::from_millis(300)).await;
    assert_eq!(host.call_actor("swappy", "any", b"").await.unwrap(), b"v1");

    let in_flight = {
        let host = host.clone();
        tokio::spawn(async move { host.call_actor("swappy", "any", b"").await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let report = host
        .update_actor(
            "swappy",
            signed(&issuer, &subject, "v2", 2),
            None,
            UpdateOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!((report.old_rev, report.new_rev), (Some(1), Some(2)));
    assert_ne!(report.old_hash, report.new_hash);
    assert_eq!(host.call_actor("swappy", "any", b"").await.unwrap(), b"v2");
    assert_eq!(
        in_flight.await.unwrap().unwrap(),
        b"v1",
        "in-flight call finished on v1"
    );
    assert_eq!(host.actors()[0].revision, Some(2));
}

#[tokio::test]
async fn updates_that_fail_verification_change_nothing() {
    let (issuer, _, host) = deployed(Duration::ZERO).await;
    let options = UpdateOptions::default();

    // Another module key: refused.
    let stranger = generate(KeyKind::Module);
    let error = host
        .update_actor("swappy", signed(&issuer, &stranger, "v2", 2), None, options)
        .await
        .unwrap_err();
    assert!(
        matches!(error, HostError::IdentityChanged { .. }),
        "{error}"
    );

    // Tampered bytes: the hash no longer matches.
    let subject_of_running = host.actors()[0].actor.id.to_string();
    let mut tampered = signed(&issuer, &generate(KeyKind::Module), "v2", 2);
    let last = tampered.len() / 3;
    tampered[last] ^= 0xff;
    assert!(
        host.update_actor("swappy", tampered, None, options)
            .await
            .is_err()
    );

    // Unsigned: refused.
    let error = host
        .update_actor("swappy", versioned("v9"), None, options)
        .await
        .unwrap_err();
    assert!(matches!(error, HostError::Unsigned { .. }), "{error}");

    assert_eq!(host.call_actor("swappy", "any", b"").await.unwrap(), b"v1");
    assert_eq!(host.actors()[0].actor.id.to_string(), subject_of_running);
}

#[tokio::test]
async fn rev_must_increase_unless_forced() {
    let (issuer, subject, host) = deployed(Duration::ZERO).await;
    let error = host
        .update_actor(
            "swappy",
            signed(&issuer, &subject, "v1b", 1),
            None,
            UpdateOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, HostError::RevisionNotHigher { .. }),
        "{error}"
    );
    assert_eq!(host.call_actor("swappy", "any", b"").await.unwrap(), b"v1");
    host.update_actor(
        "swappy",
        signed(&issuer, &subject, "v1b", 1),
        None,
        UpdateOptions {
            allow_same_or_lower_rev: true,
            ..UpdateOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(host.call_actor("swappy", "any", b"").await.unwrap(), b"v1b");
}

/// A version whose start-up traps is refused at warm-up; the old one keeps serving.
#[tokio::test]
async fn update_whose_init_traps_is_rejected() {
    let (issuer, subject, host) = deployed(Duration::ZERO).await;
    let broken = wat::parse_str(
        r#"(module
  (memory (export "memory") 1)
  (func (export "wapc_init") unreachable)
  (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))"#,
    )
    .unwrap();
    let mut spec = ActorSpec::new("swappy");
    spec.rev = Some(5);
    let broken = sign(&broken, &spec, &issuer.account, &subject)
        .unwrap()
        .module;
    let error = host
        .update_actor("swappy", broken, None, UpdateOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, HostError::Start { .. }), "{error}");
    assert_eq!(host.call_actor("swappy", "any", b"").await.unwrap(), b"v1");
}

/// Another module key is refused by default, with an error naming both keys and the flag.
#[tokio::test]
async fn new_identity_is_refused_without_the_flag() {
    let (issuer, subject, host) = deployed(Duration::ZERO).await;
    let stranger = generate(KeyKind::Module);
    let error = host
        .update_actor(
            "swappy",
            signed(&issuer, &stranger, "v2", 2),
            None,
            UpdateOptions::default(),
        )
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, HostError::IdentityChanged { .. }), "{text}");
    assert!(text.contains(&stranger.public_key()), "{text}");
    assert!(text.contains(&subject.public_key()), "{text}");
    assert!(text.contains("--force-new-identity"), "{text}");
    assert_eq!(host.call_actor("swappy", "any", b"").await.unwrap(), b"v1");
    assert_eq!(&*host.actors()[0].actor.id, subject.public_key());
}

/// With `force_new_identity` the actor is re-keyed: the table, the links and the providers'
/// bindings follow the new public key, the old key no longer resolves, and an actor-to-actor
/// call by the new key reaches the new version.
#[tokio::test]
async fn forced_new_identity_moves_table_links_and_bindings() {
    let issuer = Issuer::new();
    let subject = generate(KeyKind::Module);
    let host = issuer.host();
    let kv = Recorder::new(KEY_VALUE, Ok(Vec::new()));
    host.add_provider("default", kv.clone()).await.unwrap();
    host.start_actor("swappy", signed(&issuer, &subject, "v1", 1), limits(), 2)
        .await
        .unwrap();
    host.put_link("swappy", KEY_VALUE, "default", Default::default())
        .await
        .unwrap();
    let (caller, _) = issuer.sign(PROBE, "caller", &[]);
    host.start_actor("caller", caller, limits(), 1)
        .await
        .unwrap();
    let old_key = subject.public_key();
    let via = |key: &str| host_call("", key, "any", b"");
    assert_eq!(
        host.call_actor("caller", "host_call", &via(&old_key))
            .await
            .unwrap(),
        b"v1"
    );

    let stranger = generate(KeyKind::Module);
    let new_key = stranger.public_key();
    let report = host
        .update_actor(
            "swappy",
            signed(&issuer, &stranger, "v2", 2),
            None,
            UpdateOptions {
                force_new_identity: true,
                ..UpdateOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (report.old_id.as_str(), report.new_id.as_str()),
        (old_key.as_str(), new_key.as_str())
    );
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);

    // The table: by name and by the new key; the old key is gone.
    assert_eq!(host.call_actor("swappy", "any", b"").await.unwrap(), b"v2");
    assert_eq!(host.call_actor(&new_key, "any", b"").await.unwrap(), b"v2");
    assert!(host.call_actor(&old_key, "any", b"").await.is_err());
    let status = host
        .actors()
        .into_iter()
        .find(|a| &*a.actor.name == "swappy")
        .unwrap();
    assert_eq!(&*status.actor.id, new_key);

    // Actor-to-actor routing by public key follows the new key.
    assert_eq!(
        host.call_actor("caller", "host_call", &via(&new_key))
            .await
            .unwrap(),
        b"v2"
    );
    let error = host
        .call_actor("caller", "host_call", &via(&old_key))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("missing capability claim"),
        "{error}"
    );

    // Links are keyed by the new key, and the provider's binding moved.
    let links = host.links();
    assert_eq!(links.len(), 1);
    assert_eq!(&*links[0].actor.id, new_key);
    let bound: Vec<String> = kv
        .bound
        .lock()
        .unwrap()
        .iter()
        .map(|l| l.actor.id.to_string())
        .collect();
    assert_eq!(bound, vec![new_key.clone()]);
    // The new version's host call passes the link check under its new key.
    let before = kv.calls().len();
    host.call_actor("swappy", "any", b"").await.unwrap();
    assert_eq!(
        kv.calls().len(),
        before + 1,
        "the key-value call reached the provider"
    );

    // Metrics stay with the name: one series, one swap counted.
    let metrics = host.metrics_text().await;
    assert!(
        metrics.contains("caplet_actor_swaps_total{actor=\"swappy\"} 1"),
        "{metrics}"
    );

    // A later update must use the new key (the old one is now a stranger).
    let error = host
        .update_actor(
            "swappy",
            signed(&issuer, &subject, "v3", 3),
            None,
            UpdateOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, HostError::IdentityChanged { .. }),
        "{error}"
    );
    host.update_actor(
        "swappy",
        signed(&issuer, &stranger, "v3", 3),
        None,
        UpdateOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(host.call_actor(&new_key, "any", b"").await.unwrap(), b"v3");
}

/// A new identity that another running actor already has is refused; nothing changes.
#[tokio::test]
async fn forced_new_identity_cannot_take_another_actors_key() {
    let (issuer, subject, host) = deployed(Duration::ZERO).await;
    let other = generate(KeyKind::Module);
    let mut spec = ActorSpec::new("other");
    spec.rev = Some(1);
    let module = sign(&versioned("o1"), &spec, &issuer.account, &other)
        .unwrap()
        .module;
    host.start_actor("other", module, limits(), 1)
        .await
        .unwrap();
    let error = host
        .update_actor(
            "swappy",
            signed(&issuer, &other, "v2", 2),
            None,
            UpdateOptions {
                force_new_identity: true,
                ..UpdateOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("already running as `other`"),
        "{error}"
    );
    assert_eq!(host.call_actor("swappy", "any", b"").await.unwrap(), b"v1");
    assert_eq!(
        host.call_actor(&subject.public_key(), "any", b"")
            .await
            .unwrap(),
        b"v1"
    );
    assert_eq!(
        host.call_actor(&other.public_key(), "any", b"")
            .await
            .unwrap(),
        b"o1"
    );
}
