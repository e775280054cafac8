//! F. Hot swap and lifecycle: swaps under load drop nothing, bad updates change nothing, a
//! spinning old instance does not block or survive a swap, and shutdown is bounded.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use caplet_claims::{ActorSpec, KeyKind, KeyPair, generate};
use caplet_host::{DispatchError, Host, HostError, UpdateOptions};
use caplet_wire::contracts::KEY_VALUE;

use crate::common::*;

/// A versioned actor: answers its version; a request of any length makes it spin instead.
fn versioned(version: &str) -> Vec<u8> {
    wapc(
        1,
        version.as_bytes(),
        "",
        &format!(
            "(if (local.get $req_len) (then (loop $spin (br $spin))))
             (call $response (i32.const 0) (i32.const {})) (i32.const 1)",
            version.len()
        ),
    )
}

fn signed(issuer: &Issuer, subject: &KeyPair, module: &[u8], rev: i32) -> Vec<u8> {
    let mut spec = ActorSpec::new("svc");
    spec.rev = Some(rev);
    issuer.sign_spec(module, &spec, subject)
}

async fn deployed(deadline_ms: u64) -> (Issuer, KeyPair, Host) {
    let issuer = Issuer::new();
    let subject = generate(KeyKind::Module);
    let host = issuer.host();
    host.start_actor(
        "svc",
        signed(&issuer, &subject, &versioned("v1"), 1),
        deadline(deadline_ms),
        4,
    )
    .await
    .unwrap();
    (issuer, subject, host)
}

/// F1 (scaled: 8 callers for 2 s, about 500+ calls per second on 2 cores): a v1→v2 swap in
/// the middle drops no call, every answer is whole (v1 or v2), and every call that starts
/// after the swap returns v2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swap_under_load_fails_no_request_and_switches_versions() {
    let _lock = shared().await;
    let (issuer, subject, host) = deployed(2000).await;
    let swapped = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let (host, swapped, stop) = (host.clone(), swapped.clone(), stop.clone());
            tokio::spawn(async move {
                let (mut calls, mut bad) = (0u32, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    let after_swap = swapped.load(Ordering::Acquire);
                    match host.call_actor("svc", "get", b"").await {
                        Ok(v) if v == b"v2" || (v == b"v1" && !after_swap) => calls += 1,
                        other => bad.push(format!("after_swap={after_swap}: {other:?}")),
                    }
                }
                (calls, bad)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let report = host
        .update_actor(
            "svc",
            signed(&issuer, &subject, &versioned("v2"), 2),
            None,
            UpdateOptions::default(),
        )
        .await
        .unwrap();
    swapped.store(true, Ordering::Release);
    assert_eq!(report.new_rev, Some(2));
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for caller in callers {
        let (calls, bad) = caller.await.unwrap();
        assert!(bad.is_empty(), "{bad:?}");
        total += calls;
    }
    eprintln!("F1: {total} calls in 2 s, none failed");
    assert!(total > 200, "only {total} calls");
    // The old version's idle pool was drained; the new one is warm.
    assert!(host.actors()[0].idle_instances >= 1);
}

/// F2: an update whose module fails to instantiate, one with an invalid signature, and one
/// signed by another module key are each refused atomically; v1 keeps serving throughout.
#[tokio::test]
async fn failed_swap_is_atomic_and_v1_keeps_serving() {
    let _lock = shared().await;
    let (issuer, subject, host) = deployed(2000).await;
    // Instantiation fails: initial memory of 128 MiB, over the 64 MiB default limit.
    let too_big = signed(&issuer, &subject, &wapc(2048, b"", "", "(i32.const 1)"), 2);
    let error = host
        .update_actor("svc", too_big, None, UpdateOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, HostError::Start { .. }), "{error:?}");
    // A byte changed after signing.
    let mut tampered = signed(&issuer, &subject, &versioned("v2"), 3);
    let at = tampered.windows(2).position(|w| w == b"v2").unwrap();
    tampered[at + 1] = b'3';
    let error = host
        .update_actor("svc", tampered, None, UpdateOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(error, HostError::Claims { .. }), "{error:?}");
    // Another identity.
    let other = signed(&issuer, &generate(KeyKind::Module), &versioned("v2"), 4);
    let error = host
        .update_actor("svc", other, None, UpdateOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(error, HostError::IdentityChanged { .. }),
        "{error:?}"
    );
    assert_eq!(host.call_actor("svc", "get", b"").await.unwrap(), b"v1");
    assert_eq!(host.actors()[0].revision, Some(1));
}

