//! The local provider: an in-process broker with NATS semantics, the embedded default.
//!
//! A single host needs no message server, so `caplet up` starts with this one: same subjects,
//! wildcards, queue groups and request/reply through `_INBOX.<id>` subjects as NATS, so moving
//! to [`crate::NatsMessaging`] changes no manifest. Delivery is at most once, like core NATS.

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use caplet_provider_api::{ActorDispatcher, ProviderConfig, ProviderError};
use caplet_wire::messaging::{PubMessage, ReplyMessage, SubMessage};
use futures_util::{Stream, StreamExt};
use tokio::sync::mpsc;

use crate::engine::{Backend, Engine, MessageStream};
use crate::limits::MAX_PENDING_PER_SUBSCRIPTION;
use crate::settings::{CONFIG_URL, validate_config};
use crate::subject;

/// The in-process messaging provider (implementation `local`).
pub struct LocalMessaging {
    engine: Engine<Broker>,
}

impl LocalMessaging {
    /// Builds the provider. It takes no config; a `url` (meant for NATS) is ignored with a
    /// warning, any other key is refused with the list of known keys.
    pub fn new(
        config: &ProviderConfig,
        dispatcher: Arc<dyn ActorDispatcher>,
    ) -> Result<Self, String> {
        validate_config(config)?;
        if config.keys().any(|k| k.eq_ignore_ascii_case(CONFIG_URL)) {
            tracing::warn!(
                "the local messaging provider ignores `{CONFIG_URL}`; use the `nats` implementation to reach a NATS server"
            );
        }
        Ok(Self {
            engine: Engine::new(Arc::new(Broker::default()), dispatcher),
        })
    }
}

crate::engine::engine_provider!(LocalMessaging, "local");

/// Subject → subscribers, in process.
#[derive(Default)]
pub(crate) struct Broker {
    state: Arc<Mutex<BrokerState>>,
    /// Picks the queue group member that gets the next message, round robin.
    next_member: AtomicU64,
}

#[derive(Default)]
struct BrokerState {
    next_id: u64,
    /// By id, so iteration (and the queue group round robin) is stable.
    subscribers: BTreeMap<u64, Subscriber>,
}

struct Subscriber {
    pattern: String,
    queue: Option<String>,
    sender: mpsc::Sender<SubMessage>,
}

fn lock(state: &Mutex<BrokerState>) -> MutexGuard<'_, BrokerState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Broker {
    fn state(&self) -> MutexGuard<'_, BrokerState> {
        lock(&self.state)
    }

    fn add(&self, pattern: &str, queue: Option<&str>, capacity: usize) -> LocalSubscription {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let mut state = self.state();
        state.next_id = state.next_id.wrapping_add(1);
        let id = state.next_id;
        state.subscribers.insert(
            id,
            Subscriber {
                pattern: pattern.to_owned(),
                queue: queue.map(str::to_owned),
                sender,
            },
        );
        LocalSubscription {
            receiver,
            broker: Arc::clone(&self.state),
            id,
        }
    }

    /// Hands the message to every matching plain subscriber and to one member of each matching
    /// queue group. Returns how many subscriptions matched (0: nobody listens).
    fn route(&self, subject: &str, reply_to: Option<&str>, body: &[u8]) -> usize {
        let state = self.state();
        let mut groups: HashMap<&str, Vec<&Subscriber>> = HashMap::new();
        let mut recipients = Vec::new();
        for subscriber in state.subscribers.values() {
            if !subject::matches(&subscriber.pattern, subject) {
                continue;
            }
            match &subscriber.queue {
                Some(queue) => groups.entry(queue).or_default().push(subscriber),
                None => recipients.push(subscriber),
            }
        }
        let matched = recipients.len() + groups.values().map(Vec::len).sum::<usize>();
        let turn = self.next_member.fetch_add(1, Ordering::Relaxed);
        for members in groups.values() {
            let len = u64::try_from(members.len()).unwrap_or(u64::MAX).max(1);
            let pick = usize::try_from(turn % len).unwrap_or(0);
            if let Some(member) = members.get(pick) {
                recipients.push(member);
            }
        }
        for subscriber in recipients {
            let message = SubMessage {
                subject: subject.to_owned(),
                reply_to: reply_to.map(str::to_owned),
                body: body.to_vec(),
            };
            if let Err(mpsc::error::TrySendError::Full(_)) = subscriber.sender.try_send(message) {
                tracing::warn!(%subject, subscription = %subscriber.pattern,
                    "slow consumer: {MAX_PENDING_PER_SUBSCRIPTION} messages already wait for \
                     this subscription (MAX_PENDING_PER_SUBSCRIPTION); message dropped");
            }
        }
        matched
    }
}

/// One subscription's queue; dropping it removes the subscription from the broker.
struct LocalSubscription {
    receiver: mpsc::Receiver<SubMessage>,
    broker: Arc<Mutex<BrokerState>>,
    id: u64,
}

impl Stream for LocalSubscription {
    type Item = SubMessage;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<SubMessage>> {
        self.get_mut().receiver.poll_recv(cx)
    }
}

impl Drop for LocalSubscription {
    fn drop(&mut self) {
        lock(&self.broker).subscribers.remove(&self.id);
    }
}

impl Backend for Broker {
    async fn subscribe(
        &self,
        subject: &str,
        queue: Option<&str>,
    ) -> Result<MessageStream, ProviderError> {
        Ok(Box::pin(self.add(
            subject,
            queue,
            MAX_PENDING_PER_SUBSCRIPTION,
        )))
    }

    async fn publish(&self, message: PubMessage) -> Result<(), ProviderError> {
        self.route(&message.subject, message.reply_to.as_deref(), &message.body);
        Ok(())
    }

    async fn request(
        &self,
        subject: String,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<ReplyMessage, ProviderError> {
        let inbox = format!("_INBOX.{}", nuid::next());
        let mut replies = self.add(&inbox, None, 1);
        if self.route(&subject, Some(&inbox), &body) == 0 {
            return Err(ProviderError::Failed(format!(
                "no responders: nothing subscribes to `{subject}`; link an actor with \
                 `subscriptions` covering it, or check the subject"
            )));
        }
        match tokio::time::timeout(timeout, replies.next()).await {
            Ok(Some(reply)) => Ok(ReplyMessage {
                subject: reply.subject,
                reply_to: reply.reply_to,
                body: reply.body,
            }),
            Ok(None) => Err(ProviderError::Unavailable(format!(
                "the local broker closed while waiting for the reply to `{subject}`"
            ))),
            Err(_elapsed) => Err(ProviderError::Failed(format!(
                "request to `{subject}` got no reply within {} ms; its subscribers did not \
                 answer (an actor answers by returning a non-empty reply); raise `timeoutMs` \
                 if the responder is slow",
                timeout.as_millis()
            ))),
        }
    }

    fn health(&self) -> Result<(), String> {
        Ok(())
    }

    async fn close(&self) {
        // Ends every remaining subscription stream (inboxes of requests still waiting).
        self.state().subscribers.clear();
    }
}
