#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The NATS provider against a real `nats-server` (caplet-testkit), with plain async-nats
//! clients on the other side. Waits are bounded by `WAIT`; no test asserts tight timings.

mod common;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use caplet_messaging::NatsMessaging;
use caplet_provider_api::{Provider, ProviderConfig, ProviderError};
use caplet_testkit::Server;
use caplet_wire::messaging::ReplyMessage;
use common::*;
use futures_util::StreamExt;

fn provider(url: &str, dispatcher: &Arc<TestDispatcher>) -> NatsMessaging {
    let config: ProviderConfig = [("url".to_owned(), url.to_owned())].into();
    NatsMessaging::new(&config, dispatcher.clone()).unwrap()
}

/// Retries `attempt` every 50 ms until it gives `Some`, for at most [`WAIT`].
async fn eventually<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(value) = attempt().await {
                return value;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting until {what}"))
}

async fn healthy(messaging: &NatsMessaging) {
    eventually("the provider is connected", || async {
        messaging.health().await.ok()
    })
    .await;
}

async fn plain_client(server: &Server) -> async_nats::Client {
    tokio::time::timeout(WAIT, async_nats::connect(server.url()))
        .await
        .unwrap()
        .unwrap()
}

/// Waits until the server has processed everything `client` sent before (its subscriptions
/// are active). async-nats' `flush` only empties the client's write buffer, so this uses a
/// request nobody answers: the server's "no responders" comes back after the earlier commands.
async fn server_caught_up(client: &async_nats::Client) {
    let barrier = format!("caplet.test.barrier.{}", nuid::next());
    match tokio::time::timeout(WAIT, client.request(barrier, "".into())).await {
        Ok(Err(e)) if matches!(e.kind(), async_nats::client::RequestErrorKind::NoResponders) => {}
        other => panic!("barrier request: expected no responders, got {other:?}"),
    }
}

