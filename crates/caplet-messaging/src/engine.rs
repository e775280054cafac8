//! What both providers share: bindings, the handling of `Messaging.*` calls, and shutdown.
//!
//! The local broker and NATS differ only in how they subscribe, publish and request
//! ([`Backend`]); checking calls, tracking links and starting and cancelling deliveries is
//! written once here, so both providers behave the same to actors.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use caplet_provider_api::{
    ActorDispatcher, ActorRef, LinkDefinition, LinkValues, ProviderCall, ProviderError,
};
use caplet_wire::contracts::MESSAGING;
use caplet_wire::messaging::{PUBLISH, PubMessage, REQUEST, ReplyMessage, RequestMessage};
use futures_util::Stream;
use serde::de::DeserializeOwned;

use crate::delivery::{self, Subscription, Target};
use crate::limits::{DEFAULT_REQUEST_TIMEOUT, MAX_BODY_BYTES, MAX_REQUEST_TIMEOUT};
use crate::settings::parse_link;
use crate::subject::{self, SubjectKind};

/// Messages of one subscription, in arrival order; dropping it unsubscribes.
pub(crate) type MessageStream =
    Pin<Box<dyn Stream<Item = caplet_wire::messaging::SubMessage> + Send>>;

/// A message broker: the local one or NATS. Subjects and bodies are already checked.
pub(crate) trait Backend: Send + Sync + 'static {
    /// Subscribes to a (possibly wildcard) subject, optionally in a queue group.
    fn subscribe(
        &self,
        subject: &str,
        queue: Option<&str>,
    ) -> impl Future<Output = Result<MessageStream, ProviderError>> + Send;

    /// Publishes one message.
    fn publish(
        &self,
        message: PubMessage,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send;

    /// Publishes with a fresh inbox as `replyTo` and waits up to `timeout` for one reply.
    fn request(
        &self,
        subject: String,
        body: Vec<u8>,
        timeout: Duration,
    ) -> impl Future<Output = Result<ReplyMessage, ProviderError>> + Send;

    /// Whether the broker can serve now.
    fn health(&self) -> Result<(), String>;

    /// Flushes and closes the broker; called once, after every subscription ended.
    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// Implements [`caplet_provider_api::Provider`] for a provider type whose `engine` field is an
/// [`Engine`]: both implementations (`local`, `nats`) are the engine over their backend, and
/// differ only in the implementation name.
macro_rules! engine_provider {
    ($provider:ty, $implementation:literal) => {
        impl caplet_provider_api::Provider for $provider {
            fn contract_id(&self) -> &str {
                caplet_wire::contracts::MESSAGING
            }

            fn implementation(&self) -> &str {
                $implementation
            }

            fn bind(
                &self,
                link: caplet_provider_api::LinkDefinition,
            ) -> caplet_provider_api::BoxFuture<'_, Result<(), caplet_provider_api::ProviderError>>
            {
                Box::pin(self.engine.bind(link))
            }

            fn unbind<'a>(
                &'a self,
                actor: &'a caplet_provider_api::ActorRef,
                link_name: &'a str,
            ) -> caplet_provider_api::BoxFuture<'a, ()> {
                Box::pin(async move { self.engine.unbind(actor, link_name) })
            }

            fn rebind<'a>(
                &'a self,
                previous: &'a caplet_provider_api::ActorRef,
                link: caplet_provider_api::LinkDefinition,
            ) -> caplet_provider_api::BoxFuture<'a, Result<(), caplet_provider_api::ProviderError>>
            {
                Box::pin(self.engine.rebind(previous, link))
            }

            fn handle<'a>(
                &'a self,
                call: caplet_provider_api::ProviderCall<'a>,
            ) -> caplet_provider_api::BoxFuture<
                'a,
                Result<Vec<u8>, caplet_provider_api::ProviderError>,
            > {
                Box::pin(self.engine.handle(call))
            }

            fn health(&self) -> caplet_provider_api::BoxFuture<'_, Result<(), String>> {
                Box::pin(async move { self.engine.health() })
            }

            fn shutdown(&self) -> caplet_provider_api::BoxFuture<'_, ()> {
                Box::pin(self.engine.shutdown())
            }
        }
    };
}
pub(crate) use engine_provider;

type BindingKey = (Arc<str>, String);

/// One bound (actor, link name): the link values it was bound with, and its subscriptions.
#[derive(Default)]
struct Binding {
    values: LinkValues,
    subscriptions: Vec<Subscription>,
}

impl IntoIterator for Binding {
    type Item = Subscription;
    type IntoIter = std::vec::IntoIter<Subscription>;

    fn into_iter(self) -> Self::IntoIter {
        self.subscriptions.into_iter()
    }
}

/// Bindings and call handling over one backend.
pub(crate) struct Engine<B> {
    backend: Arc<B>,
    dispatcher: Arc<dyn ActorDispatcher>,
    bindings: Mutex<HashMap<BindingKey, Binding>>,
    closed: AtomicBool,
}