/// F3: a swap while a v1 instance spins completes at once (it does not wait for the
/// spinner); the spinner is killed by its deadline, and new calls get v2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swap_while_v1_spins_completes_and_the_spinner_dies_at_its_deadline() {
    let _lock = shared().await;
    let (issuer, subject, host) = deployed(500).await;
    let spinning = {
        let host = host.clone();
        tokio::spawn(async move {
            let started = Instant::now();
            let result = host.call_actor("svc", "spin", b"spin").await;
            (result, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = Instant::now();
    host.update_actor(
        "svc",
        signed(&issuer, &subject, &versioned("v2"), 2),
        None,
        UpdateOptions::default(),
    )
    .await
    .unwrap();
    let swap_took = started.elapsed();
    assert!(
        swap_took < Duration::from_millis(450),
        "the swap waited {swap_took:?}"
    );
    assert_eq!(host.call_actor("svc", "get", b"").await.unwrap(), b"v2");
    let (result, elapsed) = spinning.await.unwrap();
    assert!(
        matches!(result, Err(DispatchError::Timeout(_))),
        "{result:?}"
    );
    assert!(elapsed < Duration::from_millis(500) + Duration::from_secs(1));
}

/// F4: a graceful shutdown with 100 calls in flight (80 waiting 300 ms on a provider, 20
/// spinning until their 500 ms deadline) lets every one complete or hit its deadline, abandons
/// none, ends within max deadline + 1 s, then refuses new calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_with_100_calls_in_flight_is_bounded() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    let (probe, _) = issuer.sign(PROBE, "probe", &[KEY_VALUE]);
    host.start_actor("probe", probe, deadline(500), 4)
        .await
        .unwrap();
    let kv = Slow::new(KEY_VALUE, Duration::from_millis(300), Ok(b"v".to_vec()));
    host.add_provider("default", kv.clone()).await.unwrap();
    host.put_link("probe", KEY_VALUE, "default", Default::default())
        .await
        .unwrap();
    let get = Arc::new(host_call("default", KEY_VALUE, "KeyValue.Get", b"k"));
    let calls: Vec<_> = (0..100)
        .map(|i| {
            let (host, get) = (host.clone(), get.clone());
            tokio::spawn(async move {
                if i % 5 == 0 {
                    host.call_actor("probe", "loop", b"").await
                } else {
                    host.call_actor("probe", "host_call", &get).await
                }
            })
        })
        .collect();
    // Let every call start.
    while kv.started() < 80 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let started = Instant::now();
    let abandoned = host.shutdown().await;
    let took = started.elapsed();
    assert_eq!(abandoned, 0);
    assert!(
        took < Duration::from_millis(500) + Duration::from_secs(1),
        "took {took:?}"
    );
    let (mut ok, mut timed_out) = (0, 0);
    for call in calls {
        match call.await.unwrap() {
            Ok(reply) => {
                assert_eq!(reply, b"v");
                ok += 1;
            }
            Err(DispatchError::Timeout(_)) => timed_out += 1,
            Err(other) => panic!("a call failed otherwise: {other:?}"),
        }
    }
    // Every call ended: answered, or cut off at its deadline. How many of the provider-bound
    // calls finish before the deadline depends on the machine's load, so only the sum is fixed.
    assert_eq!(ok + timed_out, 100, "ok {ok}, timed out {timed_out}");
    assert!(
        timed_out >= 20,
        "the 20 spinners must end at their deadline"
    );
    let error = host.call_actor("probe", "echo", b"x").await.unwrap_err();
    assert!(matches!(error, DispatchError::Overloaded(_)), "{error:?}");
}
