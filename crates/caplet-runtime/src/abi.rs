//! The waPC host ABI: the nine imports of wire-compat.md §1.1, under `wapc` and `wasmbus`.
//!
//! Every pointer and length comes from an untrusted guest. Each access is bounds-checked
//! against the guest's memory; a bad pointer, a bad length or invalid UTF-8 traps that instance
//! with a message naming the import, and never panics the host. The host never allocates in
//! guest memory: the guest supplies buffers it sized from the `*_len` imports.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::task::Poll;
use std::time::Instant;

use wasmtime::{Caller, Extern, Linker, Memory};

use crate::host::{DEFAULT_BINDING, HostCall, HostCallError};
use crate::limits::HOST_CALL_BUFFER_KEEP_BYTES;
use crate::state::GuestState;

/// The import module names the runtime serves: waPC's own, and the wasmbus generation's.
pub const IMPORT_MODULES: [&str; 2] = ["wapc", "wasmbus"];

/// The nine waPC imports, by name.
pub const IMPORT_NAMES: [&str; 9] = [
    "__guest_request",
    "__guest_response",
    "__guest_error",
    "__host_call",
    "__host_response",
    "__host_response_len",
    "__host_error",
    "__host_error_len",
    "__console_log",
];

/// Defines the nine imports under both module names.
pub(crate) fn define_imports(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    for module in IMPORT_MODULES {
        linker.func_wrap(module, "__guest_request", guest_request)?;
        linker.func_wrap(module, "__guest_response", guest_response)?;
        linker.func_wrap(module, "__guest_error", guest_error)?;
        linker.func_wrap_async(module, "__host_call", |caller, args| {
            Box::new(host_call(caller, args))
        })?;
        linker.func_wrap(module, "__host_response", host_response)?;
        linker.func_wrap(module, "__host_response_len", host_response_len)?;
        linker.func_wrap(module, "__host_error", host_error)?;
        linker.func_wrap(module, "__host_error_len", host_error_len)?;
        linker.func_wrap(module, "__console_log", console_log)?;
    }
    Ok(())
}

fn guest_request(
    mut caller: Caller<'_, GuestState>,
    op_ptr: i32,
    ptr: i32,
) -> wasmtime::Result<()> {
    if !caller.data().has_request {
        return Ok(());
    }
    let memory = memory(&mut caller, "__guest_request")?;
    let (data, state) = memory.data_and_store_mut(&mut caller);
    write_at(
        data,
        op_ptr,
        state.operation.as_bytes(),
        "__guest_request (operation)",
    )?;
    write_at(data, ptr, &state.request, "__guest_request (payload)")
}

fn guest_response(mut caller: Caller<'_, GuestState>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let limit = caller.data().limits.max_payload_bytes;
    if to_usize(len) > limit {
        return Err(abi_trap(format!(
            "__guest_response: the guest returned {} bytes, over the limit of {limit} bytes",
            to_usize(len)
        )));
    }
    let bytes = read(&mut caller, ptr, len, "__guest_response")?;
    caller.data_mut().guest_response = Some(bytes);
    Ok(())
}

fn guest_error(mut caller: Caller<'_, GuestState>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    let limit = caller.data().limits.max_guest_text_bytes;
    let text = read_str(&mut caller, ptr, len.min(to_i32(limit)), "__guest_error")?;
    caller.data_mut().guest_error = Some(text);
    Ok(())
}

type HostCallArgs = (i32, i32, i32, i32, i32, i32, i32, i32);

