//! The host's own limits. Per-call limits (memory, deadline, payloads) belong to the runtime
//! (`caplet_runtime::Limits`); these bound what only the host can see.

use std::time::Duration;

/// Maximum depth of actor-to-actor calls in one chain, counting the first actor as depth 1.
///
/// Default: 8 calls. When hit, the call that would go deeper fails with a guest-visible error
/// naming the chain (`a → b → a → …`), so an A→B→A loop ends instead of exhausting the host
/// (hostile-guests.md C2). Change it with [`crate::HostConfig::max_call_depth`].
pub const DEFAULT_MAX_CALL_DEPTH: u32 = 8;

/// How long a graceful shutdown waits for calls already in flight before closing providers.
///
/// Default: 10 s. Calls still running then are abandoned (their deadline would end them
/// anyway). Change it with [`crate::HostConfig::shutdown_grace`].
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Maximum length of a log line written through `wasmcloud:builtin:logging`, in bytes.
///
/// Default: 4 KiB. Longer text is cut at a character boundary and marked `…[truncated]`;
/// control characters are always escaped. Fixed at build time.
pub const MAX_LOG_LINE_BYTES: usize = 4 << 10;

/// Lines one actor may write through `wasmcloud:builtin:logging` per second.
///
/// Default: 20 lines per actor per second, the default of the guest console limit
/// ([`caplet_runtime::MAX_CONSOLE_LINES_PER_SECOND`]), whatever the number of instances.
/// Lines at a level the host's log filter discards are not counted. When hit: further
/// `Logging.WriteLog` lines of that actor in that second are dropped unformatted and unwritten
/// (the host call still succeeds), counted in
/// [`crate::builtin::logging_lines_dropped`] (`caplet_builtin_log_lines_dropped_total`), and
/// the next line logged for that actor says how many were dropped. 0 drops every line. Change
/// it with `[host] log_lines_per_second` in the manifest or
/// [`crate::HostConfig::max_log_lines_per_second`].
pub const DEFAULT_MAX_LOG_LINES_PER_SECOND: u32 = caplet_runtime::MAX_CONSOLE_LINES_PER_SECOND;

/// Actors whose `wasmcloud:builtin:logging` rate is tracked at once.
///
/// Default: 4 096 actors (an entry is a few dozen bytes plus the actor id). An actor's entry is
/// created at its first line and removed when it stops. When hit: entries whose one-second
/// window has ended are cleared first (an unreported drop count is then lost from the log; the
/// process-wide counter keeps it); if every entry is still in its window, actors without an
/// entry share one budget of [`DEFAULT_MAX_LOG_LINES_PER_SECOND`] lines per second. Fixed at
/// build time.
pub const MAX_LOG_RATE_ACTORS: usize = 4096;

/// How long [`crate::Host::health`] waits for one actor's answer to `Actor.HealthRequest`.
///
/// Default: 2 s. An actor that has not answered by then is reported unhealthy ("did not answer
/// its health check within 2 s"); the call itself goes on until it ends or hits the actor's own
/// deadline. Actors are asked concurrently, so the whole check takes at most about this long.
/// Fixed at build time.
pub const ACTOR_HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
