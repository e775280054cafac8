//! Call metrics per actor and operation, recorded on every call and rendered in the Prometheus
//! text format by [`crate::Host::metrics_text`].
//!
//! Each actor's counters live in its table entry, so a call adds two or three relaxed atomics
//! after one lock-free map lookup (a [`Snapshot`]); a new operation name copies the small map
//! once.
//! Callers choose operation names (another actor can make up any), so distinct names per actor
//! are capped and the rest are counted together under [`OTHER_OPERATION`].

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use caplet_provider_api::DispatchError;

use crate::actors::ActorEntry;
use crate::host::ProviderStatus;
use crate::striped::thread_stripe;
use caplet_provider_api::snapshot::{FastMap, Snapshot};

/// Most distinct operation names tracked per actor.
///
/// Default: 64. Calls to further names are counted under [`OTHER_OPERATION`], so a caller that
/// invents names cannot grow the metrics (or a scrape) without bound. Fixed at build time.
pub const MAX_OPERATIONS_PER_ACTOR: usize = 64;

/// Longest operation name kept as its own label, in bytes.
///
/// Default: 128 bytes. Longer names, and names with control characters, are counted under
/// [`OTHER_OPERATION`]. Fixed at build time.
pub const MAX_OPERATION_LABEL_BYTES: usize = 128;

/// The `operation` label for calls past [`MAX_OPERATIONS_PER_ACTOR`] or with unusable names.
pub const OTHER_OPERATION: &str = "other";

/// Upper bounds of the `caplet_actor_call_duration_seconds` histogram buckets.
///
/// Default: 0.1 ms to 10 s in 1-2.5-5 steps (16 buckets, plus `+Inf`). Fixed at build time:
/// changing buckets breaks dashboards that aggregate across hosts.
pub const CALL_DURATION_BUCKETS: [Duration; 16] = [
    Duration::from_micros(100),
    Duration::from_micros(250),
    Duration::from_micros(500),
    Duration::from_millis(1),
    Duration::from_micros(2_500),
    Duration::from_millis(5),
    Duration::from_millis(10),
    Duration::from_millis(25),
    Duration::from_millis(50),
    Duration::from_millis(100),
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_millis(2_500),
    Duration::from_secs(5),
    Duration::from_secs(10),
];

const BUCKETS: usize = CALL_DURATION_BUCKETS.len();

/// The `kind` label of `caplet_actor_call_errors_total`, one per [`DispatchError`] variant.
const ERROR_KINDS: [&str; 7] = [
    "actor_not_running",
    "capability_unavailable",
    "actor_failed",
    "actor_crashed",
    "timeout",
    "overloaded",
    "rejected",
];

fn error_index(error: &DispatchError) -> usize {
    match error {
        DispatchError::ActorNotRunning(_) => 0,
        DispatchError::CapabilityUnavailable(_) => 1,
        DispatchError::ActorFailed(_) => 2,
        DispatchError::ActorCrashed(_) => 3,
        DispatchError::Timeout(_) => 4,
        DispatchError::Overloaded(_) => 5,
        DispatchError::Rejected(_) => 6,
    }
}

/// Stripes of counters per (actor, operation).
///
/// Default: 8. Every call adds to the counters of its operation from whichever worker runs it;
/// with one set of counters those writes move one cache line between the cores on every call
/// (BENCHMARKS.md, host_call, the two-worker case). Each thread adds to its own stripe instead
/// (threads take stripes in turn, as in `striped.rs`), and a scrape sums them. Fixed at build
/// time; each (actor, operation) takes `METRIC_STRIPES` × 256 bytes.
pub const METRIC_STRIPES: usize = 8;

/// One stripe of an operation's counters, on cache lines of its own. Buckets are stored per
/// bucket (not cumulative) so a call touches one; the call count is their sum.
#[repr(align(128))]
struct OpStripe {
    buckets: [AtomicU64; BUCKETS + 1],
    sum_nanos: AtomicU64,
    errors: [AtomicU64; ERROR_KINDS.len()],
}