async fn host_call(
    mut caller: Caller<'_, GuestState>,
    (bd_ptr, bd_len, ns_ptr, ns_len, op_ptr, op_len, ptr, len): HostCallArgs,
) -> wasmtime::Result<i32> {
    let state = caller.data_mut();
    state.host_response = None;
    state.host_error = None;
    let limit = state.limits.max_host_call_bytes;
    let total = [bd_len, ns_len, op_len, len]
        .iter()
        .map(|l| to_usize(*l))
        .sum::<usize>();
    if total > limit {
        state.host_error = Some(format!(
            "host call refused: {total} bytes of binding, namespace, operation and payload are \
             over the limit of {limit} bytes"
        ));
        return Ok(0);
    }
    let Some(handler) = state.host.clone() else {
        state.host_error = Some("Missing host callback function!".to_string());
        return Ok(0);
    };
    // The arguments are copied once, into buffers the instance keeps: after the first calls a
    // host call allocates nothing for them.
    let mut text = std::mem::take(&mut state.host_call_text);
    let mut payload = std::mem::take(&mut state.host_call_payload);
    text.clear();
    payload.clear();
    let memory = memory(&mut caller, "__host_call")?;
    let data = memory.data(&caller);
    let mut ends = [0usize; 3];
    for (end, (ptr, len, import)) in ends.iter_mut().zip([
        (bd_ptr, bd_len, "__host_call (binding)"),
        (ns_ptr, ns_len, "__host_call (namespace)"),
        (op_ptr, op_len, "__host_call (operation)"),
    ]) {
        text.push_str(guest_str(data, ptr, len, import)?);
        *end = text.len();
    }
    payload.extend_from_slice(guest_bytes(data, ptr, len, "__host_call (payload)")?);
    let [binding_end, namespace_end, operation_end] = ends;
    let outcome = {
        let binding = text.get(..binding_end).unwrap_or_default();
        let state = caller.data();
        let call = HostCall {
            module: &state.module,
            binding: if binding.trim().is_empty() {
                DEFAULT_BINDING
            } else {
                binding
            },
            namespace: text.get(binding_end..namespace_end).unwrap_or_default(),
            operation: text.get(namespace_end..operation_end).unwrap_or_default(),
            payload: &payload,
        };
        let mut pending = handler.host_call(call);
        // Most capabilities answer at once (in-memory key-value, logging, numbers): a first
        // poll takes their answer without arming a deadline at all.
        let first = std::future::poll_fn(|cx| Poll::Ready(pending.as_mut().poll(cx))).await;
        match (first, state.deadline, &state.parked) {
            (Poll::Ready(outcome), _, _) => Some(outcome),
            // Epoch ticks stop guest code, not a guest parked here: the call's deadline covers
            // the host call too (the epoch ticker ends the wait, see `parked`), and running out
            // of it fails the whole call as a deadline error.
            (Poll::Pending, Some(deadline), Some(slot)) => slot.until(deadline, pending).await,
            (Poll::Pending, _, _) => Some(pending.await),
        }
    };
    let state = caller.data_mut();
    if text.capacity() <= HOST_CALL_BUFFER_KEEP_BYTES {
        state.host_call_text = text;
    }
    if payload.capacity() <= HOST_CALL_BUFFER_KEEP_BYTES {
        state.host_call_payload = payload;
    }
    let Some(outcome) = outcome else {
        state.deadline_expired = true;
        return Err(abi_trap(
            "__host_call: the call's deadline passed while waiting for the host".to_string(),
        ));
    };
    match outcome {
        Ok(response) if response.len() > limit => {
            state.host_error = Some(format!(
                "host call failed: the response of {} bytes is over the limit of {limit} bytes",
                response.len()
            ));
            Ok(0)
        }
        Ok(response) => {
            state.host_response = Some(response);
            Ok(1)
        }
        Err(HostCallError::Guest(message)) => {
            state.host_error = Some(message);
            Ok(0)
        }
        Err(HostCallError::Trap(reason)) => Err(abi_trap(format!("__host_call: {reason}"))),
    }
}

fn host_response(mut caller: Caller<'_, GuestState>, ptr: i32) -> wasmtime::Result<()> {
    let memory = memory(&mut caller, "__host_response")?;
    let (data, state) = memory.data_and_store_mut(&mut caller);
    match &state.host_response {
        Some(bytes) => write_at(data, ptr, bytes, "__host_response"),
        None => Ok(()),
    }
}

fn host_response_len(caller: Caller<'_, GuestState>) -> i32 {
    caller
        .data()
        .host_response
        .as_ref()
        .map_or(0, |r| to_i32(r.len()))
}

fn host_error(mut caller: Caller<'_, GuestState>, ptr: i32) -> wasmtime::Result<()> {
    let memory = memory(&mut caller, "__host_error")?;
    let (data, state) = memory.data_and_store_mut(&mut caller);
    match &state.host_error {
        Some(text) => write_at(data, ptr, text.as_bytes(), "__host_error"),
        None => Ok(()),
    }
}

fn host_error_len(caller: Caller<'_, GuestState>) -> i32 {
    caller
        .data()
        .host_error
        .as_ref()
        .map_or(0, |e| to_i32(e.len()))
}

/// Console lines cut at `max_guest_text_bytes`, process-wide.
static CONSOLE_LINES_TRUNCATED: AtomicU64 = AtomicU64::new(0);
/// Console lines dropped by the per-instance rate limit, process-wide.
static CONSOLE_LINES_DROPPED: AtomicU64 = AtomicU64::new(0);

/// What the `__console_log` limits did since the process started (every runtime and module).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConsoleLogStats {
    /// Lines cut at [`crate::Limits::max_guest_text_bytes`] (and marked `[truncated]`).
    pub truncated: u64,
    /// Lines dropped by [`crate::MAX_CONSOLE_LINES_PER_SECOND`].
    pub dropped: u64,
}

/// The process-wide `__console_log` counters.
pub fn console_log_stats() -> ConsoleLogStats {
    ConsoleLogStats {
        truncated: CONSOLE_LINES_TRUNCATED.load(Relaxed),
        dropped: CONSOLE_LINES_DROPPED.load(Relaxed),
    }
}

/// Takes one line from the instance's per-second budget: `None` when the line must be
/// dropped, else how many lines were dropped before it (to say so in the line).
fn console_admit(state: &mut GuestState) -> Option<u64> {
    let admitted = state
        .console
        .admit(Instant::now(), state.limits.max_console_lines_per_second);
    if admitted.is_none() {
        CONSOLE_LINES_DROPPED.fetch_add(1, Relaxed);
    }
    admitted
}