/// Publishes from `client` until the dispatcher has recorded `n` deliveries (the provider's
/// subscription reaches the server asynchronously after `bind`).
async fn publish_until_delivered(
    client: &async_nats::Client,
    dispatcher: &TestDispatcher,
    subject: &str,
    body: &'static [u8],
    n: usize,
) -> Vec<Delivered> {
    eventually("a published message is delivered to the actor", || async {
        client
            .publish(subject.to_owned(), body.into())
            .await
            .unwrap();
        client.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let calls = dispatcher.calls();
        (calls.len() >= n).then_some(calls)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_client_message_reaches_the_subscribed_actor() {
    let server = Server::nats();
    let dispatcher = TestDispatcher::new();
    let messaging = provider(&server.url(), &dispatcher);
    assert_eq!(messaging.implementation(), "nats");
    let subscriber = actor("sub");
    messaging
        .bind(subscribe(&subscriber, "events.*,audit.>|auditors"))
        .await
        .unwrap();
    healthy(&messaging).await;

    let client = plain_client(&server).await;
    let calls = publish_until_delivered(&client, &dispatcher, "events.created", b"e-1", 1).await;
    let first = &calls[0];
    assert_eq!(first.actor, "sub");
    assert_eq!(first.operation, DEFAULT_OPERATION);
    assert_eq!(first.message.subject, "events.created");
    assert_eq!(first.message.body, b"e-1");

    // Wildcards and queue groups are the server's: `audit.>` in group `auditors`.
    let calls = publish_until_delivered(
        &client,
        &dispatcher,
        "audit.eu.login",
        b"a-1",
        calls.len() + 1,
    )
    .await;
    assert!(calls.iter().any(|c| c.message.subject == "audit.eu.login"));

    tokio::time::timeout(WAIT, messaging.shutdown())
        .await
        .unwrap();
    assert!(messaging.health().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_publish_reaches_a_plain_subscriber() {
    let server = Server::nats();
    let dispatcher = TestDispatcher::new();
    let messaging = provider(&server.url(), &dispatcher);
    let publisher = actor("pub");
    messaging.bind(link(&publisher, &[])).await.unwrap();
    let client = plain_client(&server).await;
    let mut inbox = client.subscribe("out.>").await.unwrap();
    server_caught_up(&client).await;
    healthy(&messaging).await;

    messaging
        .handle_owned(publish_call(&publisher, "out.greeting", b"hello"))
        .await
        .unwrap();
    let message = tokio::time::timeout(WAIT, inbox.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(message.subject.as_str(), "out.greeting");
    assert_eq!(&message.payload[..], b"hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_reply_both_ways() {
    let server = Server::nats();
    let dispatcher = TestDispatcher::new();
    dispatcher.answer_with(|_, message| {
        let mut answer = b"re:".to_vec();
        answer.extend_from_slice(&message.body);
        Ok(answer)
    });
    let messaging = provider(&server.url(), &dispatcher);
    let echo = actor("echo");
    messaging.bind(subscribe(&echo, "svc.echo")).await.unwrap();
    let client = plain_client(&server).await;

    // The actor requests; a plain client responds.
    let mut requests = client.subscribe("svc.time").await.unwrap();
    server_caught_up(&client).await;
    let responder = {
        let client = client.clone();
        tokio::spawn(async move {
            while let Some(request) = requests.next().await {
                if let Some(reply) = request.reply {
                    client.publish(reply, "noon".into()).await.unwrap();
                    client.flush().await.unwrap();
                }
            }
        })
    };
    healthy(&messaging).await;
    let bytes = messaging
        .handle_owned(request_call(&echo, "svc.time", b"now?", 5000))
        .await
        .unwrap();
    let reply: ReplyMessage = caplet_wire::decode(&bytes).unwrap();
    assert_eq!(reply.body, b"noon");

    // Nobody listens: NATS answers "no responders" at once.
    let error = messaging
        .handle_owned(request_call(&echo, "svc.nobody", b"?", 5000))
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Failed(ref m) if m.contains("no responders")),
        "{error}"
    );

    // A plain client requests on the actor's subscription; the actor's answer comes back.
    let answer = eventually("the actor answers a plain client's request", || async {
        match client.request("svc.echo", "hi".into()).await {
            Ok(message) => Some(message),
            Err(e) if matches!(e.kind(), async_nats::client::RequestErrorKind::NoResponders) => {
                None
            }
            Err(e) => panic!("request failed: {e}"),
        }
    })
    .await;
    assert_eq!(&answer.payload[..], b"re:hi");
    let delivered = dispatcher.calls();
    assert!(delivered.iter().any(|c| c.message.reply_to.is_some()));
    responder.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nats_down_fails_fast_and_recovers_without_a_new_provider() {
    let mut server = Server::nats();
    let url = server.url();
    let dispatcher = TestDispatcher::new();
    let messaging = provider(&url, &dispatcher);
    let subscriber = actor("sub");
    messaging.bind(subscribe(&subscriber, "in")).await.unwrap();
    healthy(&messaging).await;
    let client = plain_client(&server).await;
    publish_until_delivered(&client, &dispatcher, "in", b"before", 1).await;
    drop(client);

    server.kill();
    let error = eventually("calls fail with Unavailable", || async {
        match messaging
            .handle_owned(publish_call(&subscriber, "out", b"x"))
            .await
        {
            Err(error @ ProviderError::Unavailable(_)) => Some(error),
            _ => None,
        }
    })
    .await;
    assert!(
        error.to_string().contains(&url),
        "names the server: {error}"
    );
    // Fails fast: well under any request timeout.
    let error = tokio::time::timeout(
        Duration::from_secs(1),
        messaging.handle_owned(request_call(&subscriber, "svc", b"?", 10_000)),
    )
    .await
    .expect("a call while disconnected must not wait")
    .unwrap_err();
    assert!(matches!(error, ProviderError::Unavailable(_)), "{error}");
    assert!(messaging.health().await.unwrap_err().contains(&url));

    server.restart();
    healthy(&messaging).await;
    let client = plain_client(&server).await;
    let mut out = client.subscribe("out").await.unwrap();
    server_caught_up(&client).await;
    messaging
        .handle_owned(publish_call(&subscriber, "out", b"after"))
        .await
        .unwrap();
    let message = tokio::time::timeout(WAIT, out.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&message.payload[..], b"after");
    // The subscription was restored by the reconnect.
    let calls = publish_until_delivered(&client, &dispatcher, "in", b"after", 2).await;
    assert_eq!(calls.last().unwrap().message.body, b"after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_starts_and_binds_while_nats_is_down() {
    let mut server = Server::nats();
    server.kill();
    let dispatcher = TestDispatcher::new();
    let messaging = provider(&server.url(), &dispatcher);
    let subscriber = actor("sub");
    tokio::time::timeout(WAIT, messaging.bind(subscribe(&subscriber, "in")))
        .await
        .unwrap()
        .unwrap();
    assert!(messaging.health().await.is_err());
    let error = messaging
        .handle_owned(publish_call(&subscriber, "out", b"x"))
        .await
        .unwrap_err();
    assert!(matches!(error, ProviderError::Unavailable(_)), "{error}");

    server.restart();
    healthy(&messaging).await;
    let client = plain_client(&server).await;
    publish_until_delivered(&client, &dispatcher, "in", b"late", 1).await;
}
