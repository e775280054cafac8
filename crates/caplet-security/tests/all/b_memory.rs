//! B. Memory: growth past the limit, oversized initial memory, pool capacity, host-side
//! allocation bombs, table growth, and isolation between instances that reuse a pool slot.

use std::time::{Duration, Instant};

use caplet_host::{DispatchError, HostError};
use caplet_runtime::{CallError, EngineLimits, Limits};
use caplet_wire::contracts::KEY_VALUE;

use crate::common::*;

const MIB: u64 = 1 << 20;

/// B1: a guest allocating 2 × its 16 MiB limit fails that call (500), the host's RSS grows
/// by less than the limit + 10 %, and the next call succeeds.
#[tokio::test]
async fn memory_growth_past_the_limit_fails_the_call_only() {
    let _lock = exclusive().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    let limits = Limits {
        max_memory_bytes: 16 * MIB,
        ..deadline(2000)
    };
    let (probe, _) = issuer.sign(PROBE, "probe", &[]);
    host.start_actor("probe", probe, limits, 1).await.unwrap();
    let before = rss_bytes();
    let error = host
        .call_actor("probe", "alloc", (32 * MIB).to_string().as_bytes())
        .await
        .unwrap_err();
    let grown = rss_bytes().saturating_sub(before);
    assert!(matches!(error, DispatchError::ActorCrashed(_)), "{error:?}");
    assert!(error.to_string().contains("memory limit"), "{error}");
    assert_eq!(error.http_status(), 500);
    assert!(grown < 16 * MIB * 11 / 10, "RSS grew by {grown} bytes");
    assert_eq!(
        host.call_actor("probe", "echo", b"ok").await.unwrap(),
        b"ok"
    );
}

/// B2: a module whose initial memory (32 MiB) exceeds its limit (16 MiB) fails to start with
/// a typed error; nothing crashes and the host goes on.
#[tokio::test]
async fn initial_memory_over_the_limit_is_a_typed_start_error() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    let big = wapc(512, b"", "", "(i32.const 1)");
    let (big, _) = issuer.sign(&big, "big", &[]);
    let limits = Limits {
        max_memory_bytes: 16 * MIB,
        ..deadline(2000)
    };
    let error = host.start_actor("big", big, limits, 1).await.unwrap_err();
    match &error {
        HostError::Start {
            source: CallError::Init { reason, .. },
            ..
        } => assert!(reason.contains("memory"), "{reason}"),
        other => panic!("expected a typed start error, got {other:?}"),
    }
    let (probe, _) = issuer.sign(PROBE, "probe", &[]);
    host.start_actor("probe", probe, deadline(2000), 1)
        .await
        .unwrap();
}

