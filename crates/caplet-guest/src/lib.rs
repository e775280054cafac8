//! Caplet's Rust SDK for actors: the guest side of waPC.
//!
//! An actor registers a handler per operation name in `wapc_init`; the host invokes them through
//! the exported `__guest_call`. Handlers reach capabilities with [`host_call`] and log with
//! [`console_log`] / [`log!`]. On native targets everything but the ABI still works, so an
//! actor's handlers can be unit-tested with [`invoke`] (and a fake host, [`testing`]).
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
//! Capabilities have typed clients: [`kv()`], [`msg()`], [`http_client()`], [`logging`] and
//! [`numbergen`]; providers reach the actor through [`register_http_handler`],
//! [`register_message_handler`] and [`register_health_handler`]. Messages are the
//! `caplet-wire` types, re-exported as [`wire`].
//!
//! Layout: `registry` (handlers by name), `guest_call` (host → guest rules), `host` (guest →
//! host rules), `contracts` (typed clients and handler helpers, one file per contract),
//! `console` (logging), `panic` (the panic hook), `testing` (a fake host for native tests),
//! `error`, `buffer`, and the two unsafe modules: `ffi` (the waPC imports and export) and
//! `alloc` (the actor's allocator, feature `allocator`, on by default), both used only on
//! wasm32.

// Size classes in front of the standard allocator: unsafe by nature (raw blocks), tested
// natively, installed as the global allocator only on wasm32 (see its module docs).
#[cfg(any(all(target_arch = "wasm32", feature = "allocator"), test))]
#[allow(unsafe_code)]
mod alloc;
#[cfg(any(target_arch = "wasm32", test))]
mod buffer;
mod console;
pub mod contracts;
mod error;
#[cfg(any(target_arch = "wasm32", test))]
mod guest_call;
mod host;
mod panic;
mod registry;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;

// The waPC imports and the `__guest_call` export need `unsafe` (extern calls, `no_mangle`);
// this is the only module allowed it, and it is compiled only for Wasm.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod ffi;

/// The contract ids and MessagePack messages the clients and handler helpers speak.
pub use caplet_wire as wire;
pub use console::console_log;
pub use contracts::health::register_health_handler;
pub use contracts::httpclient::{HttpClient, http_client, http_client_on};
pub use contracts::httpserver::{HttpRequest, HttpResponse, register_http_handler};
pub use contracts::keyvalue::{KeyValue, kv, kv_on};
pub use contracts::messaging::{
    Messaging, ReplyMessage, SubMessage, msg, msg_on, register_message_handler,
};
pub use contracts::{logging, numbergen};
pub use error::{GuestError, HandlerError, HandlerResult};
pub use host::host_call;
pub use registry::{invoke, register};
