//! Actor health: the helper that registers an answer to the host's `Actor.HealthRequest`.
//!
//! Hosts ask actors that handle it whether they are healthy; an actor that registers nothing
//! is judged by whether it runs at all.

use caplet_wire::health::HEALTH_REQUEST;
pub use caplet_wire::health::{HealthCheckRequest, HealthCheckResponse};

use super::{decode_request, encode_response};
use crate::error::HandlerResult;

/// Registers `handler` to answer `Actor.HealthRequest`. An empty payload counts as an empty
/// request, since the request has no fields.
///
/// ```
/// use caplet_guest::contracts::health::HealthCheckResponse;
///
/// caplet_guest::register_health_handler(|_| {
///     Ok(HealthCheckResponse { healthy: true, message: None })
/// });
/// ```
pub fn register_health_handler<F>(handler: F)
where
    F: Fn(HealthCheckRequest) -> HandlerResult<HealthCheckResponse> + Send + Sync + 'static,
{
    crate::register(HEALTH_REQUEST, move |payload: &[u8]| {
        let request = if payload.is_empty() {
            HealthCheckRequest::default()
        } else {
            decode_request(HEALTH_REQUEST, payload)?
        };
        encode_response(HEALTH_REQUEST, &handler(request)?)
    });
}
