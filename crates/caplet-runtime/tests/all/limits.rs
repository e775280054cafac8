//! Hard limits fail the one call that hit them, and the runtime keeps serving.
//!
//! hostile-guests.md rows A1 (spinning guest), A5 (guest stuck in a host call), B1 (memory
//! beyond the limit), B2 (initial memory over the limit), C1 (infinite recursion), and a plain
//! `unreachable`. After each, the next call on the same module must succeed: the failed
//! instance is discarded, never reused, and nothing else is disturbed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use caplet_runtime::{CallError, Limits, NoHost};

use crate::common::{Hang, load, runtime, test_limits, wat};

/// Slack allowed past a deadline: one epoch tick plus scheduling, well under the 100 ms budget.
const DEADLINE_SLACK: Duration = Duration::from_millis(100);

#[tokio::test]
async fn spinning_guest_is_interrupted_at_its_deadline_and_the_next_call_succeeds() {
    let (runtime, _cache) = runtime();
    let limits = test_limits();
    let actor = load(&runtime, "probe", limits);
    let started = Instant::now();
    let error = actor.call("loop", b"", Arc::new(NoHost)).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(&error, CallError::Deadline { operation, .. } if operation == "loop"),
        "expected a deadline error, got {error:?}"
    );
    assert!(error.to_string().contains("deadline"), "{error}");
    assert!(
        elapsed <= limits.call_deadline + DEADLINE_SLACK,
        "interrupted after {elapsed:?}, deadline {:?}",
        limits.call_deadline
    );
    assert_eq!(
        actor.idle_instances(),
        0,
        "the interrupted instance must be discarded"
    );
    let response = actor
        .call("echo", b"still here", Arc::new(NoHost))
        .await
        .unwrap();
    assert_eq!(response, b"still here");
}

#[tokio::test]
async fn wat_branch_loop_is_interrupted_too() {
    let (runtime, _cache) = runtime();
    let module = wat(r#"(module
        (memory (export "memory") 1)
        (func (export "__guest_call") (param i32 i32) (result i32)
            (loop $spin (br $spin))
            (i32.const 1)))"#);
    let limits = test_limits();
    let actor = runtime.load_actor("spin.wat", &module, limits).unwrap();
    let started = Instant::now();
    let error = actor.call("any", b"", Arc::new(NoHost)).await.unwrap_err();
    assert!(matches!(error, CallError::Deadline { .. }), "{error:?}");
    assert!(started.elapsed() <= limits.call_deadline + DEADLINE_SLACK);
}

#[tokio::test]
async fn wapc_init_that_never_returns_fails_at_the_init_deadline() {
    let (runtime, _cache) = runtime();
    let module = wat(r#"(module
        (memory (export "memory") 1)
        (func (export "wapc_init") (loop $spin (br $spin)))
        (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))"#);
    let limits = Limits {
        init_deadline: Duration::from_millis(150),
        ..test_limits()
    };
    let actor = runtime
        .load_actor("spin-init.wat", &module, limits)
        .unwrap();
    let started = Instant::now();
    let error = actor.warm(1).await.unwrap_err();
    let elapsed = started.elapsed();
    match &error {
        CallError::Init { module, reason } => {
            assert_eq!(module, "spin-init.wat");
            assert!(
                reason.contains("initialisation exceeded its deadline of 150 ms"),
                "{reason}"
            );
        }
        other => panic!("expected an init error, got {other:?}"),
    }
    assert!(
        elapsed >= limits.init_deadline && elapsed <= limits.init_deadline + DEADLINE_SLACK,
        "initialisation stopped after {elapsed:?}, deadline {:?}",
        limits.init_deadline
    );
    assert_eq!(actor.idle_instances(), 0);
    let healthy = load(&runtime, "probe", test_limits());
    assert_eq!(
        healthy.call("echo", b"ok", Arc::new(NoHost)).await.unwrap(),
        b"ok"
    );
}

#[tokio::test]
async fn guest_stuck_in_a_host_call_is_cut_off_at_the_deadline() {
    let (runtime, _cache) = runtime();
    let limits = test_limits();
    let actor = load(&runtime, "probe", limits);
    let started = Instant::now();
    let request = b"default\nwasmcloud:keyvalue\nGet\nkey";
    let error = actor
        .call("host_call", request, Arc::new(Hang))
        .await
        .unwrap_err();
    assert!(matches!(error, CallError::Deadline { .. }), "{error:?}");
    assert!(started.elapsed() <= limits.call_deadline + DEADLINE_SLACK);
    assert_eq!(
        actor.call("echo", b"ok", Arc::new(NoHost)).await.unwrap(),
        b"ok"
    );
}

