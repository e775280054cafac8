//! The storage primitives a key-value backend provides to the shared dispatcher.
//!
//! Decoding, limits and the two wire generations live once in `dispatch`; a backend only
//! stores data, with Redis semantics (atomic increment, inclusive ranges with negative indexes,
//! `WRONGTYPE`-style errors), so the in-memory store and Redis behave the same to an actor.

use std::future::Future;

use caplet_provider_api::ProviderError;

/// The result of every backend call.
pub(crate) type KvResult<T> = Result<T, ProviderError>;

/// Storage for one provider. Every method is one atomic step as Redis would do it. Errors are
/// final `ProviderError`s whose text names the key and says what to do.
pub(crate) trait Backend: Sync {
    /// The string value of `key`, `None` when it does not exist; an error for a list or set.
    fn get(&self, key: &str) -> impl Future<Output = KvResult<Option<String>>> + Send;

    /// Stores a string under `key`, replacing whatever was there (any type) and its expiry.
    /// `expires_secs` 0 means never.
    fn set(
        &self,
        key: &str,
        value: &str,
        expires_secs: u32,
    ) -> impl Future<Output = KvResult<()>> + Send;

    /// Deletes `key` whatever its type; true when it existed.
    fn del(&self, key: &str) -> impl Future<Output = KvResult<bool>> + Send;

    /// Whether `key` exists (any type).
    fn exists(&self, key: &str) -> impl Future<Output = KvResult<bool>> + Send;

    /// Adds `by` to the integer stored as a string under `key` (missing counts as 0), keeping
    /// its expiry, and returns the new value. An error when the value is not an integer, the
    /// key holds a list or set, or the result overflows 64 bits.
    fn incr(&self, key: &str, by: i64) -> impl Future<Output = KvResult<i64>> + Send;

    /// Appends `value` to the list `list` (created when missing); returns the new length.
    fn list_push(&self, list: &str, value: &str) -> impl Future<Output = KvResult<u64>> + Send;

    /// Removes every occurrence of `value`; returns (removed, new length). An empty list is
    /// deleted, as Redis does.
    fn list_remove(
        &self,
        list: &str,
        value: &str,
    ) -> impl Future<Output = KvResult<(u64, u64)>> + Send;

    /// Items `start..=stop`, negative indexes counting from the end (Redis `LRANGE`).
    fn list_range(
        &self,
        list: &str,
        start: i64,
        stop: i64,
    ) -> impl Future<Output = KvResult<Vec<String>>> + Send;

    /// Adds `value` to the set `set` (created when missing); returns (added 0/1, new size).
    fn set_add(&self, set: &str, value: &str) -> impl Future<Output = KvResult<(u64, u64)>> + Send;

    /// Removes `value` from the set; returns (removed 0/1, new size). An empty set is deleted.
    fn set_remove(
        &self,
        set: &str,
        value: &str,
    ) -> impl Future<Output = KvResult<(u64, u64)>> + Send;

    /// The members of `set` (empty when missing).
    fn set_members(&self, set: &str) -> impl Future<Output = KvResult<Vec<String>>> + Send;

    /// The union of `sets` (never called with an empty slice).
    fn set_union(&self, sets: &[String]) -> impl Future<Output = KvResult<Vec<String>>> + Send;

    /// The intersection of `sets` (never called with an empty slice).
    fn set_intersection(
        &self,
        sets: &[String],
    ) -> impl Future<Output = KvResult<Vec<String>>> + Send;
}

/// The effective bounds of one provider, checked by the dispatcher before the backend runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Largest value, list item or set member written (`max_value_bytes`).
    pub max_value_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_value_bytes: crate::DEFAULT_MAX_VALUE_BYTES,
        }
    }
}
