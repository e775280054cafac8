//! Calling actors: the one path every call into an actor takes, whether it comes from a
//! provider (HTTP request, message), from another actor, or from the host's own API.
//!
//! It takes the actor's current version at call time (so a swap applies to the next call),
//! counts the call as in flight (so shutdown can wait for it), and turns runtime errors into a
//! [`DispatchError`] that says whose fault it was. The actor's circuit breaker
//! ([`crate::breaker`]) is asked first: an actor that keeps crashing is not run at all for a
//! while, and its crashes are counted and logged at a limited rate.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use caplet_provider_api::{ActorDispatcher, ActorRef, BoxFuture, DispatchError};
use caplet_runtime::CallError;

use crate::actors::ActorEntry;
use crate::breaker::{self, Outcome};
use crate::host::HostInner;
use crate::router::CallContext;

/// Runs `operation` on `entry`'s current version and records it in the actor's metrics.
/// `parent` is the calling actor's context for actor-to-actor calls.
pub(crate) async fn invoke(
    host: &Arc<HostInner>,
    entry: Arc<ActorEntry>,
    operation: &str,
    payload: &[u8],
    parent: Option<Arc<CallContext>>,
) -> Result<Vec<u8>, DispatchError> {
    let breaker_config = host.config.breaker;
    // The context owns the entry and the version for the call; everything below borrows them
    // from it (each clone of a shared `Arc` is a write to a cache line all workers share).
    let context = CallContext::new(host.clone(), entry, parent);
    let entry = &context.entry;
    let permit = match entry.breaker.admit(&breaker_config) {
        Ok(permit) => permit,
        Err(remaining) => {
            let error = breaker::open_error(&entry.actor.name, remaining);
            entry
                .metrics
                .record(operation, Duration::ZERO, Some(&error));
            return Err(error);
        }
    };
    let started = Instant::now();
    let result = context
        .version
        .module
        .call_at(started, operation, payload, context.clone())
        .await
        .map_err(|error| classify(error, context.take_unavailable()));
    let outcome = Outcome::of(&result);
    if let (Outcome::Crashed, Err(error)) = (outcome, &result) {
        entry.breaker.log_trap(&entry.actor.name, operation, error);
    }
    permit.finish(&breaker_config, &entry.actor.name, outcome);
    entry
        .metrics
        .record(operation, started.elapsed(), result.as_ref().err());
    result
}

/// Maps a runtime error to the dispatch error providers act on.
fn classify(error: CallError, unavailable: Option<String>) -> DispatchError {
    match error {
        CallError::Guest { message } => match unavailable {
            Some(reason) => DispatchError::CapabilityUnavailable(reason),
            None => DispatchError::ActorFailed(message),
        },
        CallError::Deadline { .. } => DispatchError::Timeout(error.to_string()),
        CallError::Capacity { .. } => DispatchError::Overloaded(error.to_string()),
        CallError::PayloadTooLarge { .. } => DispatchError::Rejected(error.to_string()),
        CallError::MemoryLimit { .. }
        | CallError::StackOverflow { .. }
        | CallError::Trap { .. }
        | CallError::Init { .. } => DispatchError::ActorCrashed(error.to_string()),
    }
}

/// Counts one external call as in flight for as long as it lives.
pub(crate) struct InFlight<'a>(&'a HostInner);

impl<'a> InFlight<'a> {
    pub(crate) fn enter(host: &'a HostInner) -> Self {
        host.in_flight.increment();
        Self(host)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        // Only a shutdown waits for the count to reach zero, and it sets `stopping` first: while
        // the host runs, a call out neither sums the stripes nor calls `notify_waiters` (which
        // takes a lock every worker would contend for). Everything is SeqCst, here and in
        // `Host::shutdown`: if the shutdown's sum missed a decrement, that decrement comes after
        // `stopping` was set, so the call that made the count zero sees `stopping`, sums to
        // zero and wakes the shutdown.
        self.0.in_flight.decrement();
        if self.0.stopping.load(Ordering::SeqCst) && self.0.in_flight.sum() == 0 {
            self.0.idle.notify_waiters();
        }
    }
}

/// The [`ActorDispatcher`] handed to providers. It holds the host weakly, so providers kept
/// by the host do not keep the host alive.
#[derive(Clone)]
pub struct HostDispatcher {
    pub(crate) host: Weak<HostInner>,
}

impl ActorDispatcher for HostDispatcher {
    fn call_actor<'a>(
        &'a self,
        actor: &'a ActorRef,
        operation: &'a str,
        payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, DispatchError>> {
        Box::pin(async move {
            let Some(host) = self.host.upgrade() else {
                return Err(DispatchError::Overloaded(
                    "the host has stopped".to_string(),
                ));
            };
            host.call_entry_by_id(actor, operation, &payload).await
        })
    }
}

impl HostInner {
    /// An external call (from a provider or the host API) to the actor with `actor.id`.
    pub(crate) async fn call_entry_by_id(
        self: &Arc<Self>,
        actor: &ActorRef,
        operation: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>, DispatchError> {
        if self.stopping.load(Ordering::Acquire) {
            return Err(DispatchError::Overloaded(
                "the host is shutting down".to_string(),
            ));
        }
        let Some(entry) = self.actors.by_id(&actor.id) else {
            return Err(DispatchError::ActorNotRunning(format!(
                "actor `{}` is not running on this host",
                actor.name
            )));
        };
        let _in_flight = InFlight::enter(self);
        invoke(self, entry, operation, payload, None).await
    }
}
