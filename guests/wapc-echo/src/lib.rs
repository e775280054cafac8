//! A guest written against the public `wapc-guest` 1.x crate rather than Caplet's SDK, so the
//! host's tests prove that third-party waPC actors run unchanged.
//!
//! Operations: `echo` (returns the payload), `fail` (errors with the payload text) and `ping`
//! (calls the host's `binding` / `sample:namespace` / `pong` with the payload, returns the answer).

use wapc_guest as wapc;

/// Registers the operations; the host calls it once after instantiation.
// `no_mangle` is the only unsafe construct in this crate: the host finds `wapc_init` by name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    wapc::register_function("echo", echo);
    wapc::register_function("fail", fail);
    wapc::register_function("ping", ping);
}

fn echo(msg: &[u8]) -> wapc::CallResult {
    Ok(msg.to_vec())
}

fn fail(msg: &[u8]) -> wapc::CallResult {
    Err(String::from_utf8_lossy(msg).into_owned().into())
}

fn ping(msg: &[u8]) -> wapc::CallResult {
    wapc::host_call("binding", "sample:namespace", "pong", msg)
}
