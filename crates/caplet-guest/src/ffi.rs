//! The waPC ABI itself: the nine imports from module `"wapc"` and the `__guest_call` export.
//!
//! This is the only module with `unsafe` code (see the `allow` in `lib.rs`): calling imported
//! functions and exporting an unmangled symbol cannot be done safely. Each unsafe call passes
//! pointers to buffers that this crate sized from the lengths the host itself announced, and all
//! protocol logic lives in safe, natively tested modules (`guest_call`, `host`).

use crate::guest_call::{GuestCallAbi, guest_call};
use crate::host::HostCallAbi;
use crate::registry::REGISTRY;

// On wasm32 `usize` is `i32` on the wire, matching the host's signatures (wire-compat.md §1.1).
#[link(wasm_import_module = "wapc")]
unsafe extern "C" {
    fn __console_log(ptr: *const u8, len: usize);
    #[allow(clippy::too_many_arguments)]
    fn __host_call(
        bd_ptr: *const u8,
        bd_len: usize,
        ns_ptr: *const u8,
        ns_len: usize,
        op_ptr: *const u8,
        op_len: usize,
        ptr: *const u8,
        len: usize,
    ) -> usize;
    fn __host_response(ptr: *mut u8);
    safe fn __host_response_len() -> usize;
    safe fn __host_error_len() -> usize;
    fn __host_error(ptr: *mut u8);
    fn __guest_response(ptr: *const u8, len: usize);
    fn __guest_error(ptr: *const u8, len: usize);
    fn __guest_request(op_ptr: *mut u8, ptr: *mut u8);
}

/// The waPC host this module runs in.
pub(crate) struct Wapc;

impl GuestCallAbi for Wapc {
    fn read_request(&mut self, operation: &mut [u8], payload: &mut [u8]) {
        // SAFETY: the host writes op_len bytes at the first pointer and msg_len bytes at the
        // second; `guest_call` sized these buffers from exactly those two lengths.
        unsafe { __guest_request(operation.as_mut_ptr(), payload.as_mut_ptr()) }
    }

    fn respond(&mut self, response: &[u8]) {
        // SAFETY: the host only reads `len` bytes from a live slice.
        unsafe { __guest_response(response.as_ptr(), response.len()) }
    }

    fn fail(&mut self, message: &str) {
        // SAFETY: the host only reads `len` bytes from a live slice.
        unsafe { __guest_error(message.as_ptr(), message.len()) }
    }
}

impl HostCallAbi for Wapc {
    fn call(&mut self, binding: &str, namespace: &str, operation: &str, payload: &[u8]) -> usize {
        // SAFETY: the host only reads each (pointer, length) pair from live slices.
        unsafe {
            __host_call(
                binding.as_ptr(),
                binding.len(),
                namespace.as_ptr(),
                namespace.len(),
                operation.as_ptr(),
                operation.len(),
                payload.as_ptr(),
                payload.len(),
            )
        }
    }

    fn response_len(&mut self) -> usize {
        __host_response_len()
    }

    fn read_response(&mut self, buffer: &mut [u8]) {
        // SAFETY: the host writes `__host_response_len()` bytes; `call_through` sized the buffer
        // from that value, and nothing changes the response in between (no re-entrancy in waPC).
        unsafe { __host_response(buffer.as_mut_ptr()) }
    }

    fn error_len(&mut self) -> usize {
        __host_error_len()
    }

    fn read_error(&mut self, buffer: &mut [u8]) {
        // SAFETY: as for `read_response`, with `__host_error_len()`.
        unsafe { __host_error(buffer.as_mut_ptr()) }
    }
}

/// `__console_log` for a live string.
pub(crate) fn console_log(message: &str) {
    // SAFETY: the host only reads `len` bytes from a live `&str` (valid UTF-8, as it requires).
    unsafe { __console_log(message.as_ptr(), message.len()) }
}

/// The waPC entry point: the host calls it once per invocation with the lengths of the operation
/// name and of the payload. Returns 1 after `__guest_response`, 0 after `__guest_error`.
#[unsafe(no_mangle)]
pub extern "C" fn __guest_call(op_len: i32, msg_len: i32) -> i32 {
    guest_call(&mut Wapc, &REGISTRY, op_len, msg_len)
}
