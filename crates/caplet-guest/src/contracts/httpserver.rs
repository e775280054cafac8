//! `wasmcloud:httpserver`: the helper that registers an actor's HTTP handler.
//!
//! The HTTP server provider calls `HttpServer.HandleRequest` with an [`HttpRequest`] and expects
//! an [`HttpResponse`]. An `Err` from the handler reaches the provider as the actor's error,
//! which Caplet's HTTP server answers with a 500 (503 when a capability is unavailable).

use caplet_wire::httpserver::HANDLE_REQUEST;
pub use caplet_wire::httpserver::{HttpRequest, HttpResponse};

use super::request_error;
use crate::error::HandlerResult;

/// Registers `handler` to answer HTTP requests (`HttpServer.HandleRequest`).
///
/// ```
/// use caplet_guest::{HandlerResult, HttpRequest, HttpResponse};
///
/// fn hello(request: HttpRequest) -> HandlerResult<HttpResponse> {
///     Ok(HttpResponse::ok("text/plain", format!("{} {}", request.method, request.path)))
/// }
///
/// caplet_guest::register_http_handler(hello);
/// ```
pub fn register_http_handler<F>(handler: F)
where
    F: Fn(HttpRequest) -> HandlerResult<HttpResponse> + Send + Sync + 'static,
{
    crate::register(HANDLE_REQUEST, move |payload: &[u8]| {
        // `HttpRequest::decode` and `HttpResponse::encode` read and write the usual shape
        // without rmp-serde: they are most of a small request's time in the guest.
        let request =
            HttpRequest::decode(payload).map_err(|error| request_error(HANDLE_REQUEST, &error))?;
        Ok(handler(request)?.encode())
    });
}
