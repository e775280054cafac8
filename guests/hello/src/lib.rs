//! hello: answers every HTTP request with `Hello, world!` and nothing else, so benchmarks of
//! the HTTP path measure the host (decode, dispatch, encode), not the actor.

use caplet_guest::{HandlerResult, HttpRequest, HttpResponse};

/// Registers the HTTP handler; the host runs this once after instantiation.
// `no_mangle` is the only unsafe construct in this crate: the host finds `wapc_init` by name.
#[allow(unsafe_code)]
#[unsafe(no_mangle)]
pub extern "C" fn wapc_init() {
    caplet_guest::register_http_handler(hello);
}

fn hello(_: HttpRequest) -> HandlerResult<HttpResponse> {
    Ok(HttpResponse::ok("text/plain", "Hello, world!"))
}
