//! C. Stack and recursion: wasm recursion traps as a stack overflow, actor call loops end at
//! the call-depth limit, and host functions keep stack headroom under a deep wasm stack.

use caplet_host::{DEFAULT_MAX_CALL_DEPTH, DispatchError};
use caplet_wire::contracts::KEY_VALUE;

use crate::common::*;

/// C1: infinite wasm recursion is a stack-overflow error (500); the process survives and
/// the actor serves the next call.
#[tokio::test]
async fn infinite_recursion_is_a_stack_overflow_and_the_host_survives() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    let (probe, _) = issuer.sign(PROBE, "probe", &[]);
    host.start_actor("probe", probe, deadline(2000), 1)
        .await
        .unwrap();
    for _ in 0..3 {
        let error = host.call_actor("probe", "recurse", b"").await.unwrap_err();
        assert!(matches!(error, DispatchError::ActorCrashed(_)), "{error:?}");
        assert!(
            error.to_string().contains("overflowed its stack"),
            "{error}"
        );
    }
    assert_eq!(
        host.call_actor("probe", "echo", b"ok").await.unwrap(),
        b"ok"
    );
}

/// C2: actor A calls B calls A … through the host; the chain is refused at the configured
/// depth (DEFAULT_MAX_CALL_DEPTH) with an error naming the chain, and no host stack overflows.
#[tokio::test]
async fn actor_call_loop_is_refused_at_the_depth_limit() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    let (a, a_key) = issuer.sign(PROBE, "a", &[]);
    let (b, b_key) = issuer.sign(PROBE, "b", &[]);
    host.start_actor("a", a, deadline(5000), 1).await.unwrap();
    host.start_actor("b", b, deadline(5000), 1).await.unwrap();
    let mut payload = b"bottom".to_vec();
    for depth in 0..64 {
        let target = if depth % 2 == 0 { &a_key } else { &b_key };
        payload = host_call("default", target, "host_call", &payload);
    }
    let error = host
        .call_actor("a", "host_call", &payload)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&format!(
            "call depth limit of {DEFAULT_MAX_CALL_DEPTH} exceeded"
        )),
        "{message}"
    );
    assert!(message.contains("a → b → a"), "{message}");
    assert_eq!(host.call_actor("b", "echo", b"ok").await.unwrap(), b"ok");
}

/// C3: a guest recurses deep (as deep as its wasm stack allows, trying ever deeper) and then
/// makes host calls (`__console_log` and a provider call): each attempt either completes or
/// is a typed stack overflow; the host never aborts, because host functions run with
/// `ASYNC_STACK_BYTES` of headroom beyond `max_wasm_stack`.
#[tokio::test]
async fn deep_recursion_then_host_call_never_aborts() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    // The request is the recursion depth as a little-endian i32; at the bottom, log and call.
    let deep = wapc(
        1,
        b"defaultwasmcloud:keyvalueGetbottom",
        r#"(func $down (param $d i32)
             (if (local.get $d)
               (then (call $down (i32.sub (local.get $d) (i32.const 1))))
               (else
                 (call $log (i32.const 28) (i32.const 6))
                 (drop (call $host_call (i32.const 0) (i32.const 7) (i32.const 7) (i32.const 18)
                       (i32.const 25) (i32.const 3) (i32.const 28) (i32.const 6))))))"#,
        r#"(call $request (i32.const 512) (i32.const 256))
           (call $down (i32.load (i32.const 256)))
           (call $response (i32.const 28) (i32.const 6))
           (i32.const 1)"#,
    );
    // `__guest_request(op_ptr, req_ptr)` writes the operation name at 512, the request at 256.
    let (deep, _) = issuer.sign(&deep, "deep", &[KEY_VALUE]);
    host.start_actor("deep", deep, deadline(5000), 1)
        .await
        .unwrap();
    let kv = Slow::new(KEY_VALUE, std::time::Duration::ZERO, Ok(b"v".to_vec()));
    host.add_provider("default", kv.clone()).await.unwrap();
    host.put_link("deep", KEY_VALUE, "default", Default::default())
        .await
        .unwrap();
    let (mut completed, mut overflowed) = (0, 0);
    for depth in [
        10i32, 1_000, 5_000, 10_000, 20_000, 40_000, 80_000, 1_000_000,
    ] {
        match host.call_actor("deep", "x", &depth.to_le_bytes()).await {
            Ok(reply) => {
                assert_eq!(reply, b"bottom");
                completed += 1;
            }
            Err(error) => {
                assert!(
                    error.to_string().contains("overflowed its stack"),
                    "{depth}: {error}"
                );
                overflowed += 1;
            }
        }
    }
    eprintln!("C3: {completed} completed, {overflowed} overflowed");
    assert!(completed >= 2, "even shallow recursion failed");
    assert!(
        overflowed >= 1,
        "the deepest recursion should overflow the wasm stack"
    );
    assert_eq!(
        kv.started(),
        completed,
        "each completed descent made its host call"
    );
}