impl<B: Backend> Engine<B> {
    pub(crate) fn new(backend: Arc<B>, dispatcher: Arc<dyn ActorDispatcher>) -> Self {
        Self {
            backend,
            dispatcher,
            bindings: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
        }
    }

    pub(crate) fn backend(&self) -> &Arc<B> {
        &self.backend
    }

    fn bindings(&self) -> MutexGuard<'_, HashMap<BindingKey, Binding>> {
        self.bindings.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_open(&self) -> Result<(), ProviderError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(ProviderError::Unavailable(
                "the messaging provider has shut down; it takes no more calls or links".into(),
            ));
        }
        Ok(())
    }

    pub(crate) async fn bind(&self, link: LinkDefinition) -> Result<(), ProviderError> {
        self.check_open()?;
        let actor = link.actor;
        let settings = parse_link(&link.values).map_err(|e| {
            ProviderError::BadRequest(format!(
                "messaging link `{}` of actor {actor}: {e}",
                link.link_name
            ))
        })?;
        let key: BindingKey = (Arc::clone(&actor.id), link.link_name.clone());
        // A rebind replaces the subscriptions: stop the old ones first, so no message is
        // delivered twice; the binding itself stays, so calls keep working meanwhile.
        let old = std::mem::take(self.bindings().entry(key.clone()).or_default());
        cancel_all(old);

        let mut subscriptions = Vec::with_capacity(settings.subscriptions.len());
        for spec in &settings.subscriptions {
            let stream = match self
                .backend
                .subscribe(&spec.subject, spec.queue.as_deref())
                .await
            {
                Ok(stream) => stream,
                Err(error) => {
                    cancel_all(subscriptions);
                    cancel_all(self.bindings().remove(&key).into_iter().flatten());
                    return Err(with_context(
                        error,
                        &format!(
                            "subscribing actor {actor} to `{}` (link `{}`)",
                            spec.subject, link.link_name
                        ),
                    ));
                }
            };
            let target = Target {
                actor: Arc::new(std::sync::RwLock::new(actor.clone())),
                operation: settings.operation.clone(),
                pattern: spec.subject.clone(),
                dispatcher: Arc::clone(&self.dispatcher),
                backend: Arc::clone(&self.backend),
            };
            subscriptions.push(delivery::spawn(target, stream));
        }
        let count = subscriptions.len();
        let binding = Binding {
            values: link.values,
            subscriptions,
        };
        let replaced = self.bindings().insert(key.clone(), binding);
        // A concurrent rebind of the same link may have subscribed meanwhile: last one wins.
        cancel_all(replaced.into_iter().flatten());
        if self.closed.load(Ordering::Acquire) {
            // Shut down while subscribing: do not leave deliveries behind.
            cancel_all(self.bindings().remove(&key).into_iter().flatten());
            return self.check_open();
        }
        tracing::info!(actor = %actor.name, link = %link.link_name, subscriptions = count,
            operation = %settings.operation, "messaging link bound");
        Ok(())
    }

    pub(crate) fn unbind(&self, actor: &ActorRef, link_name: &str) {
        let removed = self
            .bindings()
            .remove(&(Arc::clone(&actor.id), link_name.to_owned()));
        if let Some(binding) = removed {
            tracing::info!(actor = %actor.name, link = %link_name,
                subscriptions = binding.subscriptions.len(), "messaging link unbound");
            cancel_all(binding);
        }
    }

    /// Moves `previous`'s binding through `link.link_name` to the new identity `link.actor`.
    /// With the same link values, the running subscriptions are kept and only re-addressed:
    /// no unsubscribe, no gap and no message delivered to both identities. With other values
    /// (or no binding to move) it binds anew and then unbinds `previous`.
    pub(crate) async fn rebind(
        &self,
        previous: &ActorRef,
        link: LinkDefinition,
    ) -> Result<(), ProviderError> {
        self.check_open()?;
        let old_key: BindingKey = (Arc::clone(&previous.id), link.link_name.clone());
        let new_key: BindingKey = (Arc::clone(&link.actor.id), link.link_name.clone());
        if old_key == new_key {
            // Not a new identity: an ordinary bind (unbinding afterwards would undo it).
            return self.bind(link).await;
        }
        let moved = {
            let mut bindings = self.bindings();
            let same = bindings
                .get(&old_key)
                .is_some_and(|binding| binding.values == link.values);
            if same {
                bindings.remove(&old_key).map(|binding| {
                    for subscription in &binding.subscriptions {
                        subscription.retarget(link.actor.clone());
                    }
                    bindings.insert(new_key, binding)
                })
            } else {
                None
            }
        };
        match moved {
            Some(replaced) => {
                cancel_all(replaced.into_iter().flatten());
                tracing::info!(from = %previous, to = %link.actor, link = %link.link_name,
                    "messaging link moved to the actor's new identity in place");
                Ok(())
            }
            None => {
                let link_name = link.link_name.clone();
                self.bind(link).await?;
                self.unbind(previous, &link_name);
                Ok(())
            }
        }
    }

    pub(crate) async fn handle(&self, call: ProviderCall<'_>) -> Result<Vec<u8>, ProviderError> {
        self.check_open()?;
        let key: BindingKey = (Arc::clone(&call.actor.id), call.link_name.to_owned());
        if !self.bindings().contains_key(&key) {
            return Err(ProviderError::NotBound(format!(
                "actor {} has no {MESSAGING} link named `{}`; link it to the messaging provider \
                 in the manifest",
                call.actor, call.link_name
            )));
        }
        match call.operation {
            PUBLISH => {
                let message: PubMessage = decode(call.payload, PUBLISH, "PubMessage")?;
                check_subject(&message.subject, "subject")?;
                if let Some(reply_to) = &message.reply_to {
                    check_subject(reply_to, "replyTo")?;
                }
                check_body(&message.subject, message.body.len())?;
                self.backend.publish(message).await?;
                Ok(Vec::new())
            }
            REQUEST => {
                let request: RequestMessage = decode(call.payload, REQUEST, "RequestMessage")?;
                check_subject(&request.subject, "subject")?;
                check_body(&request.subject, request.body.len())?;
                let timeout = request_timeout(request.timeout_ms);
                let reply = self
                    .backend
                    .request(request.subject, request.body, timeout)
                    .await?;
                caplet_wire::encode(&reply).map_err(|e| {
                    ProviderError::Failed(format!("cannot encode the ReplyMessage: {e}"))
                })
            }
            other => Err(ProviderError::BadRequest(format!(
                "unknown operation `{other}` for {MESSAGING}; the operations are `{PUBLISH}` \
                 and `{REQUEST}`"
            ))),
        }
    }

    pub(crate) fn health(&self) -> Result<(), String> {
        self.check_open().map_err(|e| e.to_string())?;
        self.backend.health()
    }

    pub(crate) async fn shutdown(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        let bindings: Vec<_> = self.bindings().drain().collect();
        let tasks: Vec<_> = bindings
            .into_iter()
            .flat_map(|(_, binding)| binding)
            .map(Subscription::cancel)
            .collect();
        // Each task drains its deliveries within DRAIN_TIMEOUT, so this wait is bounded.
        futures_util::future::join_all(tasks).await;
        self.backend.close().await;
        tracing::info!("messaging provider shut down");
    }
}

