//! Actor health: the host asks each actor's `Actor.HealthRequest` handler (the probe has one,
//! driven by its `set_health` operation); an actor without a handler is healthy by default and
//! is not asked again; an unhealthy answer, a handler error or a trap degrades the host.

use caplet_host::ActorHealth;

use crate::common::*;

const HELLO: &[u8] = include_bytes!("../../../../guests/out/hello.wasm");

/// A host running the probe (one instance, so `set_health` sticks) and hello (no handler).
async fn deployed() -> caplet_host::Host {
    let issuer = Issuer::new();
    let host = issuer.host();
    let (probe, _) = issuer.sign(PROBE, "probe", &[]);
    host.start_actor("probe", probe, limits(), 1).await.unwrap();
    let (hello, _) = issuer.sign(HELLO, "hello", &[]);
    host.start_actor("hello", hello, limits(), 1).await.unwrap();
    host
}

fn of<'a>(actors: &'a [ActorHealth], name: &str) -> &'a ActorHealth {
    actors.iter().find(|a| &*a.actor.name == name).unwrap()
}

#[tokio::test]
async fn a_handler_answers_and_an_actor_without_one_is_healthy_by_default() {
    let host = deployed().await;
    let health = host.health().await;
    assert!(health.is_healthy(), "{health:?}");
    let names: Vec<&str> = health.actors.iter().map(|a| &*a.actor.name).collect();
    assert_eq!(names, ["hello", "probe"]);
    let probe = of(&health.actors, "probe");
    assert!(probe.healthy && probe.has_handler, "{probe:?}");
    assert_eq!(probe.message.as_deref(), Some("probe ok"));
    let hello = of(&health.actors, "hello");
    assert!(hello.healthy && !hello.has_handler, "{hello:?}");
    assert_eq!(hello.message, None);

    // The version without a handler is not asked again; the probe is asked every time.
    host.health().await;
    let metrics = host.metrics_text().await;
    let count = |actor: &str| {
        let prefix = format!(
            "caplet_actor_call_duration_seconds_count{{actor=\"{actor}\",operation=\"Actor.HealthRequest\"}} "
        );
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {metrics}"))
            .to_string()
    };
    assert_eq!(count("hello"), "1");
    assert_eq!(count("probe"), "2");
    // Inventories and metrics run no guest code.
    assert!(host.provider_health().await.actors.is_empty());
}

#[tokio::test]
async fn an_unhealthy_answer_degrades_the_host_with_the_actors_message() {
    let host = deployed().await;
    host.call_actor("probe", "set_health", b"unhealthy:database unreachable")
        .await
        .unwrap();
    let health = host.health().await;
    assert!(!health.is_healthy());
    let probe = of(&health.actors, "probe");
    assert!(!probe.healthy && probe.has_handler, "{probe:?}");
    assert_eq!(probe.message.as_deref(), Some("database unreachable"));
    assert!(of(&health.actors, "hello").healthy);

    host.call_actor("probe", "set_health", b"healthy")
        .await
        .unwrap();
    assert!(host.health().await.is_healthy());
}

#[tokio::test]
async fn a_failing_or_trapping_handler_is_unhealthy() {
    let host = deployed().await;
    host.call_actor("probe", "set_health", b"fail:cannot tell")
        .await
        .unwrap();
    let health = host.health().await;
    let probe = of(&health.actors, "probe");
    assert!(!probe.healthy, "{probe:?}");
    let message = probe.message.clone().unwrap();
    assert!(message.contains("cannot tell"), "{message}");
    assert!(!health.is_healthy());

    host.call_actor("probe", "set_health", b"trap")
        .await
        .unwrap();
    let health = host.health().await;
    let probe = of(&health.actors, "probe");
    assert!(!probe.healthy, "{probe:?}");
    let message = probe.message.clone().unwrap();
    assert!(message.contains("its health check failed"), "{message}");
    // The trap discarded that instance; a fresh one answers healthy again (its default).
    assert!(host.health().await.is_healthy());
    assert_eq!(host.call_actor("probe", "echo", b"x").await.unwrap(), b"x");
}
