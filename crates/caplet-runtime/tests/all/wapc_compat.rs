//! Modules built with the public `wapc-guest` SDK run unchanged (wire-compat.md §1).
//!
//! Actor authors must not have to port anything to move to Caplet, so the guest below is built
//! against `wapc-guest` 1.x, not our SDK, and its answers must be exactly what a waPC host gives:
//! the payload back, the guest's own error text, and the SDK's "No handler registered" text.

use std::sync::Arc;

use caplet_runtime::{CallError, HostCallError, NoHost};

use crate::common::{Recorder, load, runtime, test_limits};

#[tokio::test]
async fn wapc_guest_echo_returns_its_payload() {
    let (runtime, _cache) = runtime();
    let actor = load(&runtime, "wapc_echo", test_limits());
    let payload = vec![7u8; 1024];
    let response = actor
        .call("echo", &payload, Arc::new(NoHost))
        .await
        .unwrap();
    assert_eq!(response, payload);
    let empty = actor.call("echo", b"", Arc::new(NoHost)).await.unwrap();
    assert!(empty.is_empty());
}

#[tokio::test]
async fn wapc_guest_handler_error_comes_back_as_its_message() {
    let (runtime, _cache) = runtime();
    let actor = load(&runtime, "wapc_echo", test_limits());
    let error = actor
        .call("fail", b"the disk is on fire", Arc::new(NoHost))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        CallError::Guest {
            message: "the disk is on fire".into()
        }
    );
    // A guest error leaves the instance healthy: it goes back to the pool and serves again.
    assert_eq!(actor.idle_instances(), 1);
    assert_eq!(
        actor.call("echo", b"ok", Arc::new(NoHost)).await.unwrap(),
        b"ok"
    );
}

#[tokio::test]
async fn wapc_guest_unknown_operation_gives_the_sdk_text() {
    let (runtime, _cache) = runtime();
    let actor = load(&runtime, "wapc_echo", test_limits());
    let error = actor.call("nope", b"", Arc::new(NoHost)).await.unwrap_err();
    assert_eq!(
        error,
        CallError::Guest {
            message: "No handler registered for function nope".into()
        }
    );
}

#[tokio::test]
async fn wapc_guest_host_call_reaches_the_handler_with_its_strings() {
    let (runtime, _cache) = runtime();
    let actor = load(&runtime, "wapc_echo", test_limits());
    let host = Recorder::answering(Ok(b"pong!".to_vec()));
    let response = actor.call("ping", b"ping?", host.clone()).await.unwrap();
    assert_eq!(response, b"pong!");
    let calls = host.calls.lock().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].binding, "binding");
    assert_eq!(calls[0].namespace, "sample:namespace");
    assert_eq!(calls[0].operation, "pong");
    assert_eq!(calls[0].payload, b"ping?");
    assert_eq!(&*calls[0].module, "wapc_echo");
}

#[tokio::test]
async fn wapc_guest_sees_host_errors_as_errors() {
    let (runtime, _cache) = runtime();
    let actor = load(&runtime, "wapc_echo", test_limits());
    let host = Recorder::answering(Err(HostCallError::Guest("denied: no link".into())));
    let error = actor.call("ping", b"x", host).await.unwrap_err();
    match error {
        CallError::Guest { message } => assert!(message.contains("denied: no link"), "{message}"),
        other => panic!("expected a guest error, got {other:?}"),
    }
}

#[tokio::test]
async fn concurrent_calls_each_get_their_own_answer() {
    let (runtime, _cache) = runtime();
    let actor = load(&runtime, "wapc_echo", test_limits());
    let calls = (0..32u32).map(|i| {
        let actor = actor.clone();
        tokio::spawn(async move {
            let payload = format!("request {i}").into_bytes();
            let response = actor
                .call("echo", &payload, Arc::new(NoHost))
                .await
                .unwrap();
            assert_eq!(response, payload);
        })
    });
    for call in calls {
        call.await.unwrap();
    }
    assert!(actor.idle_instances() >= 1);
}
