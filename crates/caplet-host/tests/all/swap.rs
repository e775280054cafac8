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
    fn handle(&self, _: ProviderCall) -> BoxFuture<'_, Result<Vec<u8>, ProviderError>> {
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