fn console_log(mut caller: Caller<'_, GuestState>, ptr: i32, len: i32) -> wasmtime::Result<()> {
    // Dropped lines are not even read: a flooding guest costs a counter increment per line.
    let Some(dropped) = console_admit(caller.data_mut()) else {
        return Ok(());
    };
    let limit = caller.data().limits.max_guest_text_bytes;
    let truncated = to_usize(len) > limit;
    let text = if truncated {
        // Cutting at the byte limit may split a character: keep the valid prefix instead of
        // trapping the guest for an "invalid" string it never sent.
        let mut bytes = read(&mut caller, ptr, to_i32(limit), "__console_log")?;
        let valid = match std::str::from_utf8(&bytes) {
            Ok(_) => bytes.len(),
            Err(error) if error.error_len().is_none() => error.valid_up_to(),
            Err(error) => {
                return Err(abi_trap(format!(
                    "__console_log: the guest passed invalid UTF-8 (at byte {})",
                    error.valid_up_to()
                )));
            }
        };
        bytes.truncate(valid);
        String::from_utf8(bytes).unwrap_or_default()
    } else {
        read_str(&mut caller, ptr, len, "__console_log")?
    };
    let module: Arc<str> = caller.data().module.clone();
    let line = crate::text::sanitize(&text);
    let marker = if truncated {
        CONSOLE_LINES_TRUNCATED.fetch_add(1, Relaxed);
        " [truncated]"
    } else {
        ""
    };
    if dropped > 0 {
        tracing::info!(
            target: "caplet_runtime::guest",
            module = %module,
            dropped,
            "{line}{marker} [{dropped} earlier lines dropped: over {} lines per second]",
            caller.data().limits.max_console_lines_per_second
        );
    } else {
        tracing::info!(target: "caplet_runtime::guest", module = %module, "{line}{marker}");
    }
    Ok(())
}

/// waPC passes lengths and pointers as i32; the guest means them as unsigned wasm32 addresses.
fn to_usize(value: i32) -> usize {
    value as u32 as usize
}

fn to_i32(value: usize) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn abi_trap(message: String) -> wasmtime::Error {
    wasmtime::Error::msg(message)
}

fn memory(caller: &mut Caller<'_, GuestState>, import: &str) -> wasmtime::Result<Memory> {
    if let Some(memory) = caller.data().memory {
        return Ok(memory);
    }
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => Err(abi_trap(format!(
            "{import}: the guest has no `memory` export"
        ))),
    }
}

fn read(
    caller: &mut Caller<'_, GuestState>,
    ptr: i32,
    len: i32,
    import: &str,
) -> wasmtime::Result<Vec<u8>> {
    let memory = memory(caller, import)?;
    guest_bytes(memory.data(&*caller), ptr, len, import).map(<[u8]>::to_vec)
}

fn read_str(
    caller: &mut Caller<'_, GuestState>,
    ptr: i32,
    len: i32,
    import: &str,
) -> wasmtime::Result<String> {
    let memory = memory(caller, import)?;
    guest_str(memory.data(&*caller), ptr, len, import).map(str::to_owned)
}

/// The guest's buffer (`ptr`, `len`) in `data`, or a trap naming `import` when it is out of
/// bounds.
fn guest_bytes<'m>(data: &'m [u8], ptr: i32, len: i32, import: &str) -> wasmtime::Result<&'m [u8]> {
    let start = to_usize(ptr);
    start
        .checked_add(to_usize(len))
        .and_then(|end| data.get(start..end))
        .ok_or_else(|| out_of_bounds(import, ptr, len, data.len()))
}

/// [`guest_bytes`] as text, or a trap when it is not UTF-8.
fn guest_str<'m>(data: &'m [u8], ptr: i32, len: i32, import: &str) -> wasmtime::Result<&'m str> {
    std::str::from_utf8(guest_bytes(data, ptr, len, import)?).map_err(|e| {
        abi_trap(format!(
            "{import}: the guest passed invalid UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })
}

fn write_at(data: &mut [u8], ptr: i32, bytes: &[u8], import: &str) -> wasmtime::Result<()> {
    let start = to_usize(ptr);
    let size = data.len();
    let target = start
        .checked_add(bytes.len())
        .and_then(|end| data.get_mut(start..end))
        .ok_or_else(|| out_of_bounds(import, ptr, to_i32(bytes.len()), size))?;
    target.copy_from_slice(bytes);
    Ok(())
}

fn out_of_bounds(import: &str, ptr: i32, len: i32, memory_size: usize) -> wasmtime::Error {
    abi_trap(format!(
        "{import}: the guest passed an out-of-bounds buffer (pointer {}, length {}, memory is \
         {memory_size} bytes)",
        to_usize(ptr),
        to_usize(len)
    ))
}
