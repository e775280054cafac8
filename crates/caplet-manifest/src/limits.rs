//! The `[host.limits]` / `[actor.limits]` keys and the range each one accepts.
//!
//! The manifest only overrides the runtime's defaults (`docs/limits.md`), so every key is
//! optional. The ranges catch typos and unit mix-ups (bytes written where MiB are meant) before
//! anything starts; zero is never accepted, since no actor runs with no memory or no time.

use crate::model::LimitOverrides;

/// Smallest `max_memory_mib`: 1 MiB (one MiB is 16 Wasm pages).
pub const MIN_MEMORY_MIB: u64 = 1;
/// Largest `max_memory_mib`: 4096 MiB, the whole 32-bit Wasm address space. The host's engine
/// ceiling (256 MiB by default) may refuse less; that is checked when the actor loads. Change:
/// edit this constant.
pub const MAX_MEMORY_MIB: u64 = 4096;
/// Smallest `deadline_ms`: 1 ms (the epoch tick makes anything under 10 ms round up).
pub const MIN_DEADLINE_MS: u64 = 1;
/// Largest `deadline_ms`: 600 000 ms (10 minutes); a longer call is a job, not a request.
/// Change: edit this constant.
pub const MAX_DEADLINE_MS: u64 = 600_000;
/// Smallest `max_payload_kib`: 1 KiB.
pub const MIN_PAYLOAD_KIB: u64 = 1;
/// Largest `max_payload_kib`: 262 144 KiB (256 MiB), which already needs that much guest
/// memory. Change: edit this constant.
pub const MAX_PAYLOAD_KIB: u64 = 256 * 1024;
/// Smallest `max_stack_kib`: 64 KiB; less overflows in ordinary Rust guests.
pub const MIN_STACK_KIB: u64 = 64;
/// Largest `max_stack_kib`: 16 384 KiB (16 MiB); every instance's fiber stack grows with it.
/// Change: edit this constant.
pub const MAX_STACK_KIB: u64 = 16 * 1024;
/// Smallest `max_host_call_payload_kib`: 1 KiB.
pub const MIN_HOST_CALL_PAYLOAD_KIB: u64 = 1;
/// Largest `max_host_call_payload_kib`: 262 144 KiB (256 MiB). Change: edit this constant.
pub const MAX_HOST_CALL_PAYLOAD_KIB: u64 = 256 * 1024;

/// One limit key: its name, unit and accepted range.
#[derive(Debug, Clone, Copy)]
pub struct LimitKey {
    /// The key in `[host.limits]` / `[actor.limits]`.
    pub key: &'static str,
    /// The unit of its value, for messages ("MiB", "ms", "KiB").
    pub unit: &'static str,
    /// Smallest accepted value.
    pub min: u64,
    /// Largest accepted value.
    pub max: u64,
    /// The field of [`LimitOverrides`] it sets.
    pub(crate) field: fn(&mut LimitOverrides) -> &mut Option<u64>,
}

impl LimitKey {
    /// This key's value in `limits`.
    pub fn get(&self, limits: &LimitOverrides) -> Option<u64> {
        let mut copy = *limits;
        *(self.field)(&mut copy)
    }
}

/// Every limit key, in the order the documentation lists them.
pub const LIMIT_KEYS: [LimitKey; 5] = [
    LimitKey {
        key: "max_memory_mib",
        unit: "MiB",
        min: MIN_MEMORY_MIB,
        max: MAX_MEMORY_MIB,
        field: |l| &mut l.max_memory_mib,
    },
    LimitKey {
        key: "deadline_ms",
        unit: "ms",
        min: MIN_DEADLINE_MS,
        max: MAX_DEADLINE_MS,
        field: |l| &mut l.deadline_ms,
    },
    LimitKey {
        key: "max_payload_kib",
        unit: "KiB",
        min: MIN_PAYLOAD_KIB,
        max: MAX_PAYLOAD_KIB,
        field: |l| &mut l.max_payload_kib,
    },
    LimitKey {
        key: "max_stack_kib",
        unit: "KiB",
        min: MIN_STACK_KIB,
        max: MAX_STACK_KIB,
        field: |l| &mut l.max_stack_kib,
    },
    LimitKey {
        key: "max_host_call_payload_kib",
        unit: "KiB",
        min: MIN_HOST_CALL_PAYLOAD_KIB,
        max: MAX_HOST_CALL_PAYLOAD_KIB,
        field: |l| &mut l.max_host_call_payload_kib,
    },
];

/// Warm instances an actor keeps when `instances` is not given.
pub const DEFAULT_INSTANCES: u32 = 1;

/// Largest `instances` of one actor: 256.
///
/// Each instance holds its own linear memory, so this bounds what one manifest line can ask
/// for; the engine-wide ceiling on live instances (1 000 by default) still applies across all
/// actors. Change: edit this constant.
pub const MAX_INSTANCES: u32 = 256;

/// Longest actor name, in characters.
pub const MAX_ACTOR_NAME_LEN: usize = 64;

/// The `link_name` of a provider or link that does not give one.
pub const DEFAULT_LINK_NAME: &str = "default";

/// Whether `name` is a valid actor name: `[a-z0-9][a-z0-9_-]*`, at most [`MAX_ACTOR_NAME_LEN`].
pub fn valid_actor_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= MAX_ACTOR_NAME_LEN
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_set_their_own_field() {
        let mut limits = LimitOverrides::default();
        for (i, key) in LIMIT_KEYS.iter().enumerate() {
            *(key.field)(&mut limits) = Some(i as u64 + 1);
            assert!(key.min >= 1 && key.min <= key.max, "{}", key.key);
        }
        assert_eq!(limits.max_memory_mib, Some(1));
        assert_eq!(limits.deadline_ms, Some(2));
        assert_eq!(limits.max_payload_kib, Some(3));
        assert_eq!(limits.max_stack_kib, Some(4));
        assert_eq!(limits.max_host_call_payload_kib, Some(5));
    }

    #[test]
    fn actor_names() {
        for good in ["kvcounter", "a", "0x", "echo-2_b", &"a".repeat(64)] {
            assert!(valid_actor_name(good), "{good}");
        }
        for bad in ["", "Echo", "-a", "_a", "a.b", "a b", "é", &"a".repeat(65)] {
            assert!(!valid_actor_name(bad), "{bad}");
        }
    }
}
