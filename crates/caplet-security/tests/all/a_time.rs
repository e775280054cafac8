//! A. CPU and time: spinning, recursing and bulk-copying guests are interrupted at their
//! deadline; guests parked in a host call are cut off and the call future is dropped; a client
//! that goes away takes its guest with it; none of it disturbs other calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use caplet_host::{BreakerConfig, DispatchError, Host, HostConfig};
use caplet_runtime::EngineLimits;
use caplet_wire::contracts::KEY_VALUE;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::common::*;

/// The catalogue's hard ceiling for a 100 ms deadline: "< 500 ms max". Measured on a loaded
/// 2-core machine the interruption lands at 100-115 ms (deadline + one or two 10 ms ticks),
/// so the row's own number leaves ample margin.
const A1_MAX: Duration = Duration::from_millis(500);

/// A1: a `loop {}` guest (the probe's `loop`) and a bare WAT `(loop br 0)` with a 100 ms
/// deadline end in a timeout (504) in under 500 ms, the interrupted instance is discarded, and
/// a control actor called throughout never fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spinning_guest_is_interrupted_at_its_deadline() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    let (probe, _) = issuer.sign(PROBE, "probe", &[]);
    let (wat_spin, _) = issuer.sign(&spinner(), "spin", &[]);
    let (control, _) = issuer.sign(PROBE, "control", &[]);
    host.start_actor("probe", probe, deadline(100), 1)
        .await
        .unwrap();
    host.start_actor("spin", wat_spin, deadline(100), 1)
        .await
        .unwrap();
    host.start_actor("control", control, deadline(2000), 1)
        .await
        .unwrap();

    // Control load while the spinners run.
    let stop = Arc::new(AtomicBool::new(false));
    let control_load = {
        let (host, stop) = (host.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut ok, mut failed) = (0u32, Vec::new());
            while !stop.load(Ordering::Relaxed) {
                match host.call_actor("control", "echo", b"ping").await {
                    Ok(reply) if reply == b"ping" => ok += 1,
                    other => failed.push(format!("{other:?}")),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (ok, failed)
        })
    };

    let mut latencies = Vec::new();
    for round in 0..5 {
        for (actor, operation) in [("probe", "loop"), ("spin", "any")] {
            let started = Instant::now();
            let error = host.call_actor(actor, operation, b"").await.unwrap_err();
            let elapsed = started.elapsed();
            latencies.push(elapsed);
            assert!(
                matches!(error, DispatchError::Timeout(_)),
                "{actor} round {round}: {error:?}"
            );
            assert_eq!(error.http_status(), 504);
            assert!(
                elapsed < A1_MAX,
                "{actor} interrupted after {elapsed:?} (max {A1_MAX:?})"
            );
        }
    }
    // The interrupted instances were discarded, and the next call gets a fresh one.
    for status in host.actors() {
        if &*status.actor.name == "probe" {
            assert_eq!(
                status.idle_instances, 0,
                "a spinning instance is never reused"
            );
        }
    }
    assert_eq!(host.call_actor("probe", "echo", b"x").await.unwrap(), b"x");

    stop.store(true, Ordering::Relaxed);
    let (ok, failed) = control_load.await.unwrap();
    assert!(failed.is_empty(), "control failures: {failed:?}");
    assert!(ok > 10, "the control actor answered only {ok} calls");
    latencies.sort();
    eprintln!("A1: interruptions {latencies:?}, control calls {ok}");
}

