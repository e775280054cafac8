//! The circuit breaker: an always-trapping actor opens its circuit after N crashes, then fails
//! fast without running; after the open period one probe goes through; a guest error is not a
//! crash; a healthy actor next to it is unaffected.

use std::time::Duration;

use caplet_host::{BreakerConfig, DispatchError, HostConfig};

use crate::common::*;

const FAILURES: u32 = 5;
const OPEN: Duration = Duration::from_millis(300);

fn host(issuer: &Issuer) -> caplet_host::Host {
    issuer.host_with(HostConfig {
        issuers: vec![issuer.account.public_key()],
        breaker: BreakerConfig {
            failures: FAILURES,
            open_for: OPEN,
        },
        ..HostConfig::default()
    })
}

fn metric(text: &str, name: &str, actor: &str) -> u64 {
    let prefix = format!("{name}{{actor=\"{actor}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_trapping_actor_opens_its_circuit_and_a_probe_closes_it() {
    let issuer = Issuer::new();
    let host = host(&issuer);
    let (module, _) = issuer.sign(PROBE, "bad", &[]);
    host.start_actor("bad", module, limits(), 1).await.unwrap();

    for _ in 0..FAILURES {
        let error = host.call_actor("bad", "trap", b"").await.unwrap_err();
        assert!(matches!(error, DispatchError::ActorCrashed(_)), "{error:?}");
    }
    let text = host.metrics_text().await;
    assert_eq!(metric(&text, "caplet_actor_breaker_open", "bad"), 1);
    assert_eq!(
        metric(&text, "caplet_actor_traps_total", "bad"),
        u64::from(FAILURES)
    );

    // Open: even a healthy operation fails fast, and the guest does not run (no new trap).
    for _ in 0..50 {
        let error = host.call_actor("bad", "trap", b"").await.unwrap_err();
        let DispatchError::Overloaded(message) = &error else {
            panic!("{error:?}");
        };
        assert!(
            message.contains("failing repeatedly; circuit open for"),
            "{message}"
        );
        assert_eq!(error.http_status(), 503);
    }
    let text = host.metrics_text().await;
    assert_eq!(
        metric(&text, "caplet_actor_traps_total", "bad"),
        u64::from(FAILURES)
    );

    // Half-open: a failing probe re-opens at once.
    tokio::time::sleep(OPEN + Duration::from_millis(50)).await;
    let error = host.call_actor("bad", "trap", b"").await.unwrap_err();
    assert!(matches!(error, DispatchError::ActorCrashed(_)), "{error:?}");
    let error = host.call_actor("bad", "echo", b"x").await.unwrap_err();
    assert!(matches!(error, DispatchError::Overloaded(_)), "{error:?}");

    // A succeeding probe closes it.
    tokio::time::sleep(OPEN + Duration::from_millis(50)).await;
    assert_eq!(host.call_actor("bad", "echo", b"x").await.unwrap(), b"x");
    assert_eq!(host.call_actor("bad", "echo", b"y").await.unwrap(), b"y");
    let text = host.metrics_text().await;
    assert_eq!(metric(&text, "caplet_actor_breaker_open", "bad"), 0);
}

#[tokio::test]
async fn guest_errors_do_not_open_the_circuit() {
    let issuer = Issuer::new();
    let host = host(&issuer);
    let (module, _) = issuer.sign(PROBE, "grumpy", &[]);
    host.start_actor("grumpy", module, limits(), 1)
        .await
        .unwrap();
    for _ in 0..(FAILURES * 4) {
        let error = host.call_actor("grumpy", "fail", b"").await.unwrap_err();
        assert!(matches!(error, DispatchError::ActorFailed(_)), "{error:?}");
    }
    // Crashes interleaved with successes never reach N in a row.
    for _ in 0..(FAILURES * 2) {
        let _ = host.call_actor("grumpy", "trap", b"").await;
        host.call_actor("grumpy", "echo", b"").await.unwrap();
    }
    let text = host.metrics_text().await;
    assert_eq!(metric(&text, "caplet_actor_breaker_open", "grumpy"), 0);
}

#[tokio::test]
async fn a_healthy_actor_is_unaffected_by_a_failing_neighbour() {
    let issuer = Issuer::new();
    let host = host(&issuer);
    let (bad, _) = issuer.sign(PROBE, "bad", &[]);
    let (good, _) = issuer.sign(PROBE, "good", &[]);
    host.start_actor("bad", bad, limits(), 1).await.unwrap();
    host.start_actor("good", good, limits(), 2).await.unwrap();
    for i in 0..300u32 {
        let _ = host.call_actor("bad", "trap", b"").await;
        let payload = i.to_le_bytes();
        assert_eq!(
            host.call_actor("good", "echo", &payload).await.unwrap(),
            payload
        );
    }
    let text = host.metrics_text().await;
    assert_eq!(metric(&text, "caplet_actor_breaker_open", "bad"), 1);
    assert_eq!(metric(&text, "caplet_actor_breaker_open", "good"), 0);
    assert_eq!(metric(&text, "caplet_actor_traps_total", "good"), 0);
}
