//! D. Traps, panics and output: a guest panicking inside a provider callback fails only that
//! invocation; guest output is bounded and sanitised; host decoders never panic on hostile
//! bytes; the host crates deny unwrap/expect/indexing/panic.

use std::sync::Arc;
use std::time::{Duration, Instant};

use caplet_host::{DispatchError, Host, HostConfig};
use caplet_runtime::{EngineLimits, Limits, NoHost};
use caplet_wire::contracts::{KEY_VALUE, LOGGING};
use caplet_wire::logging::{LogEntry, WRITE_LOG};

use crate::common::*;

/// A guest that traps (`unreachable`) on every call and logs "instantiated" from
/// `wapc_init`, so every new instance shows in the log.
fn trapper() -> Vec<u8> {
    wapc(
        1,
        b"instantiated",
        r#"(func (export "wapc_init") (call $log (i32.const 0) (i32.const 12)))"#,
        "(unreachable)",
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len().max(1)) - 1;
    sorted.get(at).copied().unwrap_or_default()
}

/// D1: a trap storm, a guest trapping on every call at 1000 rps over HTTP (4 keep-alive
/// connections) for 60 s (`CAPLET_D1_SECONDS`), with the default breaker (20 crashes, 5 s
/// open), while a control actor on another address takes 50 rps (a connection each). The
/// host stays alive; the control answers ≥ 99.9 % with 200; the circuit opens after 20 traps
/// and then every request gets a fast 503 without running or instantiating the guest (one
/// probe per open period may trap: traps ≤ 20 + seconds / 5 + 2, instantiations ≤ traps +
/// 2); trap log lines are at most one per second for the actor, the next line says how many
/// were suppressed, and `caplet_actor_traps_total` counts every trap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trap_storm_is_broken_by_the_circuit_and_logged_at_a_limited_rate() {
    let _lock = exclusive().await;
    let seconds: u64 = std::env::var("CAPLET_D1_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let duration = Duration::from_secs(seconds);
    let capture = LogCapture::start();
    let deployment = Deployment::new();
    deployment.add("d1-storm", &trapper(), &["wasmcloud:httpserver"]);
    deployment.add("control", &http_actor("ok"), &["wasmcloud:httpserver"]);
    let (storm_addr, control_addr) = (free_addr(), free_addr());
    deployment.manifest(&format!(
        "{}{}",
        http_actor_manifest("d1-storm", &storm_addr, 1000),
        http_actor_manifest("control", &control_addr, 2000)
    ));
    let running = deployment.launch().await;
    wait_listening(&storm_addr).await;
    wait_listening(&control_addr).await;

    let begun = Instant::now();
    let control = {
        let addr = control_addr.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let (mut statuses, mut latencies) = (Vec::new(), Vec::new());
            while begun.elapsed() < duration {
                tick.tick().await;
                let started = Instant::now();
                statuses.push(get(&addr, "/health").await.0);
                latencies.push(started.elapsed());
            }
            (statuses, latencies)
        })
    };
    let storms: Vec<_> = (0..4)
        .map(|_| {
            let addr = storm_addr.clone();
            tokio::spawn(async move {
                let mut connection = KeepAlive::new(&addr);
                let mut tick = tokio::time::interval(Duration::from_millis(4));
                let mut results = Vec::new();
                while begun.elapsed() < duration {
                    tick.tick().await;
                    let started = Instant::now();
                    let status = connection.get("/").await;
                    results.push((status, started.elapsed()));
                }
                results
            })
        })
        .collect();
    let mut results = Vec::new();
    for storm in storms {
        results.extend(storm.await.unwrap());
    }
    let (statuses, control_latencies) = control.await.unwrap();
    let took = begun.elapsed();

    // The host is alive and the control still serves.
    assert_eq!(get(&control_addr, "/health").await.0, 200);
    let metrics = running.host.metrics_text().await;
    let metric = |name: &str| -> u64 {
        let prefix = format!("{name}{{actor=\"d1-storm\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in the metrics"))
    };
    let traps = metric("caplet_actor_traps_total");
    let count = |status: u16| results.iter().filter(|(s, _)| *s == status).count();
    let (crashed, refused) = (count(500), count(503));
    let mut fast: Vec<Duration> = results
        .iter()
        .filter(|(s, _)| *s == 503)
        .map(|(_, latency)| *latency)
        .collect();
    fast.sort();
    let instantiations = capture
        .lines("module=d1-storm")
        .iter()
        .filter(|l| l.contains("instantiated"))
        .count();
    let trap_lines = capture.lines("actor `d1-storm` crashed in `");
    let control_ok = statuses.iter().filter(|s| **s == 200).count();
    let mut control_latencies = control_latencies;
    control_latencies.sort();
    eprintln!(
        "D1: {} storm requests in {took:?} ({:.0} rps): {crashed} × 500, {refused} × 503 \
         (p50 {:?}, p99 {:?}, max {:?}); traps {traps}, instantiations {instantiations}, trap \
         log lines {}; control {control_ok}/{} × 200 (p50 {:?}, p99 {:?}, max {:?})",
        results.len(),
        results.len() as f64 / took.as_secs_f64(),
        percentile(&fast, 0.5),
        percentile(&fast, 0.99),
        fast.last().copied().unwrap_or_default(),
        trap_lines.len(),
        statuses.len(),
        percentile(&control_latencies, 0.5),
        percentile(&control_latencies, 0.99),
        control_latencies.last().copied().unwrap_or_default(),
    );

    // The storm really ran at the row's rate, and every request was answered.
    assert!(
        results.len() as u64 >= 900 * seconds,
        "only {} storm requests in {seconds} s",
        results.len()
    );
    assert_eq!(
        crashed + refused,
        results.len(),
        "other statuses in the storm"
    );
    // The circuit opened after the threshold; afterwards only one probe per open period ran.
    let threshold = u64::from(caplet_host::DEFAULT_BREAKER_FAILURES);
    let open_periods = seconds / caplet_host::DEFAULT_BREAKER_OPEN.as_secs() + 2;
    assert!(traps >= threshold, "traps {traps}");
    assert_eq!(
        metric("caplet_actor_breaker_open"),
        1,
        "the circuit is open"
    );
    assert!(traps <= threshold + open_periods, "traps {traps}");
    assert_eq!(crashed as u64, traps, "every 500 is a counted trap");
    // Fast 503s, without instantiating: one instance at start, one after each trap.
    assert!(
        instantiations as u64 <= traps + 2,
        "{instantiations} instantiations for {traps} traps"
    );
    assert!(
        percentile(&fast, 0.99) < Duration::from_millis(50),
        "slow 503s"
    );
    // Trap log lines: at most one per second, with the suppressed count.
    assert!(
        trap_lines.len() as u64 <= took.as_secs() + 1,
        "{} trap lines in {took:?}",
        trap_lines.len()
    );
    // The suppressed count rides on the next line that gets through. The first 20 traps fall
    // within one second, so that next line is the probe after the first open period: a run
    // that ends before it (`CAPLET_D1_SECONDS` of 6 or less) has nothing more to show.
    if duration > caplet_host::DEFAULT_BREAKER_OPEN + Duration::from_secs(1) {
        assert!(
            trap_lines.iter().any(|l| l.contains("more suppressed")),
            "{trap_lines:?}"
        );
    }
    // The control: ≥ 99.9 % success at 50 rps.
    assert!(
        statuses.len() as u64 >= 45 * seconds,
        "only {} control requests",
        statuses.len()
    );
    assert!(
        control_ok * 1000 >= statuses.len() * 999,
        "control {control_ok}/{}",
        statuses.len()
    );
    running.host.shutdown().await;
}