/// A1 end to end: over HTTP, a spinning actor answers 5xx by its 100 ms deadline, while a
/// control actor on another address keeps answering 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spinning_http_actor_answers_5xx_and_the_control_keeps_serving() {
    let _lock = shared().await;
    let deployment = Deployment::new();
    deployment.add("spin", &spinner(), &["wasmcloud:httpserver"]);
    deployment.add("control", &http_actor("ok"), &["wasmcloud:httpserver"]);
    let (spin_addr, control_addr) = (free_addr(), free_addr());
    deployment.manifest(&format!(
        "{}{}",
        http_actor_manifest("spin", &spin_addr, 100),
        http_actor_manifest("control", &control_addr, 2000)
    ));
    let running = deployment.launch().await;
    wait_listening(&spin_addr).await;
    wait_listening(&control_addr).await;

    let control = {
        let addr = control_addr.clone();
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..40 {
                statuses.push(get(&addr, "/health").await.0);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            statuses
        })
    };
    for _ in 0..4 {
        let started = Instant::now();
        let (status, text) = get(&spin_addr, "/").await;
        let elapsed = started.elapsed();
        assert!((500..600).contains(&status), "{status}: {text}");
        assert!(elapsed < A1_MAX, "answered after {elapsed:?}");
    }
    let statuses = control.await.unwrap();
    assert!(statuses.iter().all(|s| *s == 200), "control: {statuses:?}");
    running.host.shutdown().await;
}

/// A2: 2 × worker threads spinners at once all end by deadline + 1 s; the tokio workers are
/// never starved (a 5 ms timer is never late by more than 250 ms) and the control actor's
/// calls all succeed meanwhile. Guests yield to the scheduler at every epoch tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_spinners_do_not_starve_the_workers() {
    const WORKERS: usize = 2;
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    let (probe, _) = issuer.sign(PROBE, "probe", &[]);
    let (control, _) = issuer.sign(PROBE, "control", &[]);
    host.start_actor("probe", probe, deadline(300), 1)
        .await
        .unwrap();
    host.start_actor("control", control, deadline(2000), 1)
        .await
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let lateness = Arc::new(AtomicU64::new(0));
    let timer = {
        let (stop, lateness) = (stop.clone(), lateness.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                tokio::time::sleep(Duration::from_millis(5)).await;
                let late = started.elapsed().saturating_sub(Duration::from_millis(5));
                lateness.fetch_max(late.as_micros() as u64, Ordering::Relaxed);
            }
        })
    };
    let control_load = {
        let (host, stop) = (host.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut ok, mut failed) = (0u32, 0u32);
            while !stop.load(Ordering::Relaxed) {
                match host.call_actor("control", "echo", b"c").await {
                    Ok(_) => ok += 1,
                    Err(_) => failed += 1,
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            (ok, failed)
        })
    };

    let started = Instant::now();
    let spinners: Vec<_> = (0..2 * WORKERS)
        .map(|_| {
            let host = host.clone();
            tokio::spawn(async move {
                let error = host.call_actor("probe", "loop", b"").await.unwrap_err();
                (error, started.elapsed())
            })
        })
        .collect();
    for spinner in spinners {
        let (error, ended) = spinner.await.unwrap();
        assert!(matches!(error, DispatchError::Timeout(_)), "{error:?}");
        assert!(
            ended < Duration::from_millis(300) + Duration::from_secs(1),
            "a spinner ended after {ended:?}"
        );
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.store(true, Ordering::Relaxed);
    timer.await.unwrap();
    let (ok, failed) = control_load.await.unwrap();
    let late = Duration::from_micros(lateness.load(Ordering::Relaxed));
    eprintln!("A2: control ok {ok} failed {failed}, worst timer lateness {late:?}");
    assert_eq!(failed, 0, "control calls failed while spinners ran");
    assert!(ok > 10, "the control actor answered only {ok} calls");
    // Guests yield through tokio's `yield_now` at every epoch tick, so the timer driver runs
    // between their slices: about 25 ms late here, against 310–330 ms (a spinner's whole
    // deadline) when they yielded with a bare self-wake.
    assert!(
        late < Duration::from_millis(200),
        "worker starved for {late:?}"
    );
}

/// A3: a recursive call tree without any loop (2^60 calls, 60 deep) is interrupted like A1:
/// epochs are checked at function entry too.
#[tokio::test]
async fn loopless_recursive_call_tree_is_interrupted() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    let tree = wapc(
        1,
        b"",
        r#"(func $tree (param $d i32)
             (if (local.get $d) (then
               (call $tree (i32.sub (local.get $d) (i32.const 1)))
               (call $tree (i32.sub (local.get $d) (i32.const 1))))))"#,
        "(call $tree (i32.const 60)) (i32.const 1)",
    );
    let (tree, _) = issuer.sign(&tree, "tree", &[]);
    host.start_actor("tree", tree, deadline(100), 1)
        .await
        .unwrap();
    let started = Instant::now();
    let error = host.call_actor("tree", "any", b"").await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(error, DispatchError::Timeout(_)), "{error:?}");
    assert!(elapsed < A1_MAX, "interrupted after {elapsed:?}");
}

