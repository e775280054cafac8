//! `wasmcloud:builtin:logging`: actor log lines into the host's log, bounded, sanitised and
//! rate-limited per actor.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use caplet_provider_api::{
    ActorRef, BoxFuture, LinkDefinition, Provider, ProviderCall, ProviderError,
};
use caplet_runtime::text::{LineBudget, sanitize};
use caplet_wire::contracts::LOGGING;
use caplet_wire::logging::{LogEntry, WRITE_LOG};

use crate::{DEFAULT_MAX_LOG_LINES_PER_SECOND, MAX_LOG_LINE_BYTES, MAX_LOG_RATE_ACTORS};

/// Lines dropped by the per-actor rate limit, by every logging provider of the process.
static LINES_DROPPED: AtomicU64 = AtomicU64::new(0);

/// `Logging.WriteLog` lines dropped by [`DEFAULT_MAX_LOG_LINES_PER_SECOND`] since the process
/// started (every host); exported as `caplet_builtin_log_lines_dropped_total`.
pub fn logging_lines_dropped() -> u64 {
    LINES_DROPPED.load(Relaxed)
}

/// Writes `Logging.WriteLog` entries through `tracing`, tagged with the actor's name. The text
/// is cut to [`MAX_LOG_LINE_BYTES`] and control characters are escaped, so a guest cannot forge
/// log lines or flood the log with one huge line; each actor may write at most
/// [`DEFAULT_MAX_LOG_LINES_PER_SECOND`] lines per second (or what [`LoggingProvider::new`] was
/// given), so it cannot flood the log with many lines either.
#[derive(Debug)]
pub struct LoggingProvider {
    max_lines_per_second: u32,
    budgets: Mutex<Budgets>,
}

impl Default for LoggingProvider {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LOG_LINES_PER_SECOND)
    }
}

#[derive(Debug, Default)]
struct Budgets {
    /// By actor id; entries are made at an actor's first line, removed when it stops
    /// ([`LoggingProvider::forget`]), at most [`MAX_LOG_RATE_ACTORS`].
    actors: HashMap<Arc<str>, LineBudget>,
    /// Shared by actors that found the table full.
    shared: LineBudget,
}

/// A line let through: how many lines were dropped before it, and whether they were counted
/// in the shared budget rather than the actor's own.
#[derive(Debug, Clone, Copy)]
struct Admitted {
    dropped: u64,
    shared: bool,
}

impl LoggingProvider {
    /// A logging provider letting each actor write `max_lines_per_second` lines per second
    /// (see [`DEFAULT_MAX_LOG_LINES_PER_SECOND`]).
    pub fn new(max_lines_per_second: u32) -> Self {
        Self {
            max_lines_per_second,
            budgets: Mutex::new(Budgets::default()),
        }
    }

    /// The per-actor rate this provider enforces, in lines per second.
    pub fn max_lines_per_second(&self) -> u32 {
        self.max_lines_per_second
    }