/// D2: a guest that panics while serving a provider's callback (the provider's dispatcher
/// path, as the HTTP server and subscriptions use) fails that invocation only; the provider
/// stays healthy and its next calls, and the actor's host calls through it, succeed.
#[tokio::test]
async fn guest_panic_in_a_provider_callback_fails_only_that_invocation() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    let (probe, _) = issuer.sign(PROBE, "probe", &[KEY_VALUE]);
    host.start_actor("probe", probe, deadline(2000), 2)
        .await
        .unwrap();
    let kv = Slow::new(KEY_VALUE, Duration::ZERO, Ok(b"value".to_vec()));
    host.add_provider("default", kv.clone()).await.unwrap();
    host.put_link("probe", KEY_VALUE, "default", Default::default())
        .await
        .unwrap();
    let actor = host.actors()[0].actor.clone();
    let dispatcher = host.dispatcher();
    let get = host_call("default", KEY_VALUE, "KeyValue.Get", b"k");
    for round in 0..5 {
        let error = dispatcher
            .call_actor(&actor, "panic", b"guest panic".to_vec())
            .await
            .unwrap_err();
        assert!(matches!(error, DispatchError::ActorCrashed(_)), "{error:?}");
        let reply = dispatcher
            .call_actor(&actor, "host_call", get.clone())
            .await
            .unwrap();
        assert_eq!(reply, b"value", "round {round}");
    }
    let health = host.health().await;
    assert!(health.is_healthy(), "{health:?}");
    assert_eq!(kv.started(), 5);
}

