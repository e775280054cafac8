//! Manifest limits (MiB, ms, KiB) to runtime limits (bytes, durations). Unset keys keep the
//! runtime's defaults, documented once in `caplet_runtime::limits`.

use std::time::Duration;

use caplet_manifest::LimitOverrides;
use caplet_runtime::{EngineLimits, Limits};

fn kib(value: u64) -> usize {
    usize::try_from(value.saturating_mul(1024)).unwrap_or(usize::MAX)
}

/// Per-actor limits from the manifest's effective overrides.
pub fn runtime_limits(overrides: &LimitOverrides) -> Limits {
    let mut limits = Limits::default();
    if let Some(mib) = overrides.max_memory_mib {
        limits.max_memory_bytes = mib.saturating_mul(1 << 20);
    }
    if let Some(ms) = overrides.deadline_ms {
        limits.call_deadline = Duration::from_millis(ms);
    }
    if let Some(value) = overrides.max_payload_kib {
        limits.max_payload_bytes = kib(value);
    }
    if let Some(value) = overrides.max_host_call_payload_kib {
        limits.max_host_call_bytes = kib(value);
    }
    limits
}

/// Engine-wide limits: the wasm stack is a property of the engine, so `[host.limits]
/// max_stack_kib` sets it for every actor, and the engine's memory ceiling is raised to the
/// largest actor memory limit.
pub fn engine_limits(host: &LimitOverrides, actors: &[Limits]) -> EngineLimits {
    let mut engine = EngineLimits::default();
    if let Some(value) = host.max_stack_kib {
        engine.max_wasm_stack_bytes = kib(value);
    }
    if let Some(largest) = actors.iter().map(|l| l.max_memory_bytes).max() {
        engine.max_memory_bytes = engine.max_memory_bytes.max(largest);
    }
    engine
}