    /// Forgets `actor`'s rate window (the host calls this when the actor stops). Lines it had
    /// dropped and not yet reported are reported now, in one line.
    pub fn forget(&self, actor: &ActorRef) {
        let removed = self.lock().actors.remove(&actor.id);
        if let Some(budget) = removed
            && budget.dropped > 0
        {
            let dropped = budget.dropped;
            tracing::info!(
                target: "caplet::actor",
                actor = &*actor.name,
                dropped,
                "[{dropped} earlier lines dropped: over {} lines per second]",
                self.max_lines_per_second
            );
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Budgets> {
        self.budgets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes one line from `actor`'s budget: `None` when the line must be dropped.
    fn admit(&self, actor: &Arc<str>) -> Option<Admitted> {
        let now = Instant::now();
        let mut budgets = self.lock();
        let full =
            !budgets.actors.contains_key(actor) && budgets.actors.len() >= MAX_LOG_RATE_ACTORS && {
                // Full: clear the windows that have ended (only the actors that logged in the
                // last second stay); if none has, this actor shares the overflow budget.
                budgets.actors.retain(|_, budget| !budget.expired(now));
                budgets.actors.len() >= MAX_LOG_RATE_ACTORS
            };
        let budget = if full {
            &mut budgets.shared
        } else {
            budgets.actors.entry(actor.clone()).or_default()
        };
        let admitted = budget
            .admit(now, self.max_lines_per_second)
            .map(|dropped| Admitted {
                dropped,
                shared: full,
            });
        if admitted.is_none() {
            LINES_DROPPED.fetch_add(1, Relaxed);
        }
        admitted
    }

    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.lock().actors.len()
    }
}

impl Provider for LoggingProvider {
    fn contract_id(&self) -> &str {
        LOGGING
    }

    fn implementation(&self) -> &str {
        "builtin"
    }

    fn bind(&self, _link: LinkDefinition) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(async { Ok(()) })
    }

    fn unbind<'a>(&'a self, _actor: &'a ActorRef, _link_name: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn handle<'a>(
        &'a self,
        call: ProviderCall<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>> {
        Box::pin(async move {
            if call.operation != WRITE_LOG && call.operation != "WriteLog" {
                return Err(super::unknown_operation(
                    LOGGING,
                    call.operation,
                    &[WRITE_LOG],
                ));
            }
            let entry: LogEntry = caplet_wire::decode(call.payload)
                .map_err(|error| ProviderError::BadRequest(error.to_string()))?;
            let level = LogLevel::of(&entry.level);
            // A line the host's log filter would discard takes nothing from the actor's
            // budget, so its debug lines cannot crowd out its warnings. Over the limit, the
            // line is dropped unformatted; the guest is not told (as with the console).
            if !level.enabled() {
                return Ok(Vec::new());
            }
            let Some(admitted) = self.admit(&call.actor.id) else {
                return Ok(Vec::new());
            };
            let mut text = bounded(&entry.text);
            if admitted.dropped > 0 {
                let shared = if admitted.shared {
                    " by actors past the tracked limit"
                } else {
                    ""
                };
                text = format!(
                    "{text} [{} earlier lines dropped{shared}: over {} lines per second]",
                    admitted.dropped, self.max_lines_per_second
                );
            }
            let actor = &*call.actor.name;
            match level {
                LogLevel::Error => tracing::error!(target: "caplet::actor", actor, "{text}"),
                LogLevel::Warn => tracing::warn!(target: "caplet::actor", actor, "{text}"),
                LogLevel::Info => tracing::info!(target: "caplet::actor", actor, "{text}"),
                LogLevel::Debug => tracing::debug!(target: "caplet::actor", actor, "{text}"),
                LogLevel::Trace => tracing::trace!(target: "caplet::actor", actor, "{text}"),
            }
            Ok(Vec::new())
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// The level of a `LogEntry`, by its name (any case; `warning` is `warn`, unknown is `info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

impl LogLevel {
    fn of(name: &str) -> Self {
        match name.to_ascii_lowercase().as_str() {
            "error" => Self::Error,
            "warn" | "warning" => Self::Warn,
            "debug" => Self::Debug,
            "trace" => Self::Trace,
            _ => Self::Info,
        }
    }

    /// Whether the host's subscriber would record a line of this level from actors.
    fn enabled(self) -> bool {
        match self {
            Self::Error => tracing::enabled!(target: "caplet::actor", tracing::Level::ERROR),
            Self::Warn => tracing::enabled!(target: "caplet::actor", tracing::Level::WARN),
            Self::Info => tracing::enabled!(target: "caplet::actor", tracing::Level::INFO),
            Self::Debug => tracing::enabled!(target: "caplet::actor", tracing::Level::DEBUG),
            Self::Trace => tracing::enabled!(target: "caplet::actor", tracing::Level::TRACE),
        }
    }
}

/// `text` sanitised and cut to [`MAX_LOG_LINE_BYTES`] at a character boundary.
fn bounded(text: &str) -> String {
    if text.len() <= MAX_LOG_LINE_BYTES {
        return sanitize(text);
    }
    let mut end = MAX_LOG_LINE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = text.get(..end).unwrap_or_default();
    format!("{}…[truncated]", sanitize(head))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn long_lines_are_cut_and_control_characters_escaped() {
        let long = "é".repeat(MAX_LOG_LINE_BYTES);
        let cut = bounded(&long);
        assert!(cut.ends_with("…[truncated]"));
        assert!(cut.len() < MAX_LOG_LINE_BYTES + 32);
        assert!(!bounded("a\nb\x1b[31m").contains('\n'));
    }

    fn id(value: &str) -> Arc<str> {
        Arc::from(value)
    }

    #[test]
    fn each_actor_gets_its_own_lines_per_second() {
        let provider = LoggingProvider::new(3);
        let (a, b) = (id("MA"), id("MB"));
        let before = logging_lines_dropped();
        let admitted: Vec<bool> = (0..10).map(|_| provider.admit(&a).is_some()).collect();
        assert_eq!(admitted.iter().filter(|ok| **ok).count(), 3);
        assert!(admitted[..3].iter().all(|ok| *ok));
        assert!(logging_lines_dropped() - before >= 7);
        // Another actor is not affected by the first one's flood.
        for _ in 0..3 {
            assert_eq!(provider.admit(&b).map(|x| x.dropped), Some(0));
        }
        assert!(provider.admit(&b).is_none());
        // A new window: the first line carries the count of lines dropped before it.
        let mut budgets = provider.lock();
        for budget in budgets.actors.values_mut() {
            budget.window = Instant::now().checked_sub(Duration::from_secs(2));
        }
        drop(budgets);
        let next = provider.admit(&a).unwrap();
        assert_eq!((next.dropped, next.shared), (7, false));
        assert_eq!(provider.admit(&a).unwrap().dropped, 0);
        assert_eq!(provider.admit(&b).unwrap().dropped, 1);
    }

    /// Sends `lines` (level, text) through `handle` under a subscriber that records INFO and
    /// above, and returns what it wrote.
    fn log_through(provider: &LoggingProvider, lines: &[(&str, &str)]) -> String {
        let written = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = written.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .with_ansi(false)
            .with_writer(move || SharedWriter(sink.clone()))
            .finish();
        let actor = ActorRef {
            id: id("MLOG"),
            name: Arc::from("logger"),
        };
        tracing::subscriber::with_default(subscriber, || {
            for (level, text) in lines {
                let entry = LogEntry {
                    level: (*level).to_string(),
                    text: (*text).to_string(),
                };
                write_log(provider, &actor, caplet_wire::encode(&entry).unwrap()).unwrap();
            }
        });
        let bytes = written.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    /// One `Logging.WriteLog` call of `actor` with `payload`, run to its end.
    fn write_log(
        provider: &LoggingProvider,
        actor: &ActorRef,
        payload: Vec<u8>,
    ) -> Result<Vec<u8>, ProviderError> {
        let call = ProviderCall {
            actor,
            link_name: "default",
            operation: WRITE_LOG,
            payload: &payload,
        };
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(provider.handle(call))
    }

    struct SharedWriter(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for SharedWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn filtered_out_lines_take_nothing_from_the_budget() {
        let provider = LoggingProvider::new(2);
        let log = log_through(
            &provider,
            &[
                ("debug", "d1"),
                ("debug", "d2"),
                ("trace", "t1"),
                ("warn", "w1"),
                ("error", "e1"),
                ("info", "i1"),
            ],
        );
        assert!(!log.contains("d1") && !log.contains("t1"), "{log}");
        // The two lines the limit allows are the first two that are recorded.
        assert!(log.contains("w1") && log.contains("e1"), "{log}");
        assert!(!log.contains("i1"), "{log}");
    }

    #[test]
    fn a_line_that_fails_to_decode_is_refused_without_using_the_budget() {
        let provider = LoggingProvider::new(1);
        let actor = ActorRef {
            id: id("MBAD"),
            name: Arc::from("bad"),
        };
        let error = write_log(&provider, &actor, b"\xc1 not a log entry".to_vec()).unwrap_err();
        assert!(matches!(error, ProviderError::BadRequest(_)), "{error:?}");
        assert_eq!(provider.admit(&actor.id).map(|a| a.dropped), Some(0));
    }

    #[test]
    fn tracked_actors_are_capped_and_forgotten_when_they_stop() {
        let provider = LoggingProvider::new(2);
        for i in 0..MAX_LOG_RATE_ACTORS {
            provider.admit(&id(&format!("M{i}"))).unwrap();
        }
        assert_eq!(provider.tracked(), MAX_LOG_RATE_ACTORS);
        // Every window is current: a further actor shares the overflow budget.
        let late = id("Mlate");
        assert!(provider.admit(&late).unwrap().shared);
        assert!(provider.admit(&late).unwrap().shared);
        assert!(provider.admit(&id("Mlater")).is_none());
        assert_eq!(provider.tracked(), MAX_LOG_RATE_ACTORS);
        // Ended windows are cleared to make room.
        for budget in provider.lock().actors.values_mut().take(10) {
            budget.window = None;
        }
        let admitted = provider.admit(&late).unwrap();
        assert!(!admitted.shared);
        assert_eq!(provider.tracked(), MAX_LOG_RATE_ACTORS - 9);
        provider.forget(&ActorRef {
            id: late,
            name: Arc::from("late"),
        });
        assert_eq!(provider.tracked(), MAX_LOG_RATE_ACTORS - 10);
    }
}
