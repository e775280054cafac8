//! The Redis commands behind each storage primitive, and what their failures mean.
//!
//! Each primitive is one command, or one `MULTI`/`EXEC` pipeline where the contract needs two
//! answers at once (removed and new length), so it stays atomic. Connection failures become
//! `Unavailable` (retry later) and Redis' own errors (`WRONGTYPE`, not an integer) become
//! `Failed`, both naming the server by host and port.
//!
//! No timer wraps a command here: the connection manager bounds each connection attempt
//! (`connect_timeout_ms`), the number of attempts, and each answer (`response_timeout_ms`), and
//! the host bounds the whole host call by the actor's call deadline. A timer of our own would
//! be a third one per command on the request path (the host's and the manager's are the other
//! two) for a case those two already cover.

use std::sync::Arc;

use ::redis::aio::ConnectionManager;
use ::redis::{Cmd, FromRedisValue, Pipeline, RedisError, RedisResult, cmd, pipe};
use caplet_provider_api::ProviderError;

use crate::backend::{Backend, KvResult};

/// One Redis server as the provider uses it: a reconnecting multiplexed connection, the
/// `host:port` shown in errors (never the URL, which may hold a password), and the URL it was
/// made for (to find connections no binding uses any more). One `Arc`, so the clone a call
/// takes from its binding is one reference count, not three.
pub(super) type Conn = Arc<ConnInner>;

pub(super) struct ConnInner {
    pub(super) manager: ConnectionManager,
    pub(super) addr: Arc<str>,
    pub(super) url: Arc<str>,
}

/// The backend for one call: a connection.
pub(super) struct RedisBackend {
    pub(super) conn: Conn,
}

impl RedisBackend {
    fn checked<T>(&self, what: &str, result: RedisResult<T>) -> KvResult<T> {
        result.map_err(|error| map_error(&self.conn.addr, what, &error))
    }

    async fn query<T: FromRedisValue>(&self, what: &str, command: &Cmd) -> KvResult<T> {
        let mut manager = self.conn.manager.clone();
        self.checked(what, command.query_async(&mut manager).await)
    }

    async fn atomic<T: FromRedisValue>(&self, what: &str, pipeline: &Pipeline) -> KvResult<T> {
        let mut manager = self.conn.manager.clone();
        self.checked(what, pipeline.query_async(&mut manager).await)
    }

    /// `PING`, for health checks.
    pub(super) async fn ping(&self) -> KvResult<()> {
        let _: String = self.query("PING", &cmd("PING")).await?;
        Ok(())
    }
}

/// `Unavailable` for anything that means "cannot talk to Redis now", `Failed` for an answer
/// that is an error.
pub(super) fn map_error(addr: &str, what: &str, error: &RedisError) -> ProviderError {
    let reason = if error.is_connection_refusal() {
        format!("connection refused ({error})")
    } else if error.is_timeout() {
        format!("timed out ({error})")
    } else if error.is_connection_dropped() {
        format!("connection lost ({error})")
    } else if error.is_io_error() || error.is_unrecoverable_error() {
        error.to_string()
    } else {
        let text = error.to_string();
        let hint = if text.contains("WRONGTYPE") {
            "; the key holds another type (string, list or set): use another key, or delete this \
             one first"
        } else if text.contains("not an integer") {
            "; increment works only on decimal integer strings, so set the key to a number first"
        } else {
            ""
        };
        return ProviderError::Failed(format!("redis at {addr}: {what}: {text}{hint}"));
    };
    ProviderError::Unavailable(format!(
        "redis at {addr}: {reason}; {what} was not served (or its effect is unknown). Retry \
         later; the provider reconnects by itself once Redis is back"
    ))
}

/// `name key`, with room for the arguments every command here adds (at most `SET key value EX
/// seconds`) so that building it allocates twice instead of growing its buffers per argument.
fn key_cmd(name: &str, key: &str) -> Cmd {
    let mut command = Cmd::with_capacity(KEY_CMD_ARGS, name.len() + key.len() + KEY_CMD_SPARE);
    command.arg(name).arg(key);
    command
}

/// Arguments a key command is sized for: `SET key value EX seconds`.
const KEY_CMD_ARGS: usize = 5;
/// Bytes beyond the name and key a key command is sized for: numbers and `EX` fit; a longer
/// value grows the buffer as usual.
const KEY_CMD_SPARE: usize = 32;

impl Backend for RedisBackend {
    async fn get(&self, key: &str) -> KvResult<Option<String>> {
        self.query("GET", &key_cmd("GET", key)).await
    }

    async fn set(&self, key: &str, value: &str, expires_secs: u32) -> KvResult<()> {
        let mut command = key_cmd("SET", key);
        command.arg(value);
        if expires_secs > 0 {
            command.arg("EX").arg(expires_secs);
        }
        self.query("SET", &command).await
    }

    async fn del(&self, key: &str) -> KvResult<bool> {
        let deleted: u64 = self.query("DEL", &key_cmd("DEL", key)).await?;
        Ok(deleted > 0)
    }

    async fn exists(&self, key: &str) -> KvResult<bool> {
        let count: u64 = self.query("EXISTS", &key_cmd("EXISTS", key)).await?;
        Ok(count > 0)
    }

    async fn incr(&self, key: &str, by: i64) -> KvResult<i64> {
        let mut command = key_cmd("INCRBY", key);
        command.arg(by);
        self.query("INCRBY", &command).await
    }

    async fn list_push(&self, list: &str, value: &str) -> KvResult<u64> {
        let mut command = key_cmd("RPUSH", list);
        command.arg(value);
        self.query("RPUSH", &command).await
    }

    async fn list_remove(&self, list: &str, value: &str) -> KvResult<(u64, u64)> {
        let mut pipeline = pipe();
        pipeline.atomic();
        pipeline.cmd("LREM").arg(list).arg(0).arg(value);
        pipeline.cmd("LLEN").arg(list);
        self.atomic("LREM+LLEN", &pipeline).await
    }

    async fn list_range(&self, list: &str, start: i64, stop: i64) -> KvResult<Vec<String>> {
        let mut command = key_cmd("LRANGE", list);
        command.arg(start).arg(stop);
        self.query("LRANGE", &command).await
    }

    async fn set_add(&self, set: &str, value: &str) -> KvResult<(u64, u64)> {
        let mut pipeline = pipe();
        pipeline.atomic();
        pipeline.cmd("SADD").arg(set).arg(value);
        pipeline.cmd("SCARD").arg(set);
        self.atomic("SADD+SCARD", &pipeline).await
    }

    async fn set_remove(&self, set: &str, value: &str) -> KvResult<(u64, u64)> {
        let mut pipeline = pipe();
        pipeline.atomic();
        pipeline.cmd("SREM").arg(set).arg(value);
        pipeline.cmd("SCARD").arg(set);
        self.atomic("SREM+SCARD", &pipeline).await
    }

    async fn set_members(&self, set: &str) -> KvResult<Vec<String>> {
        self.query("SMEMBERS", &key_cmd("SMEMBERS", set)).await
    }

    async fn set_union(&self, sets: &[String]) -> KvResult<Vec<String>> {
        let mut command = cmd("SUNION");
        command.arg(sets);
        self.query("SUNION", &command).await
    }

    async fn set_intersection(&self, sets: &[String]) -> KvResult<Vec<String>> {
        let mut command = cmd("SINTER");
        command.arg(sets);
        self.query("SINTER", &command).await
    }
}
