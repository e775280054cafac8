//! The in-memory store: strings, lists and sets with expiry, under a byte budget.
//!
//! It mirrors Redis semantics so an actor behaves the same on either backend. Every operation
//! takes one mutex for a few map operations (never across an await), which also makes
//! increments atomic. Expired keys are reclaimed at the start of every operation through an
//! index ordered by deadline, so they never linger while the store is used.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::future::{Future, ready};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use caplet_provider_api::ProviderError;
use tokio::time::Instant;

use crate::backend::{Backend, KvResult};
use crate::dispatch::show;
use crate::{MEMORY_ENTRY_OVERHEAD_BYTES, MEMORY_ITEM_OVERHEAD_BYTES};

/// A store shared by every actor bound to one memory provider.
#[derive(Debug)]
pub(crate) struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// (deadline, key) of every key with an expiry, earliest first. Kept exact: an entry's
    /// deadline is here exactly while the entry exists with that deadline.
    expiry: BTreeSet<(Instant, String)>,
    used: usize,
    max_bytes: usize,
}

#[derive(Debug)]
struct Entry {
    value: Value,
    expires_at: Option<Instant>,
    /// Bytes charged for this entry against `max_bytes`.
    size: usize,
}

#[derive(Debug)]
enum Value {
    Str(String),
    /// A string that is the decimal text of this number, as an increment leaves it. Like
    /// Redis's integer encoding: a counter is added to without parsing and printing its text
    /// (and allocating a new one) under the lock; to an actor it is the same string.
    Int(i64),
    List(VecDeque<String>),
    Set(BTreeSet<String>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Self::Str(_) | Self::Int(_) => "string",
            Self::List(_) => "list",
            Self::Set(_) => "set",
        }
    }
}

/// Bytes charged for a key before its value: overhead, the key, and its copy in the expiry
/// index when it has a deadline.
fn base_size(key: &str, expiring: bool) -> usize {
    MEMORY_ENTRY_OVERHEAD_BYTES + key.len() * if expiring { 2 } else { 1 }
}

/// Bytes of the decimal text of `n` (what `n.to_string().len()` would be).
fn decimal_len(n: i64) -> usize {
    let digits = n
        .unsigned_abs()
        .checked_ilog10()
        .map_or(1, |log| log as usize + 1);
    digits + usize::from(n < 0)
}

fn item_size(item: &str) -> usize {
    item.len() + MEMORY_ITEM_OVERHEAD_BYTES
}

fn wrong_type(key: &str, found: &Value, wanted: &str) -> ProviderError {
    ProviderError::Failed(format!(
        "key \"{}\" holds a {}, not a {wanted} (WRONGTYPE); use another key, or delete this one \
         first",
        show(key),
        found.kind()
    ))
}

impl MemoryStore {
    /// An empty store that holds at most `max_bytes` (see `MEMORY_*_OVERHEAD_BYTES`).
    pub(crate) fn new(max_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                expiry: BTreeSet::new(),
                used: 0,
                max_bytes,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while the lock is held; a poisoned store is still consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on the store after reclaiming every key expired by now.
    fn with<T>(&self, f: impl FnOnce(&mut Inner, Instant) -> T) -> T {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.sweep(now);
        f(&mut inner, now)
    }

    /// Bytes charged now (after reclaiming expired keys).
    pub(crate) fn used_bytes(&self) -> usize {
        self.with(|inner, _| inner.used)
    }

    /// Live keys now.
    pub(crate) fn key_count(&self) -> usize {
        self.with(|inner, _| inner.entries.len())
    }

    /// Drops every key.
    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        inner.entries.clear();
        inner.expiry.clear();
        inner.used = 0;
    }
}

impl Inner {
    fn sweep(&mut self, now: Instant) {
        while self.expiry.first().is_some_and(|(at, _)| *at <= now) {
            if let Some((_, key)) = self.expiry.pop_first() {
                self.remove(&key);
            }
        }
    }