/// The A4 guest: memory grown to 64 MiB; with a request it fills all of it once and answers;
/// without one it alternates `memory.fill` and `memory.copy` of the whole heap forever.
fn bulk_guest() -> Vec<u8> {
    wapc(
        1,
        b"done",
        "",
        r#"(if (i32.lt_u (memory.size) (i32.const 1024)) (then
             (drop (memory.grow (i32.sub (i32.const 1024) (memory.size))))))
           (if (local.get $req_len) (then
             (memory.fill (i32.const 64) (i32.const 7) (i32.const 67108800))
             (call $response (i32.const 0) (i32.const 4))
             (return (i32.const 1))))
           (loop $bulk
             (memory.fill (i32.const 0) (i32.const 7) (i32.const 67108864))
             (memory.copy (i32.const 0) (i32.const 33554432) (i32.const 33554432))
             (br $bulk))
           (i32.const 1)"#,
    )
}

/// A4: `memory.fill`/`memory.copy` of the whole 64 MiB heap in a tight loop is interrupted by
/// deadline + the time of one such copy (measured here) + scheduling slack. A single bulk
/// instruction is not interruptible, so the bound is one instruction over the deadline.
#[tokio::test]
async fn bulk_memory_loop_is_interrupted_within_one_copy() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    let (bulk, _) = issuer.sign(&bulk_guest(), "bulk", &[]);
    host.start_actor("bulk", bulk, deadline(100), 1)
        .await
        .unwrap();
    // The time of one full fill, on this machine now.
    let started = Instant::now();
    assert_eq!(
        host.call_actor("bulk", "once", b"1").await.unwrap(),
        b"done"
    );
    let one_copy = started.elapsed();

    let started = Instant::now();
    let error = host.call_actor("bulk", "loop", b"").await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(error, DispatchError::Timeout(_)), "{error:?}");
    let bound = Duration::from_millis(100) + 2 * one_copy + Duration::from_millis(400);
    eprintln!("A4: one 64 MiB fill {one_copy:?}, interrupted after {elapsed:?}");
    assert!(
        elapsed < bound,
        "interrupted after {elapsed:?}, bound {bound:?}"
    );
}

/// A5: a guest blocked in a host call whose provider never answers (an hour's sleep, like a
/// blackholed backend) fails at its wall-clock deadline; the provider's future is dropped and
/// the runtime's task count returns to its baseline within 1 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guest_blocked_in_a_host_call_is_cut_off_and_the_future_dropped() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    let (probe, _) = issuer.sign(PROBE, "probe", &[KEY_VALUE]);
    host.start_actor("probe", probe, deadline(200), 1)
        .await
        .unwrap();
    let kv = Slow::new(KEY_VALUE, Duration::from_secs(3600), Ok(Vec::new()));
    host.add_provider("default", kv.clone()).await.unwrap();
    host.put_link("probe", KEY_VALUE, "default", Default::default())
        .await
        .unwrap();

    let metrics = tokio::runtime::Handle::current().metrics();
    let baseline = metrics.num_alive_tasks();
    let payload = host_call("default", KEY_VALUE, "KeyValue.Get", b"key");
    let started = Instant::now();
    let error = host
        .call_actor("probe", "host_call", &payload)
        .await
        .unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(error, DispatchError::Timeout(_)), "{error:?}");
    // Target: deadline ± 100 ms; asserted with slack for a loaded 2-core CI machine.
    assert!(
        elapsed >= Duration::from_millis(190) && elapsed < Duration::from_millis(1500),
        "ended after {elapsed:?}"
    );
    assert_eq!(kv.started(), 1);
    assert_eq!(kv.dropped(), 1, "the host-call future must be dropped");
    let settle = Instant::now();
    while metrics.num_alive_tasks() > baseline && settle.elapsed() < Duration::from_secs(1) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        metrics.num_alive_tasks() <= baseline,
        "tasks leaked: {} alive, baseline {baseline}",
        metrics.num_alive_tasks()
    );
    assert_eq!(
        host.call_actor("probe", "echo", b"ok").await.unwrap(),
        b"ok"
    );
}

