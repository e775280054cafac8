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

/// How long [`crate::Host::health`] waits for one actor's answer to `Actor.HealthRequest`.
///
/// Default: 2 s. An actor that has not answered by then is reported unhealthy ("did not answer
/// its health check within 2 s"); the call itself goes on until it ends or hits the actor's own
/// deadline. Actors are asked concurrently, so the whole check takes at most about this long.
/// Fixed at build time.
pub const ACTOR_HEALTH_TIMEOUT: Duration = Duration::from_secs(2);
