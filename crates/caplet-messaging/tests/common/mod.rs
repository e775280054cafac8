//! A test stand-in for the host's `ActorDispatcher`: records every delivery and answers with a
//! scripted reply, so provider tests run without the wasm runtime.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use caplet_provider_api::{
    ActorDispatcher, ActorRef, BoxFuture, DispatchError, LinkDefinition, Provider, ProviderCall,
    ProviderError,
};
use caplet_wire::messaging::{
    HANDLE_MESSAGE, PUBLISH, PubMessage, REQUEST, RequestMessage, SubMessage,
};
use tokio::sync::{Notify, Semaphore};

/// Generous bound for anything awaited in tests: a hang fails instead of blocking CI.
pub const WAIT: Duration = Duration::from_secs(20);

/// One recorded delivery.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub actor: String,
    pub actor_id: String,
    pub operation: String,
    pub message: SubMessage,
}

/// How the double answers a delivery.
pub type Answer =
    Box<dyn Fn(&ActorRef, &SubMessage) -> Result<Vec<u8>, DispatchError> + Send + Sync>;

pub struct TestDispatcher {
    calls: Mutex<Vec<Delivered>>,
    changed: Notify,
    answer: Mutex<Answer>,
    /// When set, each call waits for a permit before answering (to hold deliveries in flight).
    gate: Mutex<Option<Arc<Semaphore>>>,
    in_flight: Mutex<(usize, usize)>,
}

impl TestDispatcher {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            calls: Mutex::new(Vec::new()),
            changed: Notify::new(),
            answer: Mutex::new(Box::new(|_, _| Ok(Vec::new()))),
            gate: Mutex::new(None),
            in_flight: Mutex::new((0, 0)),
        })
    }

    /// Answers every delivery with `answer(actor, message)`.
    pub fn answer_with(
        &self,
        answer: impl Fn(&ActorRef, &SubMessage) -> Result<Vec<u8>, DispatchError>
        + Send
        + Sync
        + 'static,
    ) {
        *self.answer.lock().unwrap() = Box::new(answer);
    }

    /// Holds every delivery until a permit of `gate` is available.
    pub fn gate(&self, gate: Arc<Semaphore>) {
        *self.gate.lock().unwrap() = Some(gate);
    }

    pub fn calls(&self) -> Vec<Delivered> {
        self.calls.lock().unwrap().clone()
    }

    /// (now, most ever) deliveries running at once.
    pub fn in_flight(&self) -> (usize, usize) {
        *self.in_flight.lock().unwrap()
    }

    /// Waits until `n` deliveries were recorded (panics after [`WAIT`]).
    pub async fn wait_for(&self, n: usize) -> Vec<Delivered> {
        tokio::time::timeout(WAIT, async {
            loop {
                let notified = self.changed.notified();
                let calls = self.calls();
                if calls.len() >= n {
                    return calls;
                }
                notified.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("expected {n} deliveries, got {:?}", self.calls()))
    }

    /// Waits until the number of running deliveries is `n`.
    pub async fn wait_in_flight(&self, n: usize) {
        tokio::time::timeout(WAIT, async {
            loop {
                let notified = self.changed.notified();
                if self.in_flight().0 == n {
                    return;
                }
                notified.await;
            }
        })
        .await
        .unwrap_or_else(|_| {
            panic!(
                "expected {n} deliveries in flight, got {:?}",
                self.in_flight()
            )
        });
    }
}

impl ActorDispatcher for TestDispatcher {
    fn call_actor<'a>(
        &'a self,
        actor: &'a ActorRef,
        operation: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, DispatchError>> {
        Box::pin(async move {
            let message: SubMessage = caplet_wire::decode(&payload)
                .map_err(|e| DispatchError::Rejected(e.to_string()))?;
            {
                let mut in_flight = self.in_flight.lock().unwrap();
                in_flight.0 += 1;
                in_flight.1 = in_flight.1.max(in_flight.0);
            }
            self.calls.lock().unwrap().push(Delivered {
                actor: actor.name.to_string(),
                actor_id: actor.id.to_string(),
                operation: operation.to_owned(),
                message: message.clone(),
            });
            self.changed.notify_waiters();
            let gate = self.gate.lock().unwrap().clone();
            if let Some(gate) = gate {
                gate.acquire().await.unwrap().forget();
            }
            let result = (self.answer.lock().unwrap())(actor, &message);
            self.in_flight.lock().unwrap().0 -= 1;
            self.changed.notify_waiters();
            result
        })
    }
}

pub fn actor(name: &str) -> ActorRef {
    ActorRef {
        id: format!("M{}", name.to_uppercase()).into(),
        name: name.into(),
    }
}

pub fn link(actor: &ActorRef, values: &[(&str, &str)]) -> LinkDefinition {
    LinkDefinition {
        actor: actor.clone(),
        contract_id: caplet_wire::contracts::MESSAGING.to_owned(),
        link_name: "default".to_owned(),
        values: values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<BTreeMap<_, _>>(),
    }
}

pub fn subscribe(actor: &ActorRef, subscriptions: &str) -> LinkDefinition {
    link(actor, &[("subscriptions", subscriptions)])
}

pub fn publish_call(actor: &ActorRef, subject: &str, body: &[u8]) -> OwnedCall {
    call(
        actor,
        PUBLISH,
        caplet_wire::encode(&PubMessage {
            subject: subject.to_owned(),
            reply_to: None,
            body: body.to_vec(),
        })
        .unwrap(),
    )
}

pub fn request_call(actor: &ActorRef, subject: &str, body: &[u8], timeout_ms: u32) -> OwnedCall {
    call(
        actor,
        REQUEST,
        caplet_wire::encode(&RequestMessage {
            subject: subject.to_owned(),
            body: body.to_vec(),
            timeout_ms,
        })
        .unwrap(),
    )
}

pub fn call(actor: &ActorRef, operation: &str, payload: Vec<u8>) -> OwnedCall {
    OwnedCall {
        actor: actor.clone(),
        operation: operation.to_owned(),
        payload,
    }
}

/// A host call on the `default` link that a test can build ahead and keep ([`ProviderCall`]
/// borrows).
#[derive(Debug, Clone)]
pub struct OwnedCall {
    pub actor: ActorRef,
    pub operation: String,
    pub payload: Vec<u8>,
}

impl OwnedCall {
    pub fn as_call(&self) -> ProviderCall<'_> {
        ProviderCall {
            actor: &self.actor,
            link_name: "default",
            operation: &self.operation,
            payload: &self.payload,
        }
    }
}

/// `Provider::handle` for an [`OwnedCall`].
pub trait HandleOwned {
    fn handle_owned(&self, call: OwnedCall) -> BoxFuture<'_, Result<Vec<u8>, ProviderError>>;
}

impl<P: Provider + ?Sized> HandleOwned for P {
    fn handle_owned(&self, call: OwnedCall) -> BoxFuture<'_, Result<Vec<u8>, ProviderError>> {
        Box::pin(async move { self.handle(call.as_call()).await })
    }
}

pub const DEFAULT_OPERATION: &str = HANDLE_MESSAGE;