#[tokio::test]
async fn memory_beyond_the_limit_fails_that_call_only() {
    let (runtime, _cache) = runtime();
    let limits = test_limits();
    let actor = load(&runtime, "probe", limits);
    let within = actor
        .call("alloc", b"4194304", Arc::new(NoHost))
        .await
        .unwrap();
    assert_eq!(within, b"4194304");
    let beyond = (2 * limits.max_memory_bytes).to_string();
    let error = actor
        .call("alloc", beyond.as_bytes(), Arc::new(NoHost))
        .await
        .unwrap_err();
    match &error {
        CallError::MemoryLimit {
            limit,
            requested,
            operation,
            ..
        } => {
            assert_eq!(*limit, limits.max_memory_bytes);
            assert!(*requested > *limit);
            assert_eq!(operation, "alloc");
        }
        other => panic!("expected a memory-limit error, got {other:?}"),
    }
    assert!(error.to_string().contains("memory limit"), "{error}");
    assert_eq!(
        actor
            .call("echo", b"after", Arc::new(NoHost))
            .await
            .unwrap(),
        b"after"
    );
}

#[tokio::test]
async fn initial_memory_over_the_limit_fails_to_start_with_a_typed_error() {
    let (runtime, _cache) = runtime();
    // 512 pages = 32 MiB initial memory, against a 16 MiB limit.
    let module = wat(r#"(module
        (memory (export "memory") 512)
        (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))"#);
    let actor = runtime
        .load_actor("big.wat", &module, test_limits())
        .unwrap();
    let error = actor.call("any", b"", Arc::new(NoHost)).await.unwrap_err();
    match error {
        CallError::Init { reason, .. } => assert!(reason.contains("memory"), "{reason}"),
        other => panic!("expected an init error, got {other:?}"),
    }
}

#[tokio::test]
async fn infinite_recursion_is_a_stack_overflow_and_the_process_survives() {
    let (runtime, _cache) = runtime();
    let actor = load(&runtime, "probe", test_limits());
    let error = actor
        .call("recurse", b"", Arc::new(NoHost))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CallError::StackOverflow { operation, .. } if operation == "recurse"),
        "{error:?}"
    );
    assert_eq!(
        actor
            .call("echo", b"alive", Arc::new(NoHost))
            .await
            .unwrap(),
        b"alive"
    );
}

#[tokio::test]
async fn unreachable_is_a_trap_naming_the_module_and_operation() {
    let (runtime, _cache) = runtime();
    let actor = load(&runtime, "probe", test_limits());
    let error = actor.call("trap", b"", Arc::new(NoHost)).await.unwrap_err();
    match &error {
        CallError::Trap {
            module,
            operation,
            trap,
        } => {
            assert_eq!(module, "probe");
            assert_eq!(operation, "trap");
            assert!(trap.contains("unreachable"), "{trap}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
    let text = error.to_string();
    assert!(text.contains("probe") && text.contains("trap"), "{text}");
    assert_eq!(
        actor.idle_instances(),
        0,
        "a trapped instance is never reused"
    );
    assert_eq!(
        actor.call("echo", b"next", Arc::new(NoHost)).await.unwrap(),
        b"next"
    );
}

#[tokio::test]
async fn oversized_payload_is_refused_before_the_guest_runs() {
    let (runtime, _cache) = runtime();
    let limits = Limits {
        max_payload_bytes: 1024,
        ..test_limits()
    };
    let actor = load(&runtime, "probe", limits);
    let error = actor
        .call("echo", &[0u8; 1025], Arc::new(NoHost))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        CallError::PayloadTooLarge {
            size: 1025,
            limit: 1024
        }
    );
    assert_eq!(
        actor
            .call("echo", &[1u8; 1024], Arc::new(NoHost))
            .await
            .unwrap(),
        [1u8; 1024]
    );
}

#[tokio::test]
async fn limits_above_the_engine_ceiling_are_refused_at_load() {
    let (runtime, _cache) = runtime();
    let limits = Limits {
        max_memory_bytes: runtime.limits().max_memory_bytes + 1,
        ..Limits::default()
    };
    let error = runtime
        .load_actor("probe", &crate::common::guest("probe"), limits)
        .err()
        .unwrap();
    assert!(error.to_string().contains("ceiling"), "{error}");
}

#[tokio::test]
async fn an_instance_that_grew_past_the_idle_memory_cap_is_not_kept_warm() {
    let (runtime, _cache) = runtime();
    let limits = Limits {
        max_memory_bytes: 32 << 20,
        max_idle_memory_bytes: 8 << 20,
        ..test_limits()
    };
    let actor = load(&runtime, "probe", limits);
    actor
        .call("echo", b"small", Arc::new(NoHost))
        .await
        .unwrap();
    assert_eq!(actor.idle_instances(), 1, "an ordinary instance is pooled");

    // 12 MiB of allocation grows this instance's memory past the 8 MiB idle cap: the call
    // succeeds, and the instance is dropped rather than pinning that memory while idle.
    let grown = actor
        .call("alloc", b"12582912", Arc::new(NoHost))
        .await
        .unwrap();
    assert_eq!(grown, b"12582912");
    assert_eq!(actor.idle_instances(), 0, "the grown instance is not kept");

    actor
        .call("echo", b"again", Arc::new(NoHost))
        .await
        .unwrap();
    assert_eq!(
        actor.idle_instances(),
        1,
        "a fresh instance serves and is pooled"
    );
}
