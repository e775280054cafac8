//! The NATS provider: subscriptions, publish and request/reply on a NATS server.
//!
//! The host must start while NATS is down and recover when it returns, so the client connects
//! in the background and reconnects for ever (async-nats restores subscriptions itself), while
//! calls fail fast with `Unavailable` naming the server instead of queueing behind an outage.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_nats::client::{PublishErrorKind, RequestErrorKind};
use async_nats::connection::State;
use async_nats::{Client, ConnectOptions, Event};
use caplet_provider_api::{ActorDispatcher, ProviderConfig, ProviderError};
use caplet_wire::messaging::{PubMessage, ReplyMessage, SubMessage};
use futures_util::StreamExt;
use tokio::sync::OnceCell;

use crate::engine::{Backend, Engine, MessageStream};
use crate::limits::{
    MAX_BODY_BYTES, MAX_PENDING_PER_SUBSCRIPTION, MAX_REQUEST_TIMEOUT, NATS_CONNECT_TIMEOUT,
    NATS_MAX_RECONNECT_DELAY,
};
use crate::settings::nats_url;

/// The NATS messaging provider (implementation `nats`).
pub struct NatsMessaging {
    engine: Engine<Nats>,
}

impl NatsMessaging {
    /// Builds the provider for the server in config `url` (default
    /// [`crate::limits::DEFAULT_NATS_URL`]). Never waits for the server: when called inside a
    /// Tokio runtime it starts connecting in the background, else on the first use. Fails only
    /// on a bad config.
    pub fn new(
        config: &ProviderConfig,
        dispatcher: Arc<dyn ActorDispatcher>,
    ) -> Result<Self, String> {
        let url = nats_url(config)?;
        let backend = Arc::new(Nats {
            url,
            client: OnceCell::new(),
            closed: AtomicBool::new(false),
        });
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let background = Arc::clone(&backend);
            runtime.spawn(async move {
                if let Err(error) = background.client().await {
                    tracing::warn!(%error, "cannot start the NATS client");
                }
            });
        }
        Ok(Self {
            engine: Engine::new(backend, dispatcher),
        })
    }

    /// The server URL(s) it connects to.
    pub fn url(&self) -> &str {
        &self.engine.backend().url
    }
}

crate::engine::engine_provider!(NatsMessaging, "nats");

/// The NATS backend: one client, created once and reconnecting by itself.
pub(crate) struct Nats {
    url: String,
    client: OnceCell<Client>,
    closed: AtomicBool,
}

impl Nats {
    /// The client, creating it on first use. Creating never waits for the server.
    async fn client(&self) -> Result<&Client, ProviderError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(ProviderError::Unavailable(format!(
                "the NATS connection to {} is closed (provider shut down)",
                self.url
            )));
        }
        self.client.get_or_try_init(|| connect(&self.url)).await
    }

    /// The client if it is connected now; `Unavailable` naming the server otherwise.
    async fn connected(&self) -> Result<&Client, ProviderError> {
        let client = self.client().await?;
        match client.connection_state() {
            State::Connected => Ok(client),
            state => Err(self.unavailable(state)),
        }
    }

    fn unavailable(&self, state: State) -> ProviderError {
        ProviderError::Unavailable(format!(
            "not connected to the NATS server {} (connection {state}); the provider reconnects \
             by itself, retry later",
            self.url
        ))
    }

    /// Maps a failure that may come from a lost connection.
    fn failed(&self, client: &Client, what: String) -> ProviderError {
        match client.connection_state() {
            State::Connected => ProviderError::Failed(what),
            state => self.unavailable(state),
        }
    }
}

async fn connect(url: &str) -> Result<Client, ProviderError> {
    let server = url.to_owned();
    ConnectOptions::new()
        .name("caplet-messaging")
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(NATS_CONNECT_TIMEOUT)
        .reconnect_delay_callback(reconnect_delay)
        .subscription_capacity(MAX_PENDING_PER_SUBSCRIPTION)
        .request_timeout(Some(MAX_REQUEST_TIMEOUT))
        .event_callback(move |event| {
            let server = server.clone();
            async move { log_event(&server, event) }
        })
        .connect(url)
        .await
        .map_err(|e| {
            ProviderError::Unavailable(format!("cannot set up the NATS client for {url}: {e}"))
        })
}

/// 0 ms for the first attempt, then 100 ms doubling up to [`NATS_MAX_RECONNECT_DELAY`].
fn reconnect_delay(attempts: usize) -> Duration {
    if attempts <= 1 {
        return Duration::ZERO;
    }
    let exponent = u32::try_from(attempts.saturating_sub(2))
        .unwrap_or(u32::MAX)
        .min(16);
    Duration::from_millis(100u64.saturating_mul(1 << exponent)).min(NATS_MAX_RECONNECT_DELAY)
}

fn log_event(server: &str, event: Event) {
    match event {
        Event::Connected => tracing::info!(%server, "connected to NATS"),
        Event::Disconnected => {
            tracing::warn!(%server, "disconnected from NATS; reconnecting, calls fail meanwhile");
        }
        Event::SlowConsumer(sid) => tracing::warn!(%server, sid,
            "slow consumer: a subscription's queue is full (MAX_PENDING_PER_SUBSCRIPTION); \
             NATS messages dropped"),
        other => tracing::info!(%server, event = %other, "NATS event"),
    }
}