/// B3 (scaled): with 4 pool slots and 16 concurrent calls each holding an instance at its
/// 8 MiB memory limit, the excess is rejected quickly as "capacity" (503), the rest succeed,
/// and host RSS stays within slots × limit + 64 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_exhaustion_is_rejected_fast_as_capacity() {
    let _lock = exclusive().await;
    let issuer = Issuer::new();
    let host = issuer.host_on(EngineLimits {
        max_instances: 4,
        ..EngineLimits::default()
    });
    // Grows to 8 MiB, touches every page, then waits in a key-value host call.
    let holder = wapc(
        1,
        b"defaultwasmcloud:keyvalueGet",
        "",
        r#"(drop (memory.grow (i32.const 127)))
           (memory.fill (i32.const 64) (i32.const 9) (i32.const 8388544))
           (drop (call $host_call (i32.const 0) (i32.const 7) (i32.const 7) (i32.const 18)
                 (i32.const 25) (i32.const 3) (i32.const 0) (i32.const 0)))
           (call $response (i32.const 0) (i32.const 7))
           (i32.const 1)"#,
    );
    let (holder, _) = issuer.sign(&holder, "holder", &[KEY_VALUE]);
    let limits = Limits {
        max_memory_bytes: 8 * MIB,
        ..deadline(3000)
    };
    host.start_actor("holder", holder, limits, 1).await.unwrap();
    let kv = Slow::new(KEY_VALUE, Duration::from_millis(400), Ok(b"v".to_vec()));
    host.add_provider("default", kv.clone()).await.unwrap();
    host.put_link("holder", KEY_VALUE, "default", Default::default())
        .await
        .unwrap();

    let before = rss_bytes();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let host = host.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                let result = host.call_actor("holder", "hold", b"").await;
                (result, started.elapsed())
            })
        })
        .collect();
    let (mut ok, mut rejected) = (0, 0);
    for task in tasks {
        let (result, elapsed) = task.await.unwrap();
        match result {
            Ok(reply) => {
                assert_eq!(reply, b"default");
                ok += 1;
            }
            Err(error) => {
                assert!(matches!(error, DispatchError::Overloaded(_)), "{error:?}");
                assert_eq!(error.http_status(), 503);
                assert!(error.to_string().contains("capacity"), "{error}");
                assert!(
                    elapsed < Duration::from_millis(300),
                    "rejected after {elapsed:?}"
                );
                rejected += 1;
            }
        }
    }
    let grown = rss_bytes().saturating_sub(before);
    eprintln!(
        "B3: {ok} served, {rejected} rejected, RSS +{} MiB",
        grown / MIB
    );
    assert!(ok >= 1 && rejected >= 1, "ok {ok}, rejected {rejected}");
    assert!(grown < 4 * 8 * MIB + 64 * MIB, "RSS grew by {grown} bytes");
}

/// B4: host-side allocation bombs are refused at their limit: an oversized host-call
/// argument (nothing forwarded), an oversized provider answer, an oversized guest response,
/// an oversized console line (truncated) and 100 000 request headers over HTTP. Host RSS
/// grows by less than 64 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_side_allocation_bombs_are_refused_at_their_limits() {
    let _lock = exclusive().await;
    let before = rss_bytes();
    let issuer = Issuer::new();
    let host = issuer.host();
    let limits = Limits {
        max_host_call_bytes: 64 << 10,
        max_payload_bytes: 1 << 20,
        ..deadline(2000)
    };
    let (probe, _) = issuer.sign(PROBE, "probe", &[KEY_VALUE]);
    host.start_actor("probe", probe, limits, 1).await.unwrap();
    let kv = Slow::new(KEY_VALUE, Duration::ZERO, Ok(vec![0u8; 256 << 10]));
    host.add_provider("default", kv.clone()).await.unwrap();
    host.put_link("probe", KEY_VALUE, "default", Default::default())
        .await
        .unwrap();

    // A host-call argument over max_host_call_bytes never reaches the provider.
    let huge = host_call("default", KEY_VALUE, "KeyValue.Set", &vec![b'x'; 128 << 10]);
    let error = host
        .call_actor("probe", "host_call", &huge)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("limit"), "{error}");
    assert_eq!(
        kv.started(),
        0,
        "an oversized host call must not be forwarded"
    );

    // A provider answer over the limit is refused too (the 1 GiB KV value, scaled).
    let small = host_call("default", KEY_VALUE, "KeyValue.Get", b"k");
    let error = host
        .call_actor("probe", "host_call", &small)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("limit"), "{error}");

    // A guest response over max_payload_bytes (the 10 GiB body, scaled) fails the call.
    let (big_answer, _) = issuer.sign(
        &wapc(
            32,
            b"",
            "",
            "(call $response (i32.const 0) (i32.const 2000000)) (i32.const 1)",
        ),
        "big-answer",
        &[],
    );
    host.start_actor("big-answer", big_answer, limits, 1)
        .await
        .unwrap();
    let error = host.call_actor("big-answer", "x", b"").await.unwrap_err();
    assert!(matches!(error, DispatchError::ActorCrashed(_)), "{error:?}");

    // A 1 MiB console line is truncated, and the call goes on.
    let reply = host
        .call_actor("probe", "log", &vec![b'y'; 1 << 20])
        .await
        .unwrap();
    assert!(reply.is_empty());

    // 100 000 headers: the HTTP server refuses the request; the host keeps serving.
    let deployment = Deployment::new();
    deployment.add("control", &http_actor("ok"), &["wasmcloud:httpserver"]);
    let addr = free_addr();
    deployment.manifest(&http_actor_manifest("control", &addr, 2000));
    let running = deployment.launch().await;
    wait_listening(&addr).await;
    let mut request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\n").into_bytes();
    for i in 0..100_000 {
        request.extend_from_slice(format!("x-h{i}: v\r\n").as_bytes());
    }
    request.extend_from_slice(b"Connection: close\r\n\r\n");
    let (status, _) = raw_request(&addr, &request).await;
    assert!(
        status == 0 || status == 431 || status == 400,
        "status {status}"
    );
    assert_eq!(get(&addr, "/").await.0, 200);
    running.host.shutdown().await;

    let grown = rss_bytes().saturating_sub(before);
    eprintln!("B4: RSS +{} MiB", grown / MIB);
    assert!(grown < 64 * MIB, "RSS grew by {grown} bytes");
}

