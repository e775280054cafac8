//! Lifecycle: duplicate names refused, stopped actors unreachable and unbound, and graceful
//! shutdown that lets in-flight calls finish before providers close.

use std::sync::Arc;
use std::time::Duration;

use caplet_host::{
    ActorRef, BoxFuture, DispatchError, HostError, LinkDefinition, Provider, ProviderCall,
    ProviderError,
};
use caplet_wire::contracts::KEY_VALUE;

use crate::common::*;

#[tokio::test]
async fn duplicate_names_and_identities_are_refused() {
    let issuer = Issuer::new();
    let host = issuer.host();
    let (module, _) = issuer.sign(PROBE, "a", &[]);
    host.start_actor("a", module.clone(), limits(), 1)
        .await
        .unwrap();
    let same_name = host
        .start_actor("a", module.clone(), limits(), 1)
        .await
        .unwrap_err();
    assert!(
        matches!(same_name, HostError::DuplicateActor { .. }),
        "{same_name}"
    );
    let same_key = host
        .start_actor("b", module, limits(), 1)
        .await
        .unwrap_err();
    assert!(
        same_key.to_string().contains("same module key"),
        "{same_key}"
    );
}

#[tokio::test]
async fn stopped_actor_is_unbound_and_unreachable() {
    let issuer = Issuer::new();
    let host = issuer.host();
    let (module, _) = issuer.sign(PROBE, "kv", &[KEY_VALUE]);
    let actor = host.start_actor("kv", module, limits(), 2).await.unwrap();
    let kv = Recorder::new(KEY_VALUE, Ok(Vec::new()));
    host.add_provider("default", kv.clone()).await.unwrap();
    host.put_link("kv", KEY_VALUE, "default", Default::default())
        .await
        .unwrap();
    assert_eq!(
        host.actors()[0].idle_instances,
        2,
        "instances are warmed at start"
    );
    host.stop_actor("kv").await.unwrap();
    assert!(kv.bound.lock().unwrap().is_empty());
    let dispatcher = host.dispatcher();
    let error = dispatcher
        .call_actor(&actor, "echo", Vec::new())
        .await
        .unwrap_err();
    assert!(
        matches!(error, DispatchError::ActorNotRunning(_)),
        "{error:?}"
    );
}

/// A provider whose calls take a while, to keep a call in flight during shutdown.
struct Slow;

impl Provider for Slow {
    fn contract_id(&self) -> &str {
        KEY_VALUE
    }
    fn implementation(&self) -> &str {
        "slow"
    }
    fn bind(&self, _: LinkDefinition) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(async { Ok(()) })
    }
    fn unbind<'a>(&'a self, _: &'a ActorRef, _: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
    fn handle<'a>(&'a self, _: ProviderCall<'a>) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>> {
        Box::pin(async {
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(b"late".to_vec())
        })
    }
    fn health(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

#[tokio::test]
async fn shutdown_finishes_in_flight_calls_then_refuses_new_ones() {
    let issuer = Issuer::new();
    let host = issuer.host();
    let (module, _) = issuer.sign(PROBE, "kv", &[KEY_VALUE]);
    host.start_actor("kv", module, limits(), 1).await.unwrap();
    host.add_provider("default", Arc::new(Slow)).await.unwrap();
    host.put_link("kv", KEY_VALUE, "default", Default::default())
        .await
        .unwrap();
    let payload = host_call("default", KEY_VALUE, "KeyValue.Get", b"k");
    let in_flight = {
        let host = host.clone();
        tokio::spawn(async move { host.call_actor("kv", "host_call", &payload).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let abandoned = host.shutdown().await;
    assert_eq!(abandoned, 0);
    assert_eq!(in_flight.await.unwrap().unwrap(), b"late");
    let error = host.call_actor("kv", "echo", b"").await.unwrap_err();
    assert!(matches!(error, DispatchError::Overloaded(_)), "{error:?}");
    assert!(host.health().await.providers.is_empty());
}
