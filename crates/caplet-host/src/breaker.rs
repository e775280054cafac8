//! A circuit breaker per actor, for trap storms.
//!
//! An actor that keeps crashing (traps, deadline, memory or stack limit) costs a fresh instance
//! and a full deadline per call, and floods the log. After
//! [`BreakerConfig::failures`] such failures in a row, its circuit *opens*: calls fail at once
//! with [`DispatchError::Overloaded`] (HTTP 503) without running the guest. After
//! [`BreakerConfig::open_for`], one probe call goes through (*half-open*): success closes the
//! circuit, another crash opens it again. Guest errors (the actor answered with an error) are
//! not crashes: they close the circuit like a success. A hot swap closes it too.
//!
//! Trap log lines are limited per actor to one per [`TRAP_LOG_INTERVAL`]; the next line logged
//! says how many were suppressed in between.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use caplet_provider_api::DispatchError;

/// Consecutive crashes (traps, deadline, memory/stack limit) that open an actor's circuit.
///
/// Default: 20 calls. When hit, calls to the actor fail fast with "circuit open" (503) for
/// [`DEFAULT_BREAKER_OPEN`]. Change it with `[host] breaker_failures` or
/// [`BreakerConfig::failures`]; 0 disables the breaker.
pub const DEFAULT_BREAKER_FAILURES: u32 = 20;

/// How long an open circuit refuses calls before letting one probe through, in milliseconds.
///
/// Default: 5 s. Change it with `[host] breaker_open_ms` or [`BreakerConfig::open_for`].
pub const DEFAULT_BREAKER_OPEN: Duration = Duration::from_secs(5);

/// Least time between two trap log lines of one actor.
///
/// Default: 1 s. Traps in between are counted and reported as "N more suppressed" on the next
/// line. Fixed at build time.
pub const TRAP_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// Circuit breaker settings, for every actor of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerConfig {
    /// See [`DEFAULT_BREAKER_FAILURES`]; 0 disables the breaker.
    pub failures: u32,
    /// See [`DEFAULT_BREAKER_OPEN`].
    pub open_for: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            failures: DEFAULT_BREAKER_FAILURES,
            open_for: DEFAULT_BREAKER_OPEN,
        }
    }
}

/// How a call ended, as the breaker sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The guest ran and answered (a guest error included).
    Ran,
    /// A trap, deadline, memory or stack limit: the guest did not finish.
    Crashed,
    /// The call did not reach the guest (no instance free, payload refused).
    NotRun,
}

