//! `wasmcloud:keyvalue`: the key-value client, speaking the wasmbus `KeyValue.*` operations.
//!
//! Inputs and outputs are exactly those of `caplet_wire::keyvalue`: a bare key is a MessagePack
//! string, counts and flags come back as bare integers and booleans. Values are strings; store
//! structured data as JSON or any other text encoding.

use caplet_wire::contracts::KEY_VALUE;
use caplet_wire::keyvalue::{self as wire, GetResponse, borrowed};

use super::{DEFAULT_LINK, LinkName, call, call_for, link_name};
use crate::error::GuestError;

/// The key-value store linked to this actor under the link name `"default"`.
///
/// ```no_run
/// let hits = caplet_guest::kv().increment("hits", 1)?;
/// # Ok::<(), caplet_guest::GuestError>(())
/// ```
pub fn kv() -> KeyValue {
    kv_on(DEFAULT_LINK)
}

/// The key-value store linked to this actor under `link` (a manifest's `link_name`).
pub fn kv_on(link: &str) -> KeyValue {
    KeyValue {
        link: link_name(link),
    }
}

/// A client for one key-value link. Every method is one host call; errors are
/// [`GuestError::Host`] with the host's text (no link, capability not in the claims, provider
/// down, ...) or [`GuestError::Decode`] when the answer is not what the contract defines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    link: LinkName,
}

impl KeyValue {
    /// The link name this client calls through.
    pub fn link(&self) -> &str {
        &self.link
    }

    /// The value of `key`, `None` when it does not exist.
    pub fn get(&self, key: &str) -> Result<Option<String>, GuestError> {
        let response: GetResponse = self.call_for(wire::GET, key)?;
        Ok(response.exists.then_some(response.value))
    }

    /// Stores `value` under `key` without expiry.
    pub fn set(&self, key: &str, value: &str) -> Result<(), GuestError> {
        self.set_expiring(key, value, 0)
    }

    /// Stores `value` under `key`; it expires after `seconds` (0 means never).
    pub fn set_expiring(&self, key: &str, value: &str, seconds: u32) -> Result<(), GuestError> {
        let request = borrowed::SetRequest {
            key,
            value,
            expires: seconds,
        };
        // `Set` has no output: whatever the provider answers is ignored.
        call(&self.link, KEY_VALUE, wire::SET, &request).map(drop)
    }

    /// Deletes `key`; true when it existed.
    pub fn del(&self, key: &str) -> Result<bool, GuestError> {
        self.call_for(wire::DEL, key)
    }

    /// Whether `key` exists.
    pub fn contains(&self, key: &str) -> Result<bool, GuestError> {
        self.call_for(wire::CONTAINS, key)
    }

    /// Adds `by` (may be negative) to the number under `key`, atomically; a missing key counts
    /// from 0. Returns the new value.
    pub fn increment(&self, key: &str, by: i32) -> Result<i32, GuestError> {
        let request = borrowed::IncrementRequest { key, value: by };
        self.call_for(wire::INCREMENT, &request)
    }

    /// Appends `value` to the list `list`; returns the list's new length.
    pub fn list_add(&self, list: &str, value: &str) -> Result<u32, GuestError> {
        let request = borrowed::ListItemRequest {
            list_name: list,
            value,
        };
        self.call_for(wire::LIST_ADD, &request)
    }

    /// The values of `list` from `start` to `stop`, both inclusive; negative indexes count from
    /// the end (`list_range(name, 0, -1)` is the whole list).
    pub fn list_range(&self, list: &str, start: i32, stop: i32) -> Result<Vec<String>, GuestError> {
        let request = borrowed::ListRangeRequest {
            list_name: list,
            start,
            stop,
        };
        self.call_for(wire::LIST_RANGE, &request)
    }

    /// Removes every occurrence of `value` from `list`; true when one was removed.
    pub fn list_del(&self, list: &str, value: &str) -> Result<bool, GuestError> {
        let request = borrowed::ListItemRequest {
            list_name: list,
            value,
        };
        self.call_for(wire::LIST_DEL, &request)
    }

    /// Deletes the list `list`; true when it existed.
    pub fn list_clear(&self, list: &str) -> Result<bool, GuestError> {
        self.call_for(wire::LIST_CLEAR, list)
    }

    /// Adds `value` to the set `set`; returns how many values were added (0 if already there).
    pub fn set_add(&self, set: &str, value: &str) -> Result<u32, GuestError> {
        let request = borrowed::SetItemRequest {
            set_name: set,
            value,
        };
        self.call_for(wire::SET_ADD, &request)
    }

    /// Removes `value` from the set `set`; returns how many values were removed.
    pub fn set_del(&self, set: &str, value: &str) -> Result<u32, GuestError> {
        let request = borrowed::SetItemRequest {
            set_name: set,
            value,
        };
        self.call_for(wire::SET_DEL, &request)
    }

    /// The members of the set `set` (empty when it does not exist), in no particular order.
    pub fn set_query(&self, set: &str) -> Result<Vec<String>, GuestError> {
        self.call_for(wire::SET_QUERY, set)
    }

    /// The members of any of `sets`.
    pub fn set_union(&self, sets: &[&str]) -> Result<Vec<String>, GuestError> {
        self.call_for(wire::SET_UNION, sets)
    }

    /// The members of all of `sets`.
    pub fn set_intersection(&self, sets: &[&str]) -> Result<Vec<String>, GuestError> {
        self.call_for(wire::SET_INTERSECTION, sets)
    }

    /// Deletes the set `set`; true when it existed.
    pub fn set_clear(&self, set: &str) -> Result<bool, GuestError> {
        self.call_for(wire::SET_CLEAR, set)
    }

    fn call_for<I, O>(&self, operation: &str, input: &I) -> Result<O, GuestError>
    where
        I: serde::Serialize + ?Sized,
        O: serde::de::DeserializeOwned,
    {
        call_for(&self.link, KEY_VALUE, operation, input)
    }
}