    fn remove(&mut self, key: &str) -> Option<Entry> {
        let entry = self.entries.remove(key)?;
        if let Some(at) = entry.expires_at {
            self.expiry.remove(&(at, key.to_owned()));
        }
        self.used = self.used.saturating_sub(entry.size);
        Some(entry)
    }

    /// Fails with "store full" when growing a charge from `old` to `new` bytes would cross
    /// the budget; shrinking always succeeds.
    fn reserve(&self, key: &str, old: usize, new: usize) -> KvResult<()> {
        let after = self.used.saturating_sub(old).saturating_add(new);
        if new > old && after > self.max_bytes {
            return Err(ProviderError::Failed(format!(
                "memory store full: writing key \"{}\" needs {} more bytes but {} of {} are in \
                 use; nothing was changed. Delete keys, give them expiries, or raise the \
                 provider config key max_bytes",
                show(key),
                new - old,
                self.used,
                self.max_bytes
            )));
        }
        Ok(())
    }

    /// Moves an existing entry's charge from `old` to `new` (already reserved).
    fn recharge(&mut self, old: usize, new: usize) {
        self.used = self.used.saturating_sub(old).saturating_add(new);
    }

    fn insert(&mut self, key: &str, value: Value, expires_at: Option<Instant>, size: usize) {
        self.remove(key);
        if let Some(at) = expires_at {
            self.expiry.insert((at, key.to_owned()));
        }
        self.used = self.used.saturating_add(size);
        self.entries.insert(
            key.to_owned(),
            Entry {
                value,
                expires_at,
                size,
            },
        );
    }