/// A6: a client that disconnects while its guest spins takes the guest with it: the call is
/// no longer in flight well before its 3 s deadline, so a graceful shutdown right after has
/// nothing to wait for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_disconnect_aborts_the_guest() {
    let _lock = shared().await;
    let deployment = Deployment::new();
    deployment.add("spin", &spinner(), &["wasmcloud:httpserver"]);
    let addr = free_addr();
    deployment.manifest(&http_actor_manifest("spin", &addr, 3000));
    let running = deployment.launch().await;
    wait_listening(&addr).await;

    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(stream);
    let disconnected = Instant::now();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let abandoned = running.host.shutdown().await;
    let waited = disconnected.elapsed();
    assert_eq!(abandoned, 0);
    assert!(
        waited < Duration::from_secs(1),
        "shutdown waited {waited:?}: the guest kept running after its client left"
    );
}

/// A7: deadlines that fire while the guest is inside a bulk memory op or parked in a host
/// call, over many iterations (10 000 by default, `CAPLET_A7_ITERATIONS` to change): every
/// one ends in a clean timeout, the host never panics or aborts, and it serves afterwards.
/// Regression shape of GHSA-2hw9 and GHSA-xjhv.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_inside_bulk_ops_and_host_calls_end_cleanly() {
    let _lock = shared().await;
    let iterations: usize = std::env::var("CAPLET_A7_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let issuer = Issuer::new();
    // Every call here times out on purpose: keep the circuit breaker (D1) out of the way.
    let host = Host::new(
        runtime(EngineLimits::default()),
        HostConfig {
            issuers: vec![issuer.account.public_key()],
            breaker: BreakerConfig {
                failures: 0,
                ..BreakerConfig::default()
            },
            ..HostConfig::default()
        },
    );
    let (probe, _) = issuer.sign(PROBE, "probe", &[KEY_VALUE]);
    let (bulk, _) = issuer.sign(&bulk_guest(), "bulk", &[]);
    host.start_actor("probe", probe, deadline(10), 1)
        .await
        .unwrap();
    host.start_actor("bulk", bulk, deadline(10), 1)
        .await
        .unwrap();
    let kv = Slow::new(KEY_VALUE, Duration::from_secs(3600), Ok(Vec::new()));
    host.add_provider("default", kv.clone()).await.unwrap();
    host.put_link("probe", KEY_VALUE, "default", Default::default())
        .await
        .unwrap();
    let payload = Arc::new(host_call("default", KEY_VALUE, "KeyValue.Get", b"k"));

    // One bulk-op iteration in 20 (they burn CPU; the host-call ones only wait).
    const CONCURRENCY: usize = 64;
    let started = Instant::now();
    let mut unclean = Vec::new();
    let mut done = 0;
    while done < iterations {
        let batch = CONCURRENCY.min(iterations - done);
        let tasks: Vec<_> = (0..batch)
            .map(|i| {
                let (host, payload) = (host.clone(), payload.clone());
                let bulk = (done + i) % 20 == 0;
                tokio::spawn(async move {
                    if bulk {
                        host.call_actor("bulk", "loop", b"").await
                    } else {
                        host.call_actor("probe", "host_call", &payload).await
                    }
                })
            })
            .collect();
        for task in tasks {
            match task.await {
                Ok(Err(DispatchError::Timeout(_))) => {}
                other => unclean.push(format!("{other:?}")),
            }
        }
        done += batch;
    }
    eprintln!("A7: {iterations} iterations in {:?}", started.elapsed());
    assert!(
        unclean.is_empty(),
        "{} unclean: {:?}",
        unclean.len(),
        &unclean[..unclean.len().min(5)]
    );
    assert_eq!(kv.dropped(), kv.started(), "every host-call future dropped");
    assert_eq!(
        host.call_actor("probe", "echo", b"ok").await.unwrap(),
        b"ok"
    );
}
