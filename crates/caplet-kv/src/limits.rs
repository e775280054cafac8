//! Every bound the key-value providers enforce, as one named constant each.
//!
//! Actors are untrusted: a key, a value or the in-memory store as a whole must not be able to
//! grow without limit, and a call must not wait forever for a Redis that is down. Each doc says
//! the default, the unit, what happens when the limit is hit and how to change it;
//! `docs/keyvalue.md` mirrors this file.

use std::time::Duration;

/// Largest key (or list or set name) accepted, in bytes of UTF-8.
///
/// Default: 16 KiB. When hit: the call fails with `ProviderError::BadRequest` naming the
/// operation and the key's length, and the store is not touched. Change: fixed (edit this
/// constant); a key this long is a bug in the actor, not a configuration need.
pub const MAX_KEY_BYTES: usize = 16 << 10;

/// Largest value (or list item or set member) written, in bytes of UTF-8, by default.
///
/// Default: 1 MiB. When hit: the write fails with `ProviderError::BadRequest` naming the
/// operation, the key and the size, and the store is not touched. Change: provider config key
/// `max_value_bytes` (a byte count, or with a `KiB`/`MiB`/`GiB` suffix), for either provider.
pub const DEFAULT_MAX_VALUE_BYTES: usize = 1 << 20;

/// Total bytes the in-memory store may hold (keys, values and the per-entry overheads below),
/// by default.
///
/// Default: 64 MiB. When hit: the write that would cross it fails with `ProviderError::Failed`
/// ("memory store full ..."); nothing is changed by that call and every other key stays as it
/// was. Deletes, expiries and smaller overwrites free room. Change: provider config key
/// `max_bytes` of the `memory` provider (a byte count, or with a `KiB`/`MiB`/`GiB` suffix).
pub const DEFAULT_MAX_BYTES: usize = 64 << 20;

/// Bytes the in-memory store charges per key on top of the key and value bytes, for the map
/// entry, the value's header and, for a key with an expiry, its place in the expiry index.
///
/// Default: 64 bytes. When hit: not a limit itself; it counts against [`DEFAULT_MAX_BYTES`] so
/// that many tiny keys cannot exhaust memory while looking small. Change: fixed.
pub const MEMORY_ENTRY_OVERHEAD_BYTES: usize = 64;

/// Bytes the in-memory store charges per list item or set member on top of its own bytes.
///
/// Default: 32 bytes. When hit: not a limit itself; it counts against [`DEFAULT_MAX_BYTES`] so
/// that a list of empty strings cannot grow for ever. Change: fixed.
pub const MEMORY_ITEM_OVERHEAD_BYTES: usize = 32;

/// The Redis server used when neither the provider config nor the link names one.
///
/// Default: `redis://127.0.0.1:6379/`. Change: provider config key `url`; per actor, link value
/// `url` (or `URL`).
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379/";

/// How long one attempt to open a TCP connection to Redis may take.
///
/// Default: 1 s. When hit: the attempt fails and is retried [`REDIS_RECONNECT_RETRIES`] times;
/// then the call fails with `ProviderError::Unavailable` ("redis at HOST:PORT: ... timed out").
/// Change: provider config key `connect_timeout_ms` (milliseconds, 1–60000).
pub const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long Redis may take to answer one command once connected.
///
/// Default: 2 s. When hit: the call fails with `ProviderError::Unavailable` (the command may or
/// may not have been applied) and the connection is replaced in the background. Change:
/// provider config key `response_timeout_ms` (milliseconds, 1–60000).
pub const REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How many times a failed connection attempt is retried (after a jittered back-off between
/// [`REDIS_RECONNECT_MIN_DELAY`] and [`REDIS_RECONNECT_MAX_DELAY`]) before the waiting calls
/// fail.
///
/// Default: 1 retry (two attempts). When hit: the waiting calls fail with
/// `ProviderError::Unavailable`; the next call starts a new round of attempts, so the provider
/// recovers by itself once Redis is back. Change: fixed; kept low so calls fail fast while
/// Redis is down.
pub const REDIS_RECONNECT_RETRIES: usize = 1;

/// First back-off between two connection attempts (it grows, with jitter, for later retries).
///
/// Default: 100 ms. Change: fixed.
pub const REDIS_RECONNECT_MIN_DELAY: Duration = Duration::from_millis(100);

/// Longest back-off between two connection attempts.
///
/// Default: 500 ms. Change: fixed.
pub const REDIS_RECONNECT_MAX_DELAY: Duration = Duration::from_millis(500);

/// How long `health()` waits for Redis to answer `PING` (connecting included).
///
/// Default: 1 s. When hit: `health()` returns `Err("redis at HOST:PORT: ...")`. Change: fixed.
pub const REDIS_HEALTH_TIMEOUT: Duration = Duration::from_secs(1);

/// Distinct Redis URLs (hence connections) one Redis provider keeps open at once: its own plus
/// those named by link values.
///
/// Default: 64. When hit: binding an actor with yet another `url` fails with
/// `ProviderError::Denied`; unbinding the actors of a URL closes its connection. Change: fixed.
pub const MAX_REDIS_CONNECTIONS: usize = 64;