    fn get(&self, key: &str) -> KvResult<Option<String>> {
        match self.entries.get(key).map(|e| &e.value) {
            None => Ok(None),
            Some(Value::Str(s)) => Ok(Some(s.clone())),
            Some(Value::Int(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(wrong_type(key, other, "string")),
        }
    }

    fn set(&mut self, key: &str, value: &str, expires_secs: u32, now: Instant) -> KvResult<()> {
        let expires_at = match expires_secs {
            0 => None,
            secs => now.checked_add(Duration::from_secs(u64::from(secs))),
        };
        let size = base_size(key, expires_at.is_some()) + value.len();
        let old = self.entries.get(key).map_or(0, |e| e.size);
        self.reserve(key, old, size)?;
        self.insert(key, Value::Str(value.to_owned()), expires_at, size);
        Ok(())
    }

    fn incr(&mut self, key: &str, by: i64) -> KvResult<i64> {
        let current = match self.entries.get(key).map(|e| &e.value) {
            None => 0,
            Some(Value::Int(n)) => *n,
            Some(Value::Str(text)) => text.parse::<i64>().map_err(|_| {
                ProviderError::Failed(format!(
                    "key \"{}\" holds \"{}\", not an integer; increment works only on decimal \
                     integer strings, so set the key to a number first",
                    show(key),
                    show(text)
                ))
            })?,
            Some(other) => return Err(wrong_type(key, other, "string")),
        };
        let next = current.checked_add(by).ok_or_else(|| {
            ProviderError::Failed(format!(
                "incrementing key \"{}\" ({current} by {by}) overflows a 64-bit integer; nothing \
                 was changed",
                show(key)
            ))
        })?;
        let text_len = decimal_len(next);
        match self.entries.get(key) {
            Some(entry) => {
                let old = entry.size;
                let new = base_size(key, entry.expires_at.is_some()) + text_len;
                self.reserve(key, old, new)?;
                self.recharge(old, new);
                if let Some(entry) = self.entries.get_mut(key) {
                    entry.value = Value::Int(next);
                    entry.size = new;
                }
            }
            None => {
                let size = base_size(key, false) + text_len;
                self.reserve(key, 0, size)?;
                self.insert(key, Value::Int(next), None, size);
            }
        }
        Ok(next)
    }

    fn list_push(&mut self, list: &str, value: &str) -> KvResult<u64> {
        match self.entries.get(list) {
            None => {
                let size = base_size(list, false) + item_size(value);
                self.reserve(list, 0, size)?;
                self.insert(
                    list,
                    Value::List(VecDeque::from([value.to_owned()])),
                    None,
                    size,
                );
                Ok(1)
            }
            Some(Entry {
                value: Value::List(_),
                size,
                ..
            }) => {
                let (old, new) = (*size, size + item_size(value));
                self.reserve(list, old, new)?;
                self.recharge(old, new);
                let Some(Entry {
                    value: Value::List(items),
                    size,
                    ..
                }) = self.entries.get_mut(list)
                else {
                    return Ok(0);
                };
                items.push_back(value.to_owned());
                *size = new;
                Ok(items.len() as u64)
            }
            Some(other) => Err(wrong_type(list, &other.value, "list")),
        }
    }

    fn list_remove(&mut self, list: &str, value: &str) -> KvResult<(u64, u64)> {
        let (removed, left, old) = match self.entries.get_mut(list) {
            None => return Ok((0, 0)),
            Some(Entry {
                value: Value::List(items),
                size,
                ..
            }) => {
                let before = items.len();
                items.retain(|item| item != value);
                let removed = before - items.len();
                let old = *size;
                *size = old.saturating_sub(removed * item_size(value));
                (removed as u64, items.len() as u64, old)
            }
            Some(other) => return Err(wrong_type(list, &other.value, "list")),
        };
        let new = old.saturating_sub(removed as usize * item_size(value));
        self.recharge(old, new);
        if left == 0 {
            self.remove(list);
        }
        Ok((removed, left))
    }

    fn list_range(&self, list: &str, start: i64, stop: i64) -> KvResult<Vec<String>> {
        let items = match self.entries.get(list).map(|e| &e.value) {
            None => return Ok(Vec::new()),
            Some(Value::List(items)) => items,
            Some(other) => return Err(wrong_type(list, other, "list")),
        };
        Ok(match redis_range(items.len(), start, stop) {
            Some((first, last)) => items.range(first..=last).cloned().collect(),
            None => Vec::new(),
        })
    }

    fn set_add(&mut self, set: &str, value: &str) -> KvResult<(u64, u64)> {
        match self.entries.get(set) {
            None => {
                let size = base_size(set, false) + item_size(value);
                self.reserve(set, 0, size)?;
                self.insert(
                    set,
                    Value::Set(BTreeSet::from([value.to_owned()])),
                    None,
                    size,
                );
                Ok((1, 1))
            }
            Some(Entry {
                value: Value::Set(members),
                size,
                ..
            }) => {
                if members.contains(value) {
                    return Ok((0, members.len() as u64));
                }
                let (old, new) = (*size, size + item_size(value));
                self.reserve(set, old, new)?;
                self.recharge(old, new);
                let Some(Entry {
                    value: Value::Set(members),
                    size,
                    ..
                }) = self.entries.get_mut(set)
                else {
                    return Ok((0, 0));
                };
                members.insert(value.to_owned());
                *size = new;
                Ok((1, members.len() as u64))
            }
            Some(other) => Err(wrong_type(set, &other.value, "set")),
        }
    }

    fn set_remove(&mut self, set: &str, value: &str) -> KvResult<(u64, u64)> {
        let (left, old) = match self.entries.get_mut(set) {
            None => return Ok((0, 0)),
            Some(Entry {
                value: Value::Set(members),
                size,
                ..
            }) => {
                if !members.remove(value) {
                    return Ok((0, members.len() as u64));
                }
                let old = *size;
                *size = old.saturating_sub(item_size(value));
                (members.len() as u64, old)
            }
            Some(other) => return Err(wrong_type(set, &other.value, "set")),
        };
        self.recharge(old, old.saturating_sub(item_size(value)));
        if left == 0 {
            self.remove(set);
        }
        Ok((1, left))
    }

    /// The sets named, `None` standing for a missing key; an error for any other type.
    fn sets<'a>(&'a self, names: &[String]) -> KvResult<Vec<Option<&'a BTreeSet<String>>>> {
        names
            .iter()
            .map(|name| match self.entries.get(name).map(|e| &e.value) {
                None => Ok(None),
                Some(Value::Set(members)) => Ok(Some(members)),
                Some(other) => Err(wrong_type(name, other, "set")),
            })
            .collect()
    }