fn to_sub_message(message: async_nats::Message) -> Option<SubMessage> {
    if message.status.is_some() {
        // Status messages (no responders, ...) are protocol signals, not messages.
        return None;
    }
    if message.payload.len() > MAX_BODY_BYTES {
        tracing::warn!(subject = %message.subject, bytes = message.payload.len(),
            "NATS message over MAX_BODY_BYTES ({MAX_BODY_BYTES}) not delivered");
        return None;
    }
    Some(SubMessage {
        subject: message.subject.to_string(),
        reply_to: message.reply.map(|reply| reply.to_string()),
        body: message.payload.to_vec(),
    })
}

impl Backend for Nats {
    async fn subscribe(
        &self,
        subject: &str,
        queue: Option<&str>,
    ) -> Result<MessageStream, ProviderError> {
        // Subscribing works while disconnected: the client sends it when it (re)connects.
        let client = self.client().await?;
        let subscriber = match queue {
            None => client.subscribe(subject.to_owned()).await,
            Some(queue) => {
                client
                    .queue_subscribe(subject.to_owned(), queue.to_owned())
                    .await
            }
        }
        .map_err(|e| self.failed(client, format!("NATS refused the subscription: {e}")))?;
        Ok(Box::pin(
            subscriber.filter_map(|m| std::future::ready(to_sub_message(m))),
        ))
    }

    async fn publish(&self, message: PubMessage) -> Result<(), ProviderError> {
        let client = self.connected().await?;
        check_server_max_payload(client, &message.subject, message.body.len())?;
        let result = match message.reply_to {
            None => {
                client
                    .publish(message.subject.clone(), message.body.into())
                    .await
            }
            Some(reply_to) => {
                client
                    .publish_with_reply(message.subject.clone(), reply_to, message.body.into())
                    .await
            }
        };
        result.map_err(|e| match e.kind() {
            PublishErrorKind::MaxPayloadExceeded | PublishErrorKind::InvalidSubject => {
                ProviderError::BadRequest(format!("publishing to `{}`: {e}", message.subject))
            }
            _ => self.failed(client, format!("publishing to `{}`: {e}", message.subject)),
        })
    }

    async fn request(
        &self,
        subject: String,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<ReplyMessage, ProviderError> {
        let client = self.connected().await?;
        check_server_max_payload(client, &subject, body.len())?;
        let request = async_nats::Request::new()
            .payload(body.into())
            .timeout(Some(timeout));
        let reply = client
            .send_request(subject.clone(), request)
            .await
            .map_err(|e| match e.kind() {
                RequestErrorKind::TimedOut => ProviderError::Failed(format!(
                    "request to `{subject}` got no reply within {} ms; the responder is slow or \
                 lost the request; raise `timeoutMs` if it is slow",
                    timeout.as_millis()
                )),
                RequestErrorKind::NoResponders => ProviderError::Failed(format!(
                    "no responders: nothing subscribes to `{subject}` on NATS; start a responder \
                 or check the subject"
                )),
                RequestErrorKind::InvalidSubject | RequestErrorKind::MaxPayloadExceeded => {
                    ProviderError::BadRequest(format!("request to `{subject}`: {e}"))
                }
                RequestErrorKind::Other => {
                    self.failed(client, format!("request to `{subject}`: {e}"))
                }
            })?;
        Ok(ReplyMessage {
            subject: reply.subject.to_string(),
            reply_to: reply.reply.map(|r| r.to_string()),
            body: reply.payload.to_vec(),
        })
    }

    fn health(&self) -> Result<(), String> {
        if self.closed.load(Ordering::Acquire) {
            return Err(format!("the NATS connection to {} is closed", self.url));
        }
        match self.client.get().map(Client::connection_state) {
            Some(State::Connected) => Ok(()),
            Some(state) => Err(format!(
                "not connected to the NATS server {} (connection {state}); reconnecting",
                self.url
            )),
            None => Err(format!("connecting to the NATS server {}", self.url)),
        }
    }

    async fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Some(client) = self.client.get() {
            // Flushes what was published and closes the connection.
            if let Err(error) = client.drain().await {
                tracing::debug!(server = %self.url, %error, "draining the NATS client");
            }
        }
    }
}

fn check_server_max_payload(
    client: &Client,
    subject: &str,
    bytes: usize,
) -> Result<(), ProviderError> {
    let max = client.max_payload();
    if max > 0 && bytes > max {
        return Err(ProviderError::BadRequest(format!(
            "the body for `{subject}` is {bytes} bytes, over the NATS server's max_payload of \
             {max} bytes; send less, or raise max_payload on the server"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_delay_backs_off_up_to_the_maximum() {
        assert_eq!(reconnect_delay(1), Duration::ZERO);
        assert_eq!(reconnect_delay(2), Duration::from_millis(100));
        assert_eq!(reconnect_delay(3), Duration::from_millis(200));
        assert_eq!(reconnect_delay(50), NATS_MAX_RECONNECT_DELAY);
        assert_eq!(reconnect_delay(usize::MAX), NATS_MAX_RECONNECT_DELAY);
    }
}