/// A guest that logs its whole request `count` times in one call (`__guest_request` puts
/// the request at 64), for a burst no scheduler can spread out.
fn console_flooder(count: u32) -> Vec<u8> {
    wapc(
        20,
        b"",
        "",
        &format!(
            r#"(call $request (i32.const 0) (i32.const 64))
               (block $done (loop $again
                 (br_if $done (i32.ge_u (local.get $i) (i32.const {count})))
                 (call $log (i32.const 64) (local.get $req_len))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br $again)))
               (call $response (i32.const 0) (i32.const 0))
               (i32.const 1)"#
        ),
    )
}

/// Whether `lines` holds a line starting with `prefix` (a forged log line).
fn forged(text: &str) -> bool {
    text.lines().any(|line| line.starts_with("FAKE"))
}

/// D3 (waPC guests have no WASI stdout/stderr; their output is `__console_log`): 1 MiB console
/// lines full of terminal escape sequences, 64 in one call (WAT) and 64 calls of one (the
/// probe, through the guest SDK). Every line reaching the log is cut to
/// `max_guest_text_bytes` and marked `[truncated]`, with every control character escaped (ESC
/// shows as `\u{1b}`, no ESC or BEL byte, no forged line); at most
/// `MAX_CONSOLE_LINES_PER_SECOND` lines per instance per second get through, the rest are
/// dropped unread and counted (`caplet_guest_log_lines_dropped_total`), and the next line says
/// how many; host memory grows < 64 MiB.
#[tokio::test]
async fn guest_output_is_truncated_rate_limited_and_escape_sequences_neutralised() {
    let _lock = exclusive().await;
    let capture = LogCapture::start();
    let issuer = Issuer::new();
    let host = issuer.host();
    let limits = Limits {
        max_payload_bytes: 2 << 20,
        ..deadline(5000)
    };
    let (flooder, _) = issuer.sign(&console_flooder(64), "d3-burst", &[]);
    host.start_actor("d3-burst", flooder, limits, 1)
        .await
        .unwrap();
    let (probe, _) = issuer.sign(PROBE, "d3-probe", &[]);
    host.start_actor("d3-probe", probe, limits, 1)
        .await
        .unwrap();
    let mut line = b"\x1b[2J\x1b]0;pwned\x07\r\nFAKE host: ok\n".repeat(1 << 15);
    line.truncate(1 << 20);
    let per_second = caplet_runtime::MAX_CONSOLE_LINES_PER_SECOND as usize;
    let text_limit = caplet_runtime::DEFAULT_MAX_GUEST_TEXT_BYTES;

    let counters = caplet_runtime::console_log_stats();
    let rss_before = rss_bytes();
    // 64 MiB offered in one call: 20 lines logged, 44 dropped.
    let begun = Instant::now();
    host.call_actor("d3-burst", "flood", &line).await.unwrap();
    let burst_took = begun.elapsed();
    // 64 MiB offered by 64 calls through the guest SDK.
    let begun = Instant::now();
    for _ in 0..64 {
        host.call_actor("d3-probe", "log", &line).await.unwrap();
    }
    let probe_took = begun.elapsed();
    let rss_growth = rss_bytes().saturating_sub(rss_before);
    // A new window: the next line says how many were dropped before it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    host.call_actor("d3-burst", "flood", b"after the flood")
        .await
        .unwrap();
    let after = caplet_runtime::console_log_stats();

    let output = capture.bytes();
    let text = String::from_utf8_lossy(&output).to_string();
    let guest_lines = |module: &str| -> Vec<String> {
        capture
            .lines(&format!("module={module}"))
            .into_iter()
            .filter(|l| l.contains("caplet_runtime::guest"))
            .collect()
    };
    let burst = guest_lines("d3-burst");
    let probe = guest_lines("d3-probe");
    eprintln!(
        "D3: burst call {burst_took:?}, 64 probe calls {probe_took:?}; logged {} + {} lines, \
         {} bytes; dropped {}, truncated {}; RSS +{} KiB",
        burst.len(),
        probe.len(),
        output.len(),
        after.dropped - counters.dropped,
        after.truncated - counters.truncated,
        rss_growth >> 10
    );
    // Neutralised: no raw ESC or BEL anywhere in the log, escapes shown, no forged line.
    assert!(!output.contains(&0x1b), "an ESC byte reached the log");
    assert!(!output.contains(&0x07), "a BEL byte reached the log");
    assert!(!forged(&text), "a guest forged a log line");
    assert!(
        text.contains(r"\u{1b}[2J\u{1b}]0;pwned\u{7}\r\nFAKE host: ok\n"),
        "escape sequences are shown escaped"
    );
    // Rate-limited: one burst window of 20 lines, then 20 more (the line after the pause,
    // which reports the 44 dropped, and 19 of its own 64).
    let flood_lines: Vec<&String> = burst.iter().filter(|l| l.contains("FAKE")).collect();
    assert_eq!(flood_lines.len(), per_second, "burst lines logged");
    let reports: Vec<&String> = burst
        .iter()
        .filter(|l| l.contains("earlier lines dropped"))
        .collect();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].contains("after the flood [44 earlier lines dropped: over 20 lines per second]"),
        "{}",
        reports[0]
    );
    assert_eq!(burst.len(), 2 * per_second);
    let windows = probe_took.as_secs() as usize + 1;
    assert!(
        !probe.is_empty() && probe.len() <= per_second * windows + windows,
        "{} probe lines in {probe_took:?}",
        probe.len()
    );
    let dropped = after.dropped - counters.dropped;
    assert!(
        dropped >= (64 - 20) + (64 - 20) + (64 - probe.len() as u64),
        "dropped {dropped}"
    );
    let metrics = host.metrics_text().await;
    let counted: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("caplet_guest_log_lines_dropped_total "))
        .and_then(|v| v.parse().ok())
        .expect("the dropped-lines counter in the metrics");
    assert!(counted >= dropped, "{counted} < {dropped}");
    // Truncated: every flood line is cut at the text limit, marked and counted.
    for line in flood_lines.iter().copied().chain(&probe) {
        assert!(
            line.contains("[truncated] module="),
            "{}",
            &line[line.len() - 80..]
        );
        // Escaping expands a control character to at most 6 characters.
        assert!(line.len() < 6 * text_limit + 256, "{} bytes", line.len());
    }
    let truncated = after.truncated - counters.truncated;
    assert!(
        truncated >= (per_second + probe.len()) as u64,
        "truncated {truncated}"
    );
    // Bounded: what reached the log, and the host's memory.
    assert!(
        output.len() < (burst.len() + probe.len() + 64) * 6 * text_limit,
        "{} bytes of log",
        output.len()
    );
    assert!(rss_growth < 64 << 20, "RSS grew {} MiB", rss_growth >> 20);
    host.shutdown().await;
}

