#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The local provider end to end, with a recording stand-in for the host's dispatcher.

mod common;

use std::sync::Arc;
use std::time::Duration;

use caplet_messaging::LocalMessaging;
use caplet_messaging::limits::{MAX_BODY_BYTES, MAX_IN_FLIGHT_PER_SUBSCRIPTION};
use caplet_provider_api::{ActorRef, DispatchError, Provider, ProviderConfig, ProviderError};
use caplet_wire::messaging::{PUBLISH, REQUEST, ReplyMessage, WASMBUS_HANDLE_MESSAGE};
use common::*;
use tokio::sync::Semaphore;

fn provider(dispatcher: &Arc<TestDispatcher>) -> LocalMessaging {
    LocalMessaging::new(&ProviderConfig::new(), dispatcher.clone()).unwrap()
}

/// Lets queued deliveries run, for the checks that something did *not* happen.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(100)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_reaches_subscribers_by_wildcard() {
    let dispatcher = TestDispatcher::new();
    let messaging = provider(&dispatcher);
    let (one, many, other, publisher) = (actor("one"), actor("many"), actor("other"), actor("pub"));
    messaging.bind(subscribe(&one, "orders.*")).await.unwrap();
    messaging.bind(subscribe(&many, "orders.>")).await.unwrap();
    messaging.bind(subscribe(&other, "invoices")).await.unwrap();
    messaging.bind(link(&publisher, &[])).await.unwrap();

    let reply = messaging
        .handle_owned(publish_call(&publisher, "orders.created", b"o-1"))
        .await
        .unwrap();
    assert!(reply.is_empty());
    let mut calls = dispatcher.wait_for(2).await;
    calls.sort_by(|a, b| a.actor.cmp(&b.actor));
    assert_eq!(calls[0].actor, "many");
    assert_eq!(calls[1].actor, "one");
    for call in &calls {
        assert_eq!(call.operation, DEFAULT_OPERATION);
        assert_eq!(call.message.subject, "orders.created");
        assert_eq!(call.message.body, b"o-1");
        assert_eq!(call.message.reply_to, None);
    }

    messaging
        .handle_owned(publish_call(&publisher, "orders.eu.created", b"o-2"))
        .await
        .unwrap();
    let calls = dispatcher.wait_for(3).await;
    assert_eq!(calls[2].actor, "many");
    assert_eq!(calls[2].message.subject, "orders.eu.created");
    settle().await;
    assert_eq!(
        dispatcher.calls().len(),
        3,
        "`orders.*` must not match two tokens"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_group_delivers_each_message_to_one_member() {
    let dispatcher = TestDispatcher::new();
    let messaging = provider(&dispatcher);
    let (a, b, audit, publisher) = (actor("a"), actor("b"), actor("audit"), actor("pub"));
    messaging
        .bind(subscribe(&a, "jobs.*|workers"))
        .await
        .unwrap();
    messaging
        .bind(subscribe(&b, "jobs.*|workers"))
        .await
        .unwrap();
    messaging.bind(subscribe(&audit, "jobs.*")).await.unwrap();
    messaging.bind(link(&publisher, &[])).await.unwrap();

    for i in 0..10 {
        messaging
            .handle_owned(publish_call(
                &publisher,
                "jobs.run",
                format!("{i}").as_bytes(),
            ))
            .await
            .unwrap();
    }
    dispatcher.wait_for(20).await;
    settle().await;
    let calls = dispatcher.calls();
    assert_eq!(
        calls.len(),
        20,
        "each message once to the group, once to audit"
    );
    let count = |name: &str| calls.iter().filter(|c| c.actor == name).count();
    assert_eq!(count("audit"), 10);
    assert_eq!(count("a") + count("b"), 10);
    assert!(
        count("a") > 0 && count("b") > 0,
        "the group shares the work"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbind_stops_delivery_and_rebind_replaces_subscriptions() {
    let dispatcher = TestDispatcher::new();
    let messaging = provider(&dispatcher);
    let (subscriber, witness, publisher) = (actor("sub"), actor("witness"), actor("pub"));
    messaging.bind(subscribe(&subscriber, "a")).await.unwrap();
    messaging.bind(subscribe(&witness, "w")).await.unwrap();
    messaging.bind(link(&publisher, &[])).await.unwrap();

    messaging
        .handle_owned(publish_call(&publisher, "a", b"1"))
        .await
        .unwrap();
    dispatcher.wait_for(1).await;

    // Rebind with other values: `a` is no longer delivered, `b` is.
    messaging.bind(subscribe(&subscriber, "b")).await.unwrap();
    messaging
        .handle_owned(publish_call(&publisher, "a", b"2"))
        .await
        .unwrap();
    messaging
        .handle_owned(publish_call(&publisher, "b", b"3"))
        .await
        .unwrap();
    let calls = dispatcher.wait_for(2).await;
    assert_eq!(calls[1].message.subject, "b");

    messaging.unbind(&subscriber, "default").await;
    messaging
        .handle_owned(publish_call(&publisher, "b", b"4"))
        .await
        .unwrap();
    messaging
        .handle_owned(publish_call(&publisher, "w", b"5"))
        .await
        .unwrap();
    dispatcher.wait_for(3).await;
    settle().await;
    let calls = dispatcher.calls();
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[2].actor, "witness");

    // Unbound actors cannot publish either.
    let error = messaging
        .handle_owned(publish_call(&subscriber, "b", b"6"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::NotBound(ref m) if m.contains("sub")),
        "{error}"
    );
}

/// An identity change (`force_new_identity`) moves the binding in place: the subscription is
/// kept, messages published while it moves are delivered exactly once, later ones reach the new
/// identity, and the old identity is no longer bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebind_to_a_new_identity_keeps_the_subscription_in_place() {
    let dispatcher = TestDispatcher::new();
    let messaging = Arc::new(provider(&dispatcher));
    let old = ActorRef {
        id: "MOLDKEY".into(),
        name: "sub".into(),
    };
    let new = ActorRef {
        id: "MNEWKEY".into(),
        name: "sub".into(),
    };
    let publisher = actor("pub");
    messaging.bind(subscribe(&old, "a")).await.unwrap();
    messaging.bind(link(&publisher, &[])).await.unwrap();

    // A publisher keeps going while the binding moves.
    const TOTAL: usize = 400;
    let background = {
        let messaging = Arc::clone(&messaging);
        let publisher = publisher.clone();
        tokio::spawn(async move {
            for i in 0..TOTAL {
                let body = i.to_string();
                messaging
                    .handle_owned(publish_call(&publisher, "a", body.as_bytes()))
                    .await
                    .unwrap();
                tokio::task::yield_now().await;
            }
        })
    };
    dispatcher.wait_for(TOTAL / 4).await;
    messaging.rebind(&old, subscribe(&new, "a")).await.unwrap();
    background.await.unwrap();
    let calls = dispatcher.wait_for(TOTAL).await;
    settle().await;
    let calls_after = dispatcher.calls();
    assert_eq!(calls_after.len(), TOTAL, "every message exactly once");
    let mut bodies: Vec<usize> = calls
        .iter()
        .map(|c| {
            String::from_utf8(c.message.body.clone())
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    bodies.sort_unstable();
    assert_eq!(bodies, (0..TOTAL).collect::<Vec<_>>());
    // Those read before the move went to the old identity (whether any was read after it
    // depends on timing; the message below is).
    assert!(calls.iter().any(|c| c.actor_id == "MOLDKEY"));

    // From now on only the new identity receives, and only it is bound.
    messaging
        .handle_owned(publish_call(&publisher, "a", b"last"))
        .await
        .unwrap();
    let calls = dispatcher.wait_for(TOTAL + 1).await;
    assert_eq!(calls[TOTAL].actor_id, "MNEWKEY");
    let error = messaging
        .handle_owned(publish_call(&old, "a", b"x"))
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::NotBound(_)), "{error}");
    messaging
        .handle_owned(publish_call(&new, "a", b"from new"))
        .await
        .unwrap();
    // The new identity is subscribed to `a` itself: wait for that delivery too.
    let calls = dispatcher.wait_for(TOTAL + 2).await;
    assert_eq!(calls[TOTAL + 1].message.body, b"from new");

    // A rebind with other values subscribes anew: `b` now, `a` no more.
    let newer = ActorRef {
        id: "MNEWERKEY".into(),
        name: "sub".into(),
    };
    messaging
        .rebind(&new, subscribe(&newer, "b"))
        .await
        .unwrap();
    let before = dispatcher.calls().len();
    messaging
        .handle_owned(publish_call(&publisher, "a", b"gone"))
        .await
        .unwrap();
    messaging
        .handle_owned(publish_call(&publisher, "b", b"here"))
        .await
        .unwrap();
    let calls = dispatcher.wait_for(before + 1).await;
    settle().await;
    assert_eq!(dispatcher.calls().len(), before + 1, "{calls:?}");
    let last = &calls[before];
    assert_eq!(
        (last.actor_id.as_str(), last.message.subject.as_str()),
        ("MNEWERKEY", "b")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_reply_through_an_answering_actor() {
    let dispatcher = TestDispatcher::new();
    dispatcher.answer_with(|_, message| {
        let mut answer = b"re:".to_vec();
        answer.extend_from_slice(&message.body);
        Ok(answer)
    });
    let messaging = provider(&dispatcher);
    let (responder, requester) = (actor("echo"), actor("client"));
    messaging
        .bind(subscribe(&responder, "svc.echo"))
        .await
        .unwrap();
    messaging.bind(link(&requester, &[])).await.unwrap();

    let bytes = messaging
        .handle_owned(request_call(&requester, "svc.echo", b"hello", 0))
        .await
        .unwrap();
    let reply: ReplyMessage = caplet_wire::decode(&bytes).unwrap();
    assert_eq!(reply.body, b"re:hello");
    assert!(reply.subject.starts_with("_INBOX."), "{}", reply.subject);
    let calls = dispatcher.calls();
    assert_eq!(
        calls[0].message.reply_to.as_deref(),
        Some(reply.subject.as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_an_answer_fail_clearly() {
    let dispatcher = TestDispatcher::new();
    let messaging = provider(&dispatcher);
    let (silent, requester) = (actor("silent"), actor("client"));
    messaging
        .bind(subscribe(&silent, "svc.quiet"))
        .await
        .unwrap();
    messaging.bind(link(&requester, &[])).await.unwrap();

    // Nobody subscribes: fails at once.
    let error = messaging
        .handle_owned(request_call(&requester, "svc.nobody", b"?", 100))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Failed(ref m) if m.contains("no responders") && m.contains("svc.nobody")),
        "{error}"
    );

    // A subscriber that answers nothing (empty answer): the request times out.
    let error = tokio::time::timeout(
        WAIT,
        messaging.handle_owned(request_call(&requester, "svc.quiet", b"?", 100)),
    )
    .await
    .unwrap()
    .unwrap_err();
    assert!(
        matches!(error, ProviderError::Failed(ref m) if m.contains("no reply within 100 ms")),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_calls_are_bad_requests() {
    let dispatcher = TestDispatcher::new();
    let messaging = provider(&dispatcher);
    let publisher = actor("pub");
    messaging.bind(link(&publisher, &[])).await.unwrap();
    let big = vec![0u8; MAX_BODY_BYTES + 1];

    for call in [
        publish_call(&publisher, "a", &big),
        request_call(&publisher, "a", &big, 0),
    ] {
        let error = messaging.handle_owned(call).await.unwrap_err();
        assert!(
            matches!(error, ProviderError::BadRequest(ref m) if m.contains("MAX_BODY_BYTES")),
            "{error}"
        );
    }
    // Exactly at the limit is fine.
    messaging
        .handle_owned(publish_call(&publisher, "a", &vec![0u8; MAX_BODY_BYTES]))
        .await
        .unwrap();

    let cases = [
        (call(&publisher, PUBLISH, vec![0xc1]), "PubMessage"),
        (
            call(&publisher, REQUEST, b"not msgpack".to_vec()),
            "RequestMessage",
        ),
        (call(&publisher, PUBLISH, Vec::new()), "PubMessage"),
        (
            call(&publisher, "Messaging.Subscribe", Vec::new()),
            "unknown operation",
        ),
        (
            publish_call(&publisher, "orders.*", b""),
            "only subscriptions",
        ),
        (publish_call(&publisher, "a..b", b""), "empty token"),
        (publish_call(&publisher, "", b""), "empty"),
    ];
    for (call, expected) in cases {
        let error = messaging.handle_owned(call).await.unwrap_err();
        assert!(
            matches!(error, ProviderError::BadRequest(ref m) if m.contains(expected)),
            "{expected}: {error}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_links_are_refused_and_the_operation_can_be_overridden() {
    let dispatcher = TestDispatcher::new();
    let messaging = provider(&dispatcher);
    let (legacy, publisher) = (actor("legacy"), actor("pub"));
    let error = messaging
        .bind(subscribe(&legacy, "a.>.b"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::BadRequest(ref m) if m.contains("legacy") && m.contains("must come last")),
        "{error}"
    );

    messaging
        .bind(link(
            &legacy,
            &[
                ("SUBSCRIPTION", "legacy.in"),
                ("operation", WASMBUS_HANDLE_MESSAGE),
            ],
        ))
        .await
        .unwrap();
    messaging.bind(link(&publisher, &[])).await.unwrap();
    messaging
        .handle_owned(publish_call(&publisher, "legacy.in", b"x"))
        .await
        .unwrap();
    assert_eq!(
        dispatcher.wait_for(1).await[0].operation,
        WASMBUS_HANDLE_MESSAGE
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_deliveries_are_logged_and_the_subscription_continues() {
    let dispatcher = TestDispatcher::new();
    dispatcher.answer_with(|_, message| {
        if message.body == b"bad" {
            Err(DispatchError::ActorFailed("boom".into()))
        } else {
            Ok(Vec::new())
        }
    });
    let messaging = provider(&dispatcher);
    let (subscriber, publisher) = (actor("sub"), actor("pub"));
    messaging.bind(subscribe(&subscriber, "a")).await.unwrap();
    messaging.bind(link(&publisher, &[])).await.unwrap();
    messaging
        .handle_owned(publish_call(&publisher, "a", b"bad"))
        .await
        .unwrap();
    dispatcher.wait_for(1).await;
    messaging
        .handle_owned(publish_call(&publisher, "a", b"good"))
        .await
        .unwrap();
    assert_eq!(dispatcher.wait_for(2).await[1].message.body, b"good");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deliveries_in_flight_are_bounded_and_the_rest_wait() {
    let dispatcher = TestDispatcher::new();
    let gate = Arc::new(Semaphore::new(0));
    dispatcher.gate(gate.clone());
    let messaging = provider(&dispatcher);
    let (subscriber, publisher) = (actor("slow"), actor("pub"));
    messaging
        .bind(subscribe(&subscriber, "work"))
        .await
        .unwrap();
    messaging.bind(link(&publisher, &[])).await.unwrap();

    let total = MAX_IN_FLIGHT_PER_SUBSCRIPTION + 36;
    for _ in 0..total {
        messaging
            .handle_owned(publish_call(&publisher, "work", b"w"))
            .await
            .unwrap();
    }
    dispatcher
        .wait_in_flight(MAX_IN_FLIGHT_PER_SUBSCRIPTION)
        .await;
    settle().await;
    assert_eq!(dispatcher.in_flight().1, MAX_IN_FLIGHT_PER_SUBSCRIPTION);
    assert_eq!(
        dispatcher.calls().len(),
        MAX_IN_FLIGHT_PER_SUBSCRIPTION,
        "the rest wait"
    );

    gate.add_permits(total);
    dispatcher.wait_for(total).await;
    assert_eq!(dispatcher.in_flight().1, MAX_IN_FLIGHT_PER_SUBSCRIPTION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_shutdown() {
    let dispatcher = TestDispatcher::new();
    let messaging = provider(&dispatcher);
    assert_eq!(messaging.contract_id(), "wasmcloud:messaging");
    assert_eq!(messaging.implementation(), "local");
    assert_eq!(messaging.health().await, Ok(()));
    let publisher = actor("pub");
    messaging.bind(subscribe(&publisher, "a")).await.unwrap();
    tokio::time::timeout(WAIT, messaging.shutdown())
        .await
        .unwrap();
    assert!(messaging.health().await.is_err());
    let error = messaging
        .handle_owned(publish_call(&publisher, "a", b""))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Unavailable(ref m) if m.contains("shut down")),
        "{error}"
    );
    assert!(messaging.bind(link(&publisher, &[])).await.is_err());
}

#[test]
fn config_with_unknown_keys_is_refused() {
    let dispatcher = TestDispatcher::new();
    let config: ProviderConfig = [("ur1".to_owned(), "x".to_owned())].into();
    let error = LocalMessaging::new(&config, dispatcher).err().unwrap();
    assert!(error.contains("known keys"), "{error}");
}
