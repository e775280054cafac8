//! Guest→host calls reach the caller's handler intact, and their failures reach the guest.
//!
//! The host's router (a later layer) depends on seeing exactly the binding, namespace,
//! operation and payload the guest sent, with a blank binding read as "default", and on its
//! errors arriving in the guest as text the guest can act on.

use std::sync::Arc;

use caplet_runtime::{CallError, HostCallError, NoHost};

use crate::common::{Recorder, load, runtime, test_limits};

#[tokio::test]
async fn host_call_round_trip_through_the_sdk() {
    let (runtime, _cache) = runtime();
    let actor = load(&runtime, "probe", test_limits());
    let host = Recorder::answering(Ok(b"42".to_vec()));
    let response = actor
        .call(
            "host_call",
            b"counter\nwasmcloud:keyvalue\nIncrement\n\x01\n\x02",
            host.clone(),
        )
        .await
        .unwrap();
    assert_eq!(response, b"42");
    let calls = host.calls.lock().unwrap();
    assert_eq!(calls[0].binding, "counter");
    assert_eq!(calls[0].namespace, "wasmcloud:keyvalue");
    assert_eq!(calls[0].operation, "Increment");
    assert_eq!(calls[0].payload, b"\x01\n\x02");
}

/// The instance copies each host call into buffers it keeps: consecutive calls on one warm
/// instance, one longer than what it keeps between calls, each arrive exactly as sent.
#[tokio::test]
async fn consecutive_host_calls_on_one_instance_arrive_intact() {
    let (runtime, _cache) = runtime();
    let actor = load(&runtime, "probe", test_limits());
    let host = Recorder::answering(Ok(b"ok".to_vec()));
    let big = vec![b'x'; caplet_runtime::HOST_CALL_BUFFER_KEEP_BYTES + 1];
    let mut calls = vec![
        (
            "a-long-link-name",
            "wasmcloud:keyvalue",
            "KeyValue.Increment",
            b"12345".to_vec(),
        ),
        ("b", "wasmcloud:messaging", "Publish", big),
        ("", "ns", "Op", b"z".to_vec()),
    ];
    for (binding, namespace, operation, payload) in &calls {
        let mut request = format!("{binding}\n{namespace}\n{operation}\n").into_bytes();
        request.extend_from_slice(payload);
        let response = actor.call("host_call", &request, host.clone()).await;
        assert_eq!(response.unwrap(), b"ok");
    }
    assert_eq!(actor.idle_instances(), 1, "one instance served every call");
    calls[2].0 = "default";
    let seen = host.calls.lock().unwrap();
    let seen: Vec<_> = seen
        .iter()
        .map(|c| {
            (
                c.binding.as_str(),
                c.namespace.as_str(),
                c.operation.as_str(),
                c.payload.clone(),
            )
        })
        .collect();
    let sent: Vec<_> = calls
        .iter()
        .map(|(b, n, o, p)| (*b, *n, *o, p.clone()))
        .collect();
    assert_eq!(seen, sent);
}

#[tokio::test]
async fn a_blank_binding_means_default() {
    let (runtime, _cache) = runtime();
    let actor = load(&runtime, "probe", test_limits());
    let host = Recorder::answering(Ok(Vec::new()));
    actor
        .call(
            "host_call",
            b" \nwasmcloud:messaging\nPublish\n",
            host.clone(),
        )
        .await
        .unwrap();
    assert_eq!(host.calls.lock().unwrap()[0].binding, "default");
}

#[tokio::test]
async fn a_refused_host_call_reaches_the_guest_as_text() {
    let (runtime, _cache) = runtime();
    let actor = load(&runtime, "probe", test_limits());
    let host = Recorder::answering(Err(HostCallError::Guest("capability not granted".into())));
    let error = actor
        .call("host_call", b"default\nwasmcloud:keyvalue\nGet\nk", host)
        .await;
    let message = match error {
        Err(CallError::Guest { message }) => message,
        other => panic!("{other:?}"),
    };
    assert!(message.contains("host call failed") && message.contains("capability not granted"));
    // The guest handled the error itself: the instance is healthy and was kept.
    assert_eq!(actor.idle_instances(), 1);
}

#[tokio::test]
async fn a_host_side_trap_kills_the_instance() {
    let (runtime, _cache) = runtime();
    let actor = load(&runtime, "probe", test_limits());
    let host = Recorder::answering(Err(HostCallError::Trap("provider state corrupted".into())));
    let error = actor
        .call("host_call", b"default\nx:y\nop\n", host)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, CallError::Trap { trap, .. } if trap.contains("provider state corrupted")),
        "{error:?}"
    );
    assert_eq!(actor.idle_instances(), 0);
}

#[tokio::test]
async fn standalone_host_calls_name_the_missing_capability() {
    let (runtime, _cache) = runtime();
    let actor = load(&runtime, "probe", test_limits());
    let error = actor
        .call(
            "host_call",
            b"default\nwasmcloud:keyvalue\nGet\nk",
            Arc::new(NoHost),
        )
        .await;
    let Err(CallError::Guest { message }) = error else {
        panic!("{error:?}")
    };
    assert!(
        message.contains("capability `wasmcloud:keyvalue` is not available"),
        "{message}"
    );
}

#[tokio::test]
async fn oversized_host_calls_are_refused_without_reaching_the_handler() {
    let (runtime, _cache) = runtime();
    let limits = caplet_runtime::Limits {
        max_host_call_bytes: 64,
        ..test_limits()
    };
    let actor = load(&runtime, "probe", limits);
    let host = Recorder::answering(Ok(Vec::new()));
    let mut request = b"default\nwasmcloud:blobstore\nPut\n".to_vec();
    request.extend_from_slice(&[b'x'; 100]);
    let error = actor
        .call("host_call", &request, host.clone())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("over the limit"), "{error}");
    assert!(
        host.calls.lock().unwrap().is_empty(),
        "the handler must not be contacted"
    );
}

#[tokio::test]
async fn guest_console_log_does_not_disturb_the_call() {
    let (runtime, _cache) = runtime();
    let actor = load(&runtime, "probe", test_limits());
    let response = actor
        .call("log", b"hello \x1b[31m from the guest", Arc::new(NoHost))
        .await
        .unwrap();
    assert!(response.is_empty());
}
