//! The probe: one tiny argument-driven guest that the host's tests drive into every behaviour
//! they need (normal answers, errors, traps, runaway loops, memory growth, stack overflow, host
//! calls, logging, versions for hot swap), instead of one test module per case.
//!
//! Built on `caplet-guest`; see docs/guests.md for the operations and their payloads.

use caplet_guest::contracts::health::{HealthCheckRequest, HealthCheckResponse};
use caplet_guest::{HandlerError, HandlerResult};
use core::hint::black_box;
use std::sync::{Mutex, PoisonError};

/// What the health handler answers, as set by `set_health` (empty: healthy). Per instance: the
/// host's tests keep one instance to make it stick.
static HEALTH: Mutex<String> = Mutex::new(String::new());

/// Registers every operation. The host runs this once after instantiation.
// `no_mangle` is the only unsafe construct in this crate: the host finds `wapc_init` by name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    caplet_guest::register("echo", echo);
    caplet_guest::register("loop", spin);
    caplet_guest::register("alloc", alloc);
    caplet_guest::register("trap", trap);
    caplet_guest::register("recurse", recurse);
    caplet_guest::register("panic", panic);
    caplet_guest::register("fail", fail);
    caplet_guest::register("log", log);
    caplet_guest::register("host_call", host_call);
    caplet_guest::register("version", version);
    caplet_guest::register("set_health", set_health);
    caplet_guest::register_health_handler(health);
}

/// Returns the payload unchanged.
fn echo(payload: &[u8]) -> HandlerResult<Vec<u8>> {
    Ok(payload.to_vec())
}

/// Never returns: only an execution deadline (fuel, epoch) stops it.
fn spin(_: &[u8]) -> HandlerResult<Vec<u8>> {
    let mut turns = 0u64;
    loop {
        turns = black_box(turns.wrapping_add(1));
    }
}

/// Payload: ASCII decimal N. Allocates and fills N bytes, returns N as ASCII decimal.
/// If memory cannot grow, the allocator aborts, which is a trap: that is the point.
fn alloc(payload: &[u8]) -> HandlerResult<Vec<u8>> {
    let text = String::from_utf8_lossy(payload);
    let bytes: usize = text.trim().parse().map_err(|error| {
        HandlerError::new(format!(
            "alloc: the payload must be a decimal byte count, got {text:?}: {error}"
        ))
    })?;
    let block = black_box(vec![1u8; bytes]);
    Ok(block.len().to_string().into_bytes())
}

/// Executes the Wasm `unreachable` instruction.
fn trap(_: &[u8]) -> HandlerResult<Vec<u8>> {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    std::process::abort();
}

/// Recurses without bound until the stack overflows (a trap).
fn recurse(_: &[u8]) -> HandlerResult<Vec<u8>> {
    Ok(descend(0).to_string().into_bytes())
}

/// Non-tail recursion with a frame the optimiser cannot remove or turn into a loop.
fn descend(depth: u64) -> u64 {
    let frame = black_box([depth; 8]);
    // Never true (depth cannot reach u64::MAX first); it only keeps the recursion conditional.
    if black_box(depth) == u64::MAX {
        return 0;
    }
    let below = descend(black_box(depth + 1));
    black_box(
        frame
            .iter()
            .fold(below, |sum, value| sum.wrapping_add(*value)),
    )
}

/// Panics with the payload as the message (with `panic = "abort"`, a trap).
fn panic(payload: &[u8]) -> HandlerResult<Vec<u8>> {
    panic!("{}", String::from_utf8_lossy(payload));
}

/// Fails with the payload text as the error message.
fn fail(payload: &[u8]) -> HandlerResult<Vec<u8>> {
    Err(HandlerError::new(String::from_utf8_lossy(payload)))
}

/// Logs the payload through the host's console, returns nothing.
fn log(payload: &[u8]) -> HandlerResult<Vec<u8>> {
    caplet_guest::console_log(&String::from_utf8_lossy(payload));
    Ok(Vec::new())
}

/// Payload: `binding\nnamespace\noperation\n<payload bytes>` (the payload part may be absent).
/// Forwards the call to the host and returns its answer.
fn host_call(payload: &[u8]) -> HandlerResult<Vec<u8>> {
    let mut parts = payload.splitn(4, |byte| *byte == b'\n');
    let mut field = |name: &str| -> HandlerResult<&str> {
        let bytes = parts.next().ok_or_else(|| {
            HandlerError::new(format!(
                "host_call: the payload must be binding\\nnamespace\\noperation\\npayload, {name} is missing"
            ))
        })?;
        std::str::from_utf8(bytes).map_err(|error| {
            HandlerError::new(format!("host_call: the {name} is not UTF-8: {error}"))
        })
    };
    let binding = field("binding")?;
    let namespace = field("namespace")?;
    let operation = field("operation")?;
    let body = parts.next().unwrap_or_default();
    caplet_guest::host_call(binding, namespace, operation, body).map_err(|error| match error {
        caplet_guest::GuestError::Host { message } => {
            HandlerError::new(format!("host call failed: {message}"))
        }
        other => HandlerError::new(format!("host call failed: {other}")),
    })
}

/// Returns the version baked in at build time (`CAPLET_PROBE_VERSION`, default `v1`), so hot-swap
/// tests can tell two builds of the same guest apart.
fn version(_: &[u8]) -> HandlerResult<Vec<u8>> {
    Ok(option_env!("CAPLET_PROBE_VERSION")
        .unwrap_or("v1")
        .as_bytes()
        .to_vec())
}

/// Payload: how the health handler answers from now on, in this instance: `healthy`,
/// `unhealthy:<message>`, `fail:<message>` (a handler error) or `trap`.
fn set_health(payload: &[u8]) -> HandlerResult<Vec<u8>> {
    let mode = String::from_utf8_lossy(payload).into_owned();
    *HEALTH.lock().unwrap_or_else(PoisonError::into_inner) = mode;
    Ok(Vec::new())
}

/// `Actor.HealthRequest`: answers as `set_health` said (healthy by default).
fn health(_: HealthCheckRequest) -> HandlerResult<HealthCheckResponse> {
    let mode = HEALTH
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if let Some(message) = mode.strip_prefix("unhealthy:") {
        return Ok(HealthCheckResponse {
            healthy: false,
            message: Some(message.to_string()),
        });
    }
    if let Some(message) = mode.strip_prefix("fail:") {
        return Err(HandlerError::new(message));
    }
    if mode == "trap" {
        return trap(&[]).map(|_| HealthCheckResponse::default());
    }
    Ok(HealthCheckResponse {
        healthy: true,
        message: Some("probe ok".to_string()),
    })
}
