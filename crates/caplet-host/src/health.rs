//! Host health: providers, links without a provider, and each actor's own health operation.
//!
//! [`Host::health`] asks every running actor `Actor.HealthRequest` (the wasmbus health
//! operation, answered by `caplet_guest::register_health_handler`), all at once, each within
//! [`ACTOR_HEALTH_TIMEOUT`]. The call goes through the ordinary dispatch path, so it counts in
//! the actor's metrics and its circuit breaker like any call.
//!
//! - An answer that decodes as a `HealthCheckResponse` is the actor's health, message included.
//! - "No handler registered" (or an answer that is not a health response) means the actor has
//!   no health handler: it is healthy by default, and that version is not asked again.
//! - A guest error, a trap, a broken limit, an open circuit or no answer in time is unhealthy.

use std::sync::Arc;

use caplet_provider_api::{ActorRef, DispatchError};
use caplet_wire::health::{HEALTH_REQUEST, HealthCheckRequest, HealthCheckResponse};

use crate::actors::ActorEntry;
use crate::host::HostInner;
use crate::{ACTOR_HEALTH_TIMEOUT, Host, HostHealth};

/// What the guest SDKs (caplet-guest, wapc-guest) answer for an operation without a handler.
const NO_HANDLER: &str = "No handler registered for function";

/// One actor's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActorHealth {
    /// The actor.
    pub actor: ActorRef,
    /// Its verdict: its own answer, or `true` when it has no health handler.
    pub healthy: bool,
    /// Whether it answered the health operation itself (`false`: no handler, healthy by
    /// default).
    pub has_handler: bool,
    /// The actor's message, or why the check failed.
    pub message: Option<String>,
}

impl ActorHealth {
    fn without_handler(actor: ActorRef) -> Self {
        Self {
            actor,
            healthy: true,
            has_handler: false,
            message: None,
        }
    }

    fn failed(actor: ActorRef, message: String) -> Self {
        Self {
            actor,
            healthy: false,
            has_handler: true,
            message: Some(message),
        }
    }
}

impl Host {
    /// Provider health, links without a provider, and every actor's answer to its health
    /// operation (see the module docs). Takes at most about [`ACTOR_HEALTH_TIMEOUT`] plus the
    /// providers' own checks.
    pub async fn health(&self) -> HostHealth {
        let (mut health, actors) = tokio::join!(self.provider_health(), self.actor_health());
        health.actors = actors;
        health
    }

    /// Every running actor's health, by name. Actors are asked concurrently.
    pub async fn actor_health(&self) -> Vec<ActorHealth> {
        let checks: Vec<_> = self
            .inner
            .actors
            .all()
            .into_iter()
            .map(|entry| tokio::spawn(check(self.inner.clone(), entry)))
            .collect();
        let mut out = Vec::with_capacity(checks.len());
        for check in checks {
            if let Ok(health) = check.await {
                out.push(health);
            }
        }
        out
    }
}

async fn check(inner: Arc<HostInner>, entry: Arc<ActorEntry>) -> ActorHealth {
    let actor = entry.actor.clone();
    let version = entry.current();
    if version.health_handler.known_absent() {
        return ActorHealth::without_handler(actor);
    }
    let payload = caplet_wire::encode(&HealthCheckRequest {}).unwrap_or_default();
    // The call runs in its own task: on timeout it is left to finish (its deadline bounds it)
    // rather than dropped halfway through a guest call.
    let call = {
        let (inner, actor) = (inner.clone(), actor.clone());
        tokio::spawn(async move {
            inner
                .call_entry_by_id(&actor, HEALTH_REQUEST, &payload)
                .await
        })
    };
    let answer = match tokio::time::timeout(ACTOR_HEALTH_TIMEOUT, call).await {
        Err(_) => {
            return ActorHealth::failed(
                actor,
                format!("did not answer its health check within {ACTOR_HEALTH_TIMEOUT:?}"),
            );
        }
        Ok(Err(error)) => {
            return ActorHealth::failed(actor, format!("its health check failed: {error}"));
        }
        Ok(Ok(answer)) => answer,
    };
    match answer {
        Ok(bytes) => match caplet_wire::decode::<HealthCheckResponse>(&bytes) {
            Ok(response) => {
                version.health_handler.set(true);
                ActorHealth {
                    actor,
                    healthy: response.healthy,
                    has_handler: true,
                    message: response.message,
                }
            }
            Err(_) => {
                // It answers every operation the same way (no health contract): not a verdict.
                version.health_handler.set(false);
                ActorHealth::without_handler(actor)
            }
        },
        Err(DispatchError::ActorFailed(message)) if message.contains(NO_HANDLER) => {
            version.health_handler.set(false);
            ActorHealth::without_handler(actor)
        }
        Err(error) => ActorHealth::failed(actor, format!("its health check failed: {error}")),
    }
}
