//! Tables read on every call and changed rarely: the host's actor, link and provider tables
//! and its per-operation metrics, and the providers' own binding tables.
//!
//! Why not a `RwLock`: a read lock is an atomic write to a counter that every core shares, so
//! two workers serving requests at once pass that cache line back and forth on every lookup.
//! A [`Snapshot`] is read through `arc_swap`, whose loads write only thread-local state; a
//! change copies the table, edits the copy and publishes it in one pointer store, so readers
//! never wait and never see half a change. Changes (starting an actor, adding a link or a
//! provider) are serialised by a mutex and cost a copy of the table, which is small.
//!
//! [`FastMap`] is the map these tables use: std's `HashMap` with foldhash instead of SipHash.
//! Their keys (actor ids, contract ids, link names) are inserted by the host's operator, and
//! the operation names of the metrics are capped per actor, so the flooding attack SipHash
//! defends against is not open to a guest; foldhash is still seeded per map. Maps whose keys a
//! guest chooses (the in-memory key-value store) keep SipHash.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::{ArcSwap, Guard};

/// A `HashMap` with foldhash's fast, randomly seeded hasher.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A value read without locks and replaced whole on change.
pub struct Snapshot<T> {
    current: ArcSwap<T>,
    /// Serialises changes (copy, edit, publish); readers never take it.
    change: Mutex<()>,
}

impl<T: Default> Default for Snapshot<T> {
    fn default() -> Self {
        Self {
            current: ArcSwap::from_pointee(T::default()),
            change: Mutex::new(()),
        }
    }
}

impl<T: Clone> Snapshot<T> {
    /// The current value. Hold the guard briefly (a lookup), not across an `await`.
    pub fn load(&self) -> Guard<Arc<T>> {
        self.current.load()
    }

    /// Applies `change` to a copy of the current value and publishes it, unless `change`
    /// returns `Err` (then nothing changes). Concurrent changes run one after another.
    pub fn change<R, E>(&self, change: impl FnOnce(&mut T) -> Result<R, E>) -> Result<R, E> {
        let _serial = self.change.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = T::clone(&self.current.load());
        let result = change(&mut next)?;
        self.current.store(Arc::new(next));
        Ok(result)
    }

    /// [`Snapshot::change`] for changes that find nothing to do (`None`: nothing changes).
    pub fn change_some<R>(&self, change: impl FnOnce(&mut T) -> Option<R>) -> Option<R> {
        self.change(|value| change(value).ok_or(())).ok()
    }

    /// [`Snapshot::change`] for changes that cannot fail.
    pub fn update<R>(&self, change: impl FnOnce(&mut T) -> R) -> R {
        match self.change(|value| Ok::<R, std::convert::Infallible>(change(value))) {
            Ok(result) => result,
            Err(never) => match never {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_keep_the_value_they_loaded_and_failed_changes_publish_nothing() {
        let table: Snapshot<Vec<u32>> = Snapshot::default();
        table.update(|v| v.push(1));
        let before = table.load_full_for_test();
        table.update(|v| v.push(2));
        assert_eq!(*before, [1]);
        assert_eq!(**table.load(), [1, 2]);
        let refused: Result<(), &str> = table.change(|v| {
            v.push(3);
            Err("no")
        });
        assert_eq!(refused, Err("no"));
        assert_eq!(**table.load(), [1, 2]);
    }

    impl<T> Snapshot<T> {
        fn load_full_for_test(&self) -> Arc<T> {
            self.current.load_full()
        }
    }
}
