//! Delivering one subscription's messages to its actor, concurrently but bounded.
//!
//! Each subscription runs one task that takes a permit before it reads the next message, so
//! at most [`MAX_IN_FLIGHT_PER_SUBSCRIPTION`] actor calls run at once and the rest wait in the
//! subscription's bounded queue. A failed delivery is logged and never ends the subscription.

use std::sync::{Arc, PoisonError, RwLock};

use caplet_provider_api::{ActorDispatcher, ActorRef};
use caplet_wire::messaging::{PubMessage, SubMessage};
use futures_util::StreamExt;
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use crate::engine::{Backend, MessageStream};
use crate::limits::{DRAIN_TIMEOUT, MAX_BODY_BYTES, MAX_IN_FLIGHT_PER_SUBSCRIPTION};

/// Who receives a subscription's messages, and how.
pub(crate) struct Target<B> {
    /// Read for each message, so a rebind to a new identity applies to the next one.
    pub actor: Arc<RwLock<ActorRef>>,
    pub operation: String,
    /// The subscription's subject pattern, for logs.
    pub pattern: String,
    pub dispatcher: Arc<dyn ActorDispatcher>,
    pub backend: Arc<B>,
}

/// A running subscription: cancel it to stop delivery.
pub(crate) struct Subscription {
    cancel: CancellationToken,
    task: JoinHandle<()>,
    actor: Arc<RwLock<ActorRef>>,
}

impl Subscription {
    /// Delivers the messages read from now on to `actor` (a new identity of the same actor).
    pub(crate) fn retarget(&self, actor: ActorRef) {
        *self.actor.write().unwrap_or_else(PoisonError::into_inner) = actor;
    }

    /// Stops reading messages and unsubscribes at once; deliveries already running get
    /// [`DRAIN_TIMEOUT`]. The handle ends when they are done (awaited by `shutdown` only).
    pub(crate) fn cancel(self) -> JoinHandle<()> {
        self.cancel.cancel();
        self.task
    }
}

/// Starts delivering `stream` to the target.
pub(crate) fn spawn<B: Backend>(target: Target<B>, stream: MessageStream) -> Subscription {
    let cancel = CancellationToken::new();
    let actor = Arc::clone(&target.actor);
    let task = tokio::spawn(run(Arc::new(target), stream, cancel.clone()));
    Subscription {
        cancel,
        task,
        actor,
    }
}

async fn run<B: Backend>(
    target: Arc<Target<B>>,
    mut stream: MessageStream,
    cancel: CancellationToken,
) {
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT_PER_SUBSCRIPTION));
    let mut in_flight = JoinSet::new();
    loop {
        let permit = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_closed) => break,
            },
        };
        let message = tokio::select! {
            biased;
            () = cancel.cancelled() => break,
            message = stream.next() => match message {
                Some(message) => message,
                None => {
                    tracing::debug!(actor = %target.actor().name, subject = %target.pattern,
                        "subscription closed by the broker");
                    break;
                }
            },
        };
        while in_flight.try_join_next().is_some() {}
        let target = Arc::clone(&target);
        in_flight.spawn(async move {
            target.deliver(message).await;
            drop(permit);
        });
    }
    // Unsubscribe before waiting for the deliveries still running.
    drop(stream);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while in_flight.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            actor = %target.actor().name,
            subject = %target.pattern,
            aborted = in_flight.len(),
            "deliveries still running {DRAIN_TIMEOUT:?} after the subscription was cancelled \
             were aborted (DRAIN_TIMEOUT)"
        );
        in_flight.abort_all();
    }
}

impl<B> Target<B> {
    /// The identity messages go to now.
    fn actor(&self) -> ActorRef {
        self.actor
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl<B: Backend> Target<B> {
    /// Calls the actor with one message and publishes a non-empty answer to `replyTo`.
    async fn deliver(&self, message: SubMessage) {
        let actor = self.actor();
        let payload = match caplet_wire::encode(&message) {
            Ok(payload) => payload,
            Err(error) => {
                tracing::warn!(actor = %actor.name, subject = %message.subject,
                    %error, "cannot encode a message for delivery; dropped");
                return;
            }
        };
        let SubMessage {
            subject, reply_to, ..
        } = message;
        let answer = match self
            .dispatcher
            .call_actor(&actor, &self.operation, payload)
            .await
        {
            Ok(answer) => answer,
            Err(error) => {
                tracing::warn!(
                    actor = %actor.name,
                    subject = %subject,
                    operation = %self.operation,
                    %error,
                    "delivering a message to the actor failed; the subscription continues"
                );
                return;
            }
        };
        let Some(reply_to) = reply_to else { return };
        if answer.is_empty() {
            return;
        }
        if answer.len() > MAX_BODY_BYTES {
            tracing::warn!(actor = %actor.name, subject = %subject, %reply_to,
                bytes = answer.len(),
                "the actor's answer is over MAX_BODY_BYTES ({MAX_BODY_BYTES}); not published");
            return;
        }
        let reply = PubMessage {
            subject: reply_to,
            reply_to: None,
            body: answer,
        };
        let reply_subject = reply.subject.clone();
        if let Err(error) = self.backend.publish(reply).await {
            tracing::warn!(actor = %actor.name, subject = %subject,
                reply_to = %reply_subject, %error, "publishing the actor's answer failed");
        }
    }
}