impl OpStripe {
    fn new() -> Self {
        Self {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_nanos: AtomicU64::new(0),
            errors: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

/// Counters of one (actor, operation), striped per thread.
struct OpMetrics {
    stripes: [OpStripe; METRIC_STRIPES],
}

impl OpMetrics {
    fn new() -> Self {
        Self {
            stripes: std::array::from_fn(|_| OpStripe::new()),
        }
    }

    fn record(&self, elapsed: Duration, error: Option<&DispatchError>) {
        let Some(stripe) = self.stripes.get(thread_stripe() % METRIC_STRIPES) else {
            return;
        };
        let bucket = CALL_DURATION_BUCKETS
            .iter()
            .position(|bound| elapsed <= *bound)
            .unwrap_or(BUCKETS);
        if let Some(counter) = stripe.buckets.get(bucket) {
            counter.fetch_add(1, Relaxed);
        }
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        stripe.sum_nanos.fetch_add(nanos, Relaxed);
        if let Some(counter) = error.and_then(|e| stripe.errors.get(error_index(e))) {
            counter.fetch_add(1, Relaxed);
        }
    }

    /// Calls that ended in bucket `index` (`BUCKETS` is `+Inf`).
    fn bucket(&self, index: usize) -> u64 {
        sum(self.stripes.iter().filter_map(|s| s.buckets.get(index)))
    }

    /// Calls that failed with the error kind `index` of `ERROR_KINDS`.
    fn errors(&self, index: usize) -> u64 {
        sum(self.stripes.iter().filter_map(|s| s.errors.get(index)))
    }

    /// Nanoseconds of all calls together.
    fn sum_nanos(&self) -> u64 {
        sum(self.stripes.iter().map(|s| &s.sum_nanos))
    }

    /// All calls.
    fn count(&self) -> u64 {
        sum(self.stripes.iter().flat_map(|s| &s.buckets))
    }
}

/// The sum of `counters` (each read on its own: a scrape racing calls may miss the newest).
fn sum<'a>(counters: impl Iterator<Item = &'a AtomicU64>) -> u64 {
    counters
        .map(|counter| counter.load(Relaxed))
        .fold(0, u64::wrapping_add)
}

type OpMap = FastMap<Box<str>, Arc<OpMetrics>>;

/// One actor's metrics; lives in its [`ActorEntry`], so they end when the actor stops.
#[derive(Default)]
pub(crate) struct ActorMetrics {
    ops: Snapshot<OpMap>,
    swaps: AtomicU64,
}

impl ActorMetrics {
    /// Records one finished call of `operation`.
    pub(crate) fn record(&self, operation: &str, elapsed: Duration, error: Option<&DispatchError>) {
        let ops = self.ops.load();
        if let Some(op) = ops.get(operation) {
            return op.record(elapsed, error);
        }
        if ops.len() > MAX_OPERATIONS_PER_ACTOR
            && let Some(other) = ops.get(OTHER_OPERATION)
        {
            return other.record(elapsed, error);
        }
        drop(ops);
        self.slot(operation).record(elapsed, error);
    }

    /// Counts one hot swap.
    pub(crate) fn swapped(&self) {
        self.swaps.fetch_add(1, Relaxed);
    }

    /// The counters for `operation`, added (or `other`) on first use.
    fn slot(&self, operation: &str) -> Arc<OpMetrics> {
        self.ops.update(|ops| {
            if let Some(op) = ops.get(operation) {
                return op.clone();
            }
            let named = ops.len() < MAX_OPERATIONS_PER_ACTOR
                && operation.len() <= MAX_OPERATION_LABEL_BYTES
                && !operation.chars().any(char::is_control);
            let key = if named { operation } else { OTHER_OPERATION };
            if let Some(op) = ops.get(key) {
                return op.clone();
            }
            let op = Arc::new(OpMetrics::new());
            ops.insert(key.into(), op.clone());
            // Once the named slots are full, `other` always exists, so the fast path finds it.
            if ops.len() >= MAX_OPERATIONS_PER_ACTOR && !ops.contains_key(OTHER_OPERATION) {
                ops.insert(OTHER_OPERATION.into(), Arc::new(OpMetrics::new()));
            }
            op
        })
    }
}

/// Renders every metric in the Prometheus text exposition format (version 0.0.4).
pub(crate) fn render(actors: &[Arc<ActorEntry>], providers: &[ProviderStatus]) -> String {
    let mut snapshots = Vec::with_capacity(actors.len());
    for entry in actors {
        let mut ops: Vec<(Box<str>, Arc<OpMetrics>)> = entry
            .metrics
            .ops
            .load()
            .iter()
            .map(|(name, op)| (name.clone(), op.clone()))
            .collect();
        ops.sort_by(|a, b| a.0.cmp(&b.0));
        snapshots.push((label(&entry.actor.name), entry, ops));
    }
    let mut out = String::new();
    header(
        &mut out,
        "caplet_actor_calls_total",
        "counter",
        "Calls into an actor.",
    );
    for (actor, _, ops) in &snapshots {
        for (op, metrics) in ops {
            let count = metrics.count();
            let op = label(op);
            let _ = writeln!(
                out,
                "caplet_actor_calls_total{{actor=\"{actor}\",operation=\"{op}\"}} {count}"
            );
        }
    }
    header(
        &mut out,
        "caplet_actor_call_errors_total",
        "counter",
        "Calls into an actor that failed, by kind (series appear at the first error).",
    );
    for (actor, _, ops) in &snapshots {
        for (op, metrics) in ops {
            let op = label(op);
            for (index, kind) in ERROR_KINDS.iter().enumerate() {
                let value = metrics.errors(index);
                if value > 0 {
                    let _ = writeln!(
                        out,
                        "caplet_actor_call_errors_total{{actor=\"{actor}\",operation=\"{op}\",kind=\"{kind}\"}} {value}"
                    );
                }
            }
        }
    }
    header(
        &mut out,
        "caplet_actor_call_duration_seconds",
        "histogram",
        "Duration of calls into an actor, in seconds.",
    );
    for (actor, _, ops) in &snapshots {
        for (op, metrics) in ops {
            let op = label(op);
            let mut cumulative = 0u64;
            let bounds = CALL_DURATION_BUCKETS
                .iter()
                .map(|b| b.as_secs_f64().to_string());
            let bounds = bounds.chain(std::iter::once("+Inf".to_string()));
            for (index, bound) in bounds.enumerate() {
                cumulative = cumulative.saturating_add(metrics.bucket(index));
                let _ = writeln!(
                    out,
                    "caplet_actor_call_duration_seconds_bucket{{actor=\"{actor}\",operation=\"{op}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let sum = Duration::from_nanos(metrics.sum_nanos()).as_secs_f64();
            let _ = writeln!(
                out,
                "caplet_actor_call_duration_seconds_sum{{actor=\"{actor}\",operation=\"{op}\"}} {sum}\n\
                 caplet_actor_call_duration_seconds_count{{actor=\"{actor}\",operation=\"{op}\"}} {cumulative}"
            );
        }
    }
    header(
        &mut out,
        "caplet_actor_instances_idle",
        "gauge",
        "Warm instances of an actor waiting for a call.",
    );
    for (actor, entry, _) in &snapshots {
        let idle = entry.current().module.idle_instances();
        let _ = writeln!(
            out,
            "caplet_actor_instances_idle{{actor=\"{actor}\"}} {idle}"
        );
    }
    header(
        &mut out,
        "caplet_actor_swaps_total",
        "counter",
        "Hot swaps of an actor's code since it started.",
    );
    for (actor, entry, _) in &snapshots {
        let swaps = entry.metrics.swaps.load(Relaxed);
        let _ = writeln!(out, "caplet_actor_swaps_total{{actor=\"{actor}\"}} {swaps}");
    }
    header(
        &mut out,
        "caplet_actor_breaker_open",
        "gauge",
        "1 while an actor's circuit breaker refuses calls (it kept crashing), else 0.",
    );
    for (actor, entry, _) in &snapshots {
        let open = u8::from(entry.breaker.is_open());
        let _ = writeln!(out, "caplet_actor_breaker_open{{actor=\"{actor}\"}} {open}");
    }
    header(
        &mut out,
        "caplet_actor_traps_total",
        "counter",
        "Calls into an actor that crashed: a trap, the deadline, or the memory or stack limit.",
    );
    for (actor, entry, _) in &snapshots {
        let traps = entry.breaker.traps();
        let _ = writeln!(out, "caplet_actor_traps_total{{actor=\"{actor}\"}} {traps}");
    }
    let console = caplet_runtime::console_log_stats();
    header(
        &mut out,
        "caplet_guest_log_lines_truncated_total",
        "counter",
        "Guest console lines cut at the guest text limit, in this process.",
    );
    let _ = writeln!(
        out,
        "caplet_guest_log_lines_truncated_total {}",
        console.truncated
    );
    header(
        &mut out,
        "caplet_guest_log_lines_dropped_total",
        "counter",
        "Guest console lines dropped by the per-instance rate limit, in this process.",
    );
    let _ = writeln!(
        out,
        "caplet_guest_log_lines_dropped_total {}",
        console.dropped
    );
    header(
        &mut out,
        "caplet_builtin_log_lines_dropped_total",
        "counter",
        "Lines sent through wasmcloud:builtin:logging dropped by the per-actor rate limit, in this process.",
    );
    let _ = writeln!(
        out,
        "caplet_builtin_log_lines_dropped_total {}",
        crate::builtin::logging_lines_dropped()
    );
    header(
        &mut out,
        "caplet_provider_healthy",
        "gauge",
        "1 when a provider reports healthy, else 0.",
    );
    for provider in providers {
        let _ = writeln!(
            out,
            "caplet_provider_healthy{{contract=\"{}\",link_name=\"{}\",implementation=\"{}\"}} {}",
            label(&provider.contract),
            label(&provider.link_name),
            label(&provider.implementation),
            u8::from(provider.health.is_ok())
        );
    }
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value escaped as the text format requires (`\\`, `\"`, `\n`).
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_past_the_cap_are_counted_as_other() {
        let metrics = ActorMetrics::default();
        for i in 0..MAX_OPERATIONS_PER_ACTOR + 10 {
            metrics.record(&format!("op{i}"), Duration::from_millis(1), None);
        }
        metrics.record(
            &"x".repeat(MAX_OPERATION_LABEL_BYTES + 1),
            Duration::ZERO,
            None,
        );
        let ops = metrics.ops.load();
        assert_eq!(ops.len(), MAX_OPERATIONS_PER_ACTOR + 1);
        let other = ops.get(OTHER_OPERATION).unwrap();
        assert_eq!(other.count(), 11);
    }

    #[test]
    fn durations_land_in_their_bucket_and_errors_by_kind() {
        let op = OpMetrics::new();
        op.record(Duration::from_micros(50), None);
        op.record(
            Duration::from_millis(3),
            Some(&DispatchError::Timeout(String::new())),
        );
        op.record(Duration::from_secs(60), None);
        assert_eq!(op.bucket(0), 1);
        assert_eq!(op.bucket(5), 1);
        assert_eq!(op.bucket(BUCKETS), 1);
        assert_eq!(op.errors(4), 1);
        assert_eq!(op.count(), 3);
        let total = Duration::from_micros(50) + Duration::from_millis(3) + Duration::from_secs(60);
        assert_eq!(op.sum_nanos(), u64::try_from(total.as_nanos()).unwrap());
    }

    #[test]
    fn calls_counted_on_many_threads_add_up() {
        let op = Arc::new(OpMetrics::new());
        let threads: Vec<_> = (0..METRIC_STRIPES * 2 + 1)
            .map(|_| {
                let op = Arc::clone(&op);
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        op.record(Duration::from_micros(300), None);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(op.bucket(2), (METRIC_STRIPES as u64 * 2 + 1) * 100);
        assert_eq!(op.count(), (METRIC_STRIPES as u64 * 2 + 1) * 100);
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