impl Outcome {
    pub(crate) fn of(result: &Result<Vec<u8>, DispatchError>) -> Self {
        match result {
            Ok(_) => Self::Ran,
            Err(DispatchError::ActorCrashed(_) | DispatchError::Timeout(_)) => Self::Crashed,
            Err(DispatchError::ActorFailed(_) | DispatchError::CapabilityUnavailable(_)) => {
                Self::Ran
            }
            Err(
                DispatchError::Overloaded(_)
                | DispatchError::Rejected(_)
                | DispatchError::ActorNotRunning(_),
            ) => Self::NotRun,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Closed {
        consecutive: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe call is running.
    HalfOpen,
}

struct TrapLog {
    last: Option<Instant>,
    suppressed: u64,
}

/// One actor's breaker state and trap counters.
pub(crate) struct Breaker {
    phase: Mutex<Phase>,
    /// True while `phase` is `Closed { consecutive: 0 }`, the state of every healthy actor:
    /// then a call is admitted, and a successful call finishes, with one read of this flag
    /// instead of the lock that both workers would otherwise take twice per call.
    healthy: AtomicBool,
    traps: AtomicU64,
    log: Mutex<TrapLog>,
}

impl Default for Breaker {
    fn default() -> Self {
        Self {
            phase: Mutex::new(Phase::Closed { consecutive: 0 }),
            healthy: AtomicBool::new(true),
            traps: AtomicU64::new(0),
            log: Mutex::new(TrapLog {
                last: None,
                suppressed: 0,
            }),
        }
    }
}

/// Permission to run one call; reports its outcome when dropped unreported (a cancelled probe
/// must not leave the circuit half-open forever).
pub(crate) struct Permit<'a> {
    breaker: &'a Breaker,
    probe: bool,
    done: bool,
}

impl Breaker {
    /// Lets a call through, or says for how long the circuit stays open.
    pub(crate) fn admit(&self, config: &BreakerConfig) -> Result<Permit<'_>, Duration> {
        let mut probe = false;
        if config.failures > 0 && !self.healthy.load(Relaxed) {
            let mut phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
            match *phase {
                Phase::Closed { .. } => {}
                Phase::Open { until } => {
                    let now = Instant::now();
                    if now < until {
                        return Err(until.saturating_duration_since(now));
                    }
                    *phase = Phase::HalfOpen;
                    probe = true;
                }
                // A probe is already out: the others wait for its verdict.
                Phase::HalfOpen => return Err(config.open_for),
            }
        }
        Ok(Permit {
            breaker: self,
            probe,
            done: false,
        })
    }

    /// True while calls are refused (open, or half-open with a probe out).
    pub(crate) fn is_open(&self) -> bool {
        let phase = self.phase.lock().unwrap_or_else(PoisonError::into_inner);
        !matches!(*phase, Phase::Closed { .. })
    }

    /// Crashed calls since the actor started.
    pub(crate) fn traps(&self) -> u64 {
        self.traps.load(Relaxed)
    }

    /// Closes the circuit (after a hot swap).
    pub(crate) fn reset(&self) {
        self.set(
            &mut self.phase.lock().unwrap_or_else(PoisonError::into_inner),
            Phase::Closed { consecutive: 0 },
        );
    }

    /// Stores the next phase and keeps [`Breaker::healthy`] in step with it.
    fn set(&self, phase: &mut Phase, next: Phase) {
        *phase = next;
        self.healthy
            .store(matches!(next, Phase::Closed { consecutive: 0 }), Relaxed);
    }

    /// Counts a crash and logs it, at most once per [`TRAP_LOG_INTERVAL`].
    pub(crate) fn log_trap(&self, actor: &str, operation: &str, error: &DispatchError) {
        self.traps.fetch_add(1, Relaxed);
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if log
            .last
            .is_some_and(|last| now.saturating_duration_since(last) < TRAP_LOG_INTERVAL)
        {
            log.suppressed = log.suppressed.saturating_add(1);
            return;
        }
        let suppressed = std::mem::take(&mut log.suppressed);
        log.last = Some(now);
        drop(log);
        if suppressed > 0 {
            tracing::warn!(
                actor,
                operation,
                suppressed,
                "actor `{actor}` crashed in `{operation}`: {error} ({suppressed} more suppressed since the last line)"
            );
        } else {
            tracing::warn!(
                actor,
                operation,
                "actor `{actor}` crashed in `{operation}`: {error}"
            );
        }
    }
}

impl Permit<'_> {
    /// Records how the call ended.
    pub(crate) fn finish(mut self, config: &BreakerConfig, actor: &str, outcome: Outcome) {
        self.done = true;
        if config.failures == 0 || (outcome == Outcome::Ran && self.breaker.healthy.load(Relaxed)) {
            return;
        }
        let mut phase = self
            .breaker
            .phase
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let next = match (outcome, *phase) {
            (Outcome::Ran, _) => Phase::Closed { consecutive: 0 },
            (Outcome::NotRun, Phase::HalfOpen) if self.probe => Phase::Open {
                until: Instant::now(),
            },
            (Outcome::NotRun, current) => current,
            (Outcome::Crashed, Phase::HalfOpen) if self.probe => {
                tracing::warn!(
                    actor,
                    "actor `{actor}` still crashes: circuit open again for {} ms",
                    config.open_for.as_millis()
                );
                Phase::Open {
                    until: Instant::now() + config.open_for,
                }
            }
            (Outcome::Crashed, Phase::Closed { consecutive }) => {
                let consecutive = consecutive.saturating_add(1);
                if consecutive >= config.failures {
                    tracing::warn!(
                        actor,
                        "actor `{actor}` crashed {consecutive} times in a row: circuit open, calls fail fast for {} ms",
                        config.open_for.as_millis()
                    );
                    Phase::Open {
                        until: Instant::now() + config.open_for,
                    }
                } else {
                    Phase::Closed { consecutive }
                }
            }
            // A call admitted before the circuit opened, ending after: the state stands.
            (Outcome::Crashed, current) => current,
        };
        self.breaker.set(&mut phase, next);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.probe && !self.done {
            let mut phase = self
                .breaker
                .phase
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if matches!(*phase, Phase::HalfOpen) {
                // The probe was cancelled: let the next call probe.
                *phase = Phase::Open {
                    until: Instant::now(),
                };
            }
        }
    }
}

/// The fail-fast error of an open circuit.
pub(crate) fn open_error(actor: &str, remaining: Duration) -> DispatchError {
    DispatchError::Overloaded(format!(
        "actor `{actor}` is failing repeatedly; circuit open for {} ms more (calls fail fast until one probe call succeeds)",
        remaining.as_millis().max(1)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BreakerConfig {
        BreakerConfig {
            failures: 3,
            open_for: Duration::from_millis(50),
        }
    }

    fn call(breaker: &Breaker, outcome: Outcome) -> bool {
        match breaker.admit(&config()) {
            Ok(permit) => {
                permit.finish(&config(), "a", outcome);
                true
            }
            Err(_) => false,
        }
    }

    #[test]
    fn opens_after_consecutive_crashes_and_probes_after_the_period() {
        let breaker = Breaker::default();
        assert!(call(&breaker, Outcome::Crashed));
        assert!(call(&breaker, Outcome::Ran));
        for _ in 0..3 {
            assert!(call(&breaker, Outcome::Crashed));
        }
        assert!(breaker.is_open());
        assert!(!call(&breaker, Outcome::Ran));
        std::thread::sleep(Duration::from_millis(60));
        let probe = breaker.admit(&config()).unwrap();
        assert!(breaker.admit(&config()).is_err(), "one probe at a time");
        probe.finish(&config(), "a", Outcome::Crashed);
        assert!(breaker.admit(&config()).is_err(), "re-opened");
        std::thread::sleep(Duration::from_millis(60));
        assert!(call(&breaker, Outcome::Ran));
        assert!(!breaker.is_open());
    }

    #[test]
    fn a_cancelled_probe_lets_the_next_call_probe() {
        let breaker = Breaker::default();
        for _ in 0..3 {
            call(&breaker, Outcome::Crashed);
        }
        std::thread::sleep(Duration::from_millis(60));
        drop(breaker.admit(&config()).unwrap());
        assert!(call(&breaker, Outcome::Ran));
    }

    #[test]
    fn zero_failures_disables_it() {
        let breaker = Breaker::default();
        let off = BreakerConfig {
            failures: 0,
            ..config()
        };
        for _ in 0..100 {
            breaker
                .admit(&off)
                .unwrap()
                .finish(&off, "a", Outcome::Crashed);
        }
        assert!(!breaker.is_open());
    }
}