impl<B> Drop for Engine<B> {
    /// A provider dropped without `shutdown` still stops its deliveries (they hold the backend).
    fn drop(&mut self) {
        let bindings = std::mem::take(
            self.bindings
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner),
        );
        cancel_all(bindings.into_values().flatten());
    }
}

/// Cancels subscriptions without waiting for their deliveries to drain.
fn cancel_all(subscriptions: impl IntoIterator<Item = Subscription>) {
    for subscription in subscriptions {
        drop(subscription.cancel());
    }
}

/// The timeout a request waits: `timeoutMs`, 0 meaning the default, capped at the maximum.
pub(crate) fn request_timeout(timeout_ms: u32) -> Duration {
    if timeout_ms == 0 {
        DEFAULT_REQUEST_TIMEOUT
    } else {
        Duration::from_millis(u64::from(timeout_ms)).min(MAX_REQUEST_TIMEOUT)
    }
}

fn decode<T: DeserializeOwned>(
    payload: &[u8],
    operation: &str,
    what: &str,
) -> Result<T, ProviderError> {
    caplet_wire::decode(payload).map_err(|e| {
        ProviderError::BadRequest(format!(
            "{e}; the payload of `{operation}` must be a MessagePack {what}"
        ))
    })
}

fn check_subject(subject: &str, field: &str) -> Result<(), ProviderError> {
    subject::validate(subject, SubjectKind::Literal)
        .map_err(|e| ProviderError::BadRequest(format!("`{field}`: {e}")))
}

fn check_body(subject: &str, bytes: usize) -> Result<(), ProviderError> {
    if bytes > MAX_BODY_BYTES {
        return Err(ProviderError::BadRequest(format!(
            "the body for `{subject}` is {bytes} bytes, over the limit of {MAX_BODY_BYTES} \
             (MAX_BODY_BYTES); send large data through a blob store and publish a reference"
        )));
    }
    Ok(())
}

/// Prefixes an error's text with what was being done, keeping its variant.
pub(crate) fn with_context(error: ProviderError, doing: &str) -> ProviderError {
    match error {
        ProviderError::BadRequest(m) => ProviderError::BadRequest(format!("{doing}: {m}")),
        ProviderError::Denied(m) => ProviderError::Denied(format!("{doing}: {m}")),
        ProviderError::Unavailable(m) => ProviderError::Unavailable(format!("{doing}: {m}")),
        ProviderError::NotBound(m) => ProviderError::NotBound(format!("{doing}: {m}")),
        ProviderError::Failed(m) => ProviderError::Failed(format!("{doing}: {m}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_timeouts_default_and_cap() {
        assert_eq!(request_timeout(0), DEFAULT_REQUEST_TIMEOUT);
        assert_eq!(request_timeout(150), Duration::from_millis(150));
        assert_eq!(request_timeout(u32::MAX), MAX_REQUEST_TIMEOUT);
    }
}