/// A guest that sends its whole request (an encoded `LogEntry`, at most 64 KiB - 64) to
/// `wasmcloud:builtin:logging` `count` times in one call, for a burst no scheduler can spread out; it traps if a host call
/// fails.
fn logging_flooder(count: u32) -> Vec<u8> {
    let namespace = LOGGING.as_bytes();
    let operation = WRITE_LOG.as_bytes();
    // Namespace and operation at 0, the operation name at 48 (`flood`), the request at 64.
    assert!(namespace.len() + operation.len() <= 48);
    let data = [namespace, operation].concat();
    wapc(
        1,
        &data,
        "",
        &format!(
            r#"(call $request (i32.const 48) (i32.const 64))
               (block $done (loop $again
                 (br_if $done (i32.ge_u (local.get $i) (i32.const {count})))
                 (if (i32.eqz (call $host_call
                       (i32.const 0) (i32.const 0)
                       (i32.const 0) (i32.const {ns_len})
                       (i32.const {ns_len}) (i32.const {op_len})
                       (i32.const 64) (local.get $req_len)))
                   (then (unreachable)))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br $again)))
               (call $response (i32.const 0) (i32.const 0))
               (i32.const 1)"#,
            ns_len = namespace.len(),
            op_len = operation.len(),
        ),
    )
}