/// B5: `table.grow` by 10⁹ elements is refused (-1 to the guest), without a panic.
#[tokio::test]
async fn table_growth_bomb_is_refused() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    let grower = wapc(
        1,
        b"refusedgranted",
        "(table 1 funcref)",
        r#"(if (i32.eq (table.grow (ref.null func) (i32.const 1000000000)) (i32.const -1))
             (then (call $response (i32.const 0) (i32.const 7)))
             (else (call $response (i32.const 7) (i32.const 7))))
           (i32.const 1)"#,
    );
    let (grower, _) = issuer.sign(&grower, "grower", &[]);
    host.start_actor("grower", grower, deadline(2000), 1)
        .await
        .unwrap();
    assert_eq!(
        host.call_actor("grower", "grow", b"").await.unwrap(),
        b"refused"
    );
}

/// B6: an instance fills its 4 MiB of memory with a secret pattern and traps; the next
/// instance in the same (single) pool slot scans all of its memory and finds only zeros.
/// The wasm stack is zeroed by `async_stack_zeroing` (engine.rs), which wasm cannot read.
#[tokio::test]
async fn reused_pool_slot_never_shows_the_previous_instance_memory() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host_on(EngineLimits {
        max_instances: 1,
        ..EngineLimits::default()
    });
    // With a request: write 0xA5 over memory[16..4 MiB] and trap. Without: scan memory[16..]
    // for any non-zero byte and answer "clean" or "dirty".
    let module = wapc(
        1,
        b"cleandirty",
        "",
        r#"(drop (memory.grow (i32.const 63)))
           (if (local.get $req_len) (then
             (memory.fill (i32.const 16) (i32.const 0xA5) (i32.const 4194288))
             (unreachable)))
           (local.set $i (i32.const 16))
           (block $found
             (loop $scan
               (br_if $found (i32.load8_u (local.get $i)))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $scan (i32.lt_u (local.get $i) (i32.const 4194304))))
             (call $response (i32.const 0) (i32.const 5))
             (return (i32.const 1)))
           (call $response (i32.const 5) (i32.const 5))
           (i32.const 1)"#,
    );
    let (module, _) = issuer.sign(&module, "tenant", &[]);
    host.start_actor("tenant", module, deadline(2000), 1)
        .await
        .unwrap();
    for round in 0..3 {
        let error = host
            .call_actor("tenant", "write", b"secret")
            .await
            .unwrap_err();
        assert!(matches!(error, DispatchError::ActorCrashed(_)), "{error:?}");
        let scan = host.call_actor("tenant", "scan", b"").await.unwrap();
        assert_eq!(
            scan, b"clean",
            "round {round}: the previous instance's bytes leaked"
        );
        // The clean scanner went back to the pool; trap it away so the writer gets the slot.
        let _ = host.call_actor("tenant", "write", b"again").await;
    }
}
