//! Caplet's Rust SDK for actors: the guest side of waPC.
//!
//! An actor registers a handler per operation name in `wapc_init`; the host invokes them through
//! the exported `__guest_call`. Handlers reach capabilities with [`host_call`] and log with
//! [`console_log`] / [`log!`]. The crate has no dependencies, and on native targets everything
//! but the ABI still works, so an actor's handlers can be unit-tested with [`invoke`].
//!
//! ```no_run
//! use caplet_guest::HandlerResult;
//!
//! #[unsafe(no_mangle)]
//! pub extern "C" fn wapc_init() {
//!     caplet_guest::register("echo", echo);
//! }
//!
//! fn echo(payload: &[u8]) -> HandlerResult<Vec<u8>> {
//!     caplet_guest::log!("echoing {} bytes", payload.len());
//!     Ok(payload.to_vec())
//! }
//! ```
//!
//! Layout: `registry` (handlers by name), `guest_call` (host → guest rules), `host` (guest →
//! host rules), `console` (logging), `error`, `buffer`, and `ffi`, the only unsafe module, which
//! exists only on wasm32. Typed clients for capability contracts (key-value, messaging, HTTP)
//! belong in a `contracts` module, one file per contract, built on [`host_call`].

#[cfg(any(target_arch = "wasm32", test))]
mod buffer;
mod console;
mod error;
#[cfg(any(target_arch = "wasm32", test))]
mod guest_call;
mod host;
mod registry;

// The waPC imports and the `__guest_call` export need `unsafe` (extern calls, `no_mangle`);
// this is the only module allowed it, and it is compiled only for Wasm.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod ffi;

pub use console::console_log;
pub use error::{GuestError, HandlerError, HandlerResult};
pub use host::host_call;
pub use registry::{invoke, register};