fn log_entry(text: &str) -> Vec<u8> {
    caplet_wire::encode(&LogEntry {
        level: "info".to_string(),
        text: text.to_string(),
    })
    .unwrap()
}

/// D3 (the logging capability): an actor sending 100 lines through `wasmcloud:builtin:logging`
/// in one call gets `DEFAULT_MAX_LOG_LINES_PER_SECOND` (20) of them into the log; the other 80
/// are dropped and counted (`caplet_builtin_log_lines_dropped_total`); another actor logging
/// at the same time is not affected; after the one-second window the actor's next line says
/// "80 earlier lines dropped"; lines still unreported when the actor stops are reported then;
/// `HostConfig::max_log_lines_per_second` changes the limit.
#[tokio::test]
async fn logging_capability_lines_are_rate_limited_per_actor() {
    let _lock = shared().await;
    let capture = LogCapture::start();
    let issuer = Issuer::new();
    let host = issuer.host();
    for name in ["d3-logflood", "d3-logquiet"] {
        let (module, _) = issuer.sign(&logging_flooder(100), name, &[LOGGING]);
        host.start_actor(name, module, deadline(5000), 1)
            .await
            .unwrap();
    }
    let per_second = caplet_host::DEFAULT_MAX_LOG_LINES_PER_SECOND as usize;
    assert_eq!(
        per_second,
        caplet_runtime::MAX_CONSOLE_LINES_PER_SECOND as usize
    );
    let lines = |actor: &str, needle: &str| -> Vec<String> {
        capture
            .lines(needle)
            .into_iter()
            .filter(|l| l.contains("caplet::actor") && l.contains(&format!("\"{actor}\"")))
            .collect()
    };

    let before = caplet_host::builtin::logging_lines_dropped();
    // 100 lines in one call: 20 logged, 80 dropped.
    host.call_actor("d3-logflood", "flood", &log_entry("flood line"))
        .await
        .unwrap();
    let dropped = caplet_host::builtin::logging_lines_dropped() - before;
    // Another actor, in the same second: its own 20 get through.
    host.call_actor("d3-logquiet", "flood", &log_entry("quiet line"))
        .await
        .unwrap();
    assert_eq!(lines("d3-logflood", "flood line").len(), per_second);
    assert_eq!(lines("d3-logquiet", "quiet line").len(), per_second);
    assert!(lines("d3-logquiet", "earlier lines dropped").is_empty());
    assert!(dropped >= 80, "dropped {dropped}");

    // A new window: the next line reports the 80 dropped (and 19 of its 100 get through).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    host.call_actor("d3-logflood", "flood", &log_entry("after the flood"))
        .await
        .unwrap();
    let after = lines("d3-logflood", "after the flood");
    assert_eq!(after.len(), per_second, "{after:?}");
    let reports = lines("d3-logflood", "earlier lines dropped");
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].contains("after the flood [80 earlier lines dropped: over 20 lines per second]"),
        "{}",
        reports[0]
    );
    let metrics = host.metrics_text().await;
    let counted: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("caplet_builtin_log_lines_dropped_total "))
        .and_then(|v| v.parse().ok())
        .expect("the dropped-lines counter in the metrics");
    assert!(counted >= before + 160, "{counted} < {before} + 160");
    // Lines dropped and not yet reported when the actor stops are reported then.
    host.stop_actor("d3-logflood").await.unwrap();
    let reports = lines("d3-logflood", "earlier lines dropped");
    assert_eq!(reports.len(), 2, "{reports:?}");
    assert!(
        reports[1].contains("[80 earlier lines dropped: over 20 lines per second]"),
        "{}",
        reports[1]
    );
    host.shutdown().await;

    // The limit is a host setting.
    let host = Host::new(
        runtime(EngineLimits::default()),
        HostConfig {
            issuers: vec![issuer.account.public_key()],
            max_log_lines_per_second: 5,
            ..HostConfig::default()
        },
    );
    let (module, _) = issuer.sign(&logging_flooder(30), "d3-logfive", &[LOGGING]);
    host.start_actor("d3-logfive", module, deadline(5000), 1)
        .await
        .unwrap();
    host.call_actor("d3-logfive", "flood", &log_entry("five line"))
        .await
        .unwrap();
    assert_eq!(lines("d3-logfive", "five line").len(), 5);
    host.shutdown().await;
}