    fn set_union(&self, names: &[String]) -> KvResult<Vec<String>> {
        let mut union = BTreeSet::new();
        for members in self.sets(names)?.into_iter().flatten() {
            union.extend(members.iter());
        }
        Ok(union.into_iter().cloned().collect())
    }

    fn set_intersection(&self, names: &[String]) -> KvResult<Vec<String>> {
        let Some(mut sets) = self.sets(names)?.into_iter().collect::<Option<Vec<_>>>() else {
            return Ok(Vec::new()); // a missing key is an empty set
        };
        sets.sort_by_key(|members| members.len());
        let Some((smallest, others)) = sets.split_first() else {
            return Ok(Vec::new());
        };
        Ok(smallest
            .iter()
            .filter(|member| others.iter().all(|set| set.contains(*member)))
            .cloned()
            .collect())
    }
}

/// Redis `LRANGE` index arithmetic: the inclusive positions `start..=stop` of a list of
/// `len` items, negative indexes counting from the end; `None` when the range is empty.
pub(crate) fn redis_range(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let len = i64::try_from(len).ok()?;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 {
        len + stop
    } else {
        stop.min(len - 1)
    };
    if start > stop || start >= len || stop < 0 {
        return None;
    }
    Some((usize::try_from(start).ok()?, usize::try_from(stop).ok()?))
}

impl Backend for MemoryStore {
    fn get(&self, key: &str) -> impl Future<Output = KvResult<Option<String>>> + Send {
        ready(self.with(|s, _| s.get(key)))
    }

    fn set(&self, key: &str, value: &str, secs: u32) -> impl Future<Output = KvResult<()>> + Send {
        ready(self.with(|s, now| s.set(key, value, secs, now)))
    }

    fn del(&self, key: &str) -> impl Future<Output = KvResult<bool>> + Send {
        ready(Ok(self.with(|s, _| s.remove(key).is_some())))
    }

    fn exists(&self, key: &str) -> impl Future<Output = KvResult<bool>> + Send {
        ready(Ok(self.with(|s, _| s.entries.contains_key(key))))
    }

    fn incr(&self, key: &str, by: i64) -> impl Future<Output = KvResult<i64>> + Send {
        ready(self.with(|s, _| s.incr(key, by)))
    }

    fn list_push(&self, list: &str, value: &str) -> impl Future<Output = KvResult<u64>> + Send {
        ready(self.with(|s, _| s.list_push(list, value)))
    }

    fn list_remove(
        &self,
        list: &str,
        value: &str,
    ) -> impl Future<Output = KvResult<(u64, u64)>> + Send {
        ready(self.with(|s, _| s.list_remove(list, value)))
    }

    fn list_range(
        &self,
        list: &str,
        start: i64,
        stop: i64,
    ) -> impl Future<Output = KvResult<Vec<String>>> + Send {
        ready(self.with(|s, _| s.list_range(list, start, stop)))
    }

    fn set_add(&self, set: &str, value: &str) -> impl Future<Output = KvResult<(u64, u64)>> + Send {
        ready(self.with(|s, _| s.set_add(set, value)))
    }

    fn set_remove(
        &self,
        set: &str,
        value: &str,
    ) -> impl Future<Output = KvResult<(u64, u64)>> + Send {
        ready(self.with(|s, _| s.set_remove(set, value)))
    }

    fn set_members(&self, set: &str) -> impl Future<Output = KvResult<Vec<String>>> + Send {
        ready(self.with(|s, _| s.set_union(std::slice::from_ref(&set.to_owned()))))
    }

    fn set_union(&self, sets: &[String]) -> impl Future<Output = KvResult<Vec<String>>> + Send {
        ready(self.with(|s, _| s.set_union(sets)))
    }

    fn set_intersection(
        &self,
        sets: &[String],
    ) -> impl Future<Output = KvResult<Vec<String>>> + Send {
        ready(self.with(|s, _| s.set_intersection(sets)))
    }
}