/// A small deterministic generator (xorshift), so the property test needs no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = (self.next() as usize) % (max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// D4 (property test; the nightly `cargo fuzz` run is not set up yet): random and mutated
/// bytes into every decoder that reads guest or network bytes (module loader, claims
/// verifier, every wire message, the probe's host-call arguments) never panic the host.
#[tokio::test]
async fn host_decoders_never_panic_on_hostile_bytes() {
    use caplet_wire::{decode, httpclient, httpserver, keyvalue, logging, messaging, numbergen};
    let _lock = shared().await;
    let runtime = runtime(caplet_runtime::EngineLimits::default());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let valid = PROBE;
    for round in 0..300 {
        // Random bytes, and the probe with a few random bytes changed or cut.
        let mut mutated = valid.to_vec();
        for _ in 0..1 + rng.next() % 4 {
            let at = (rng.next() as usize) % mutated.len();
            mutated[at] = rng.next() as u8;
        }
        mutated.truncate((rng.next() as usize) % (valid.len() + 1));
        for bytes in [rng.bytes(512), mutated] {
            let _ = caplet_claims::verify(&bytes, &caplet_claims::Policy::default());
            if round % 10 == 0 {
                let _ = runtime.load_actor("fuzz", &bytes, Limits::default());
            }
            let _ = decode::<httpserver::HttpRequest>(&bytes);
            let _ = decode::<httpserver::HttpResponse>(&bytes);
            let _ = decode::<httpclient::HttpRequest>(&bytes);
            let _ = decode::<httpclient::HttpResponse>(&bytes);
            let _ = decode::<keyvalue::GetResponse>(&bytes);
            let _ = decode::<messaging::PubMessage>(&bytes);
            let _ = decode::<messaging::RequestMessage>(&bytes);
            let _ = decode::<messaging::SubMessage>(&bytes);
            let _ = decode::<keyvalue::SetRequest>(&bytes);
            let _ = decode::<logging::LogEntry>(&bytes);
            let _ = decode::<numbergen::RangeLimit>(&bytes);
        }
    }
    // The probe forwards random host-call arguments (binding, namespace, operation, payload).
    let actor = runtime
        .load_actor("probe", PROBE, Limits::default())
        .unwrap();
    for _ in 0..200 {
        let mut payload = rng.bytes(64);
        for _ in 0..rng.next() % 4 {
            payload.push(b'\n');
            payload.extend(rng.bytes(16));
        }
        let _ = actor.call("host_call", &payload, Arc::new(NoHost)).await;
    }
    assert_eq!(
        actor.call("echo", b"ok", Arc::new(NoHost)).await.unwrap(),
        b"ok"
    );
}

/// D4: every crate opts into the workspace lints, and the workspace denies unwrap, expect,
/// indexing/slicing and panic, so host code cannot panic on guest or network bytes (tests
/// opt out explicitly). A crate that drops `[lints] workspace = true` fails this test.
#[test]
fn host_crates_deny_unwrap_expect_indexing_and_panic() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let workspace = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let lints = workspace
        .split("[workspace.lints.clippy]")
        .nth(1)
        .expect("[workspace.lints.clippy]");
    for lint in ["unwrap_used", "expect_used", "indexing_slicing", "panic"] {
        assert!(
            lints
                .lines()
                .any(|l| l.replace(' ', "") == format!("{lint}=\"deny\"")),
            "the workspace must deny clippy::{lint}"
        );
    }
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let manifest = entry.unwrap().path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let opted_in = text
            .split("[lints]")
            .nth(1)
            .is_some_and(|rest| rest.trim_start().starts_with("workspace = true"));
        if !opted_in {
            missing.push(manifest.display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "crates without `[lints] workspace = true`: {missing:?}"
    );
}
