//! Request routing: the probes first (no token), then the token check, then the endpoint.
//! The token is checked before the body is read, so an unauthenticated client can neither
//! change anything nor make the host buffer an upload.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::handlers;
use crate::model::ErrorBody;
use crate::server::State;
use crate::{BODY_READ_TIMEOUT, MAX_BODY_BYTES};

/// A failed request: its status and what to tell the client.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

/// A successful answer.
pub(crate) struct Reply {
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
}

impl Reply {
    pub(crate) fn json(status: StatusCode, value: &impl Serialize) -> Self {
        let body = serde_json::to_vec(value).unwrap_or_else(|e| {
            format!("{{\"error\":\"could not encode the answer: {e}\"}}").into_bytes()
        });
        Self {
            status,
            content_type: "application/json",
            body: Bytes::from(body),
        }
    }

    pub(crate) fn text(status: StatusCode, content_type: &'static str, text: String) -> Self {
        Self {
            status,
            content_type,
            body: Bytes::from(text),
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, ApiError>;

/// Serves one request.
pub(crate) async fn handle(
    state: Arc<State>,
    request: Request<Incoming>,
) -> std::result::Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let reply = match (&method, path.as_str()) {
        (&Method::GET | &Method::HEAD, "/livez") => Ok(probe(true, "live")),
        (&Method::GET | &Method::HEAD, "/readyz") => {
            Ok(probe(!state.host.is_shutting_down(), "ready"))
        }
        _ if !authorized(&state, &request) => {
            tracing::warn!(%method, path, "control API: request refused: missing or wrong bearer token");
            return Ok(unauthorized());
        }
        _ => route(&state, &method, &path, request).await,
    };
    let response = match reply {
        Ok(reply) => respond(reply),
        Err(error) => respond(Reply::json(
            error.status,
            &ErrorBody {
                error: error.message,
            },
        )),
    };
    if method != Method::GET {
        tracing::info!(%method, path, status = response.status().as_u16(), "control API request");
    }
    Ok(response)
}

async fn route(
    state: &State,
    method: &Method,
    path: &str,
    request: Request<Incoming>,
) -> Result<Reply> {
    let segments = segments(path)?;
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let host = &state.host;
    match (method, segments.as_slice()) {
        (&Method::GET, ["v1", "inventory"]) => handlers::inventory(host).await,
        (&Method::GET, ["v1", "health"]) => handlers::health(host).await,
        (&Method::GET, ["metrics"]) => handlers::metrics(host).await,
        (&Method::POST, ["v1", "actors"]) => {
            handlers::start_actor(state, read_json(request).await?).await
        }
        (&Method::PUT, ["v1", "actors", name]) => {
            handlers::update_actor(host, name, read_json(request).await?).await
        }
        (&Method::DELETE, ["v1", "actors", name]) => handlers::stop_actor(host, name).await,
        (&Method::POST, ["v1", "providers"]) => {
            handlers::put_provider(host, read_json(request).await?, false).await
        }
        (&Method::PUT, ["v1", "providers"]) => {
            handlers::put_provider(host, read_json(request).await?, true).await
        }
        (&Method::DELETE, ["v1", "providers", contract]) => {
            handlers::remove_provider(host, contract, "").await
        }
        (&Method::DELETE, ["v1", "providers", contract, link_name]) => {
            handlers::remove_provider(host, contract, link_name).await
        }
        (&Method::PUT, ["v1", "links"]) => {
            handlers::put_link(host, read_json(request).await?).await
        }
        (&Method::DELETE, ["v1", "links"]) => {
            handlers::delete_link(host, read_json(request).await?).await
        }
        (_, ["v1", "inventory" | "health"] | ["metrics"]) => Err(not_allowed(method, "GET")),
        (_, ["v1", "actors"] | ["v1", "providers"]) => Err(not_allowed(method, "POST, PUT")),
        (_, ["v1", "actors", _]) => Err(not_allowed(method, "PUT, DELETE")),
        (_, ["v1", "links"]) => Err(not_allowed(method, "PUT, DELETE")),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no endpoint {path}; see docs/control.md for the list"),
        )),
    }
}

fn not_allowed(method: &Method, allowed: &str) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not served here; use {allowed}"),
    )
}

/// The path's segments, percent-decoded (link names may hold any character).
fn segments(path: &str) -> Result<Vec<String>> {
    path.trim_matches('/')
        .split('/')
        .map(|segment| {
            percent_decode(segment).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "the path segment `{segment}` is not valid percent-encoded UTF-8"
                ))
            })
        })
        .collect()
}

fn percent_decode(segment: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(segment.len());
    let mut rest = segment.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = tail.get(..2)?;
            let text = std::str::from_utf8(hex).ok()?;
            bytes.push(u8::from_str_radix(text, 16).ok()?);
            rest = tail.get(2..)?;
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}

fn authorized(state: &State, request: &Request<Incoming>) -> bool {
    let Some(value) = request.headers().get(AUTHORIZATION) else {
        return false;
    };
    let value = value.as_bytes();
    let scheme = b"bearer ";
    match (value.get(..scheme.len()), value.get(scheme.len()..)) {
        (Some(prefix), Some(token)) if prefix.eq_ignore_ascii_case(scheme) => {
            state.token.verify(token.trim_ascii())
        }
        _ => false,
    }
}

fn unauthorized() -> Response<Full<Bytes>> {
    let mut response = respond(Reply::json(
        StatusCode::UNAUTHORIZED,
        &ErrorBody {
            error: "missing or wrong bearer token: send `Authorization: Bearer <token>` with the token from the host's token file (printed by `caplet up`)".to_string(),
        },
    ));
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"caplet\""),
    );
    response
}

fn probe(ok: bool, what: &str) -> Reply {
    if ok {
        Reply::text(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            format!("{what}\n"),
        )
    } else {
        Reply::text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            format!("not {what}: the host is shutting down\n"),
        )
    }
}

fn respond(reply: Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() = reply.status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    response
}

/// Reads and parses a JSON body (at most [`MAX_BODY_BYTES`], within [`BODY_READ_TIMEOUT`]).
async fn read_json<T: DeserializeOwned>(request: Request<Incoming>) -> Result<T> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than the {MAX_BODY_BYTES}-byte limit"),
        )
    };
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let body = Limited::new(request.into_body(), MAX_BODY_BYTES);
    let collected = tokio::time::timeout(BODY_READ_TIMEOUT, body.collect())
        .await
        .map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                format!("the request body did not arrive within {BODY_READ_TIMEOUT:?}"),
            )
        })?
        .map_err(|error| {
            if error.is::<http_body_util::LengthLimitError>() {
                too_large()
            } else {
                ApiError::bad_request(format!("could not read the request body: {error}"))
            }
        })?;
    let bytes = collected.to_bytes();
    if bytes.is_empty() {
        return Err(ApiError::bad_request(
            "this endpoint needs a JSON body; see docs/control.md",
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|error| ApiError::bad_request(format!("invalid JSON body: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_are_percent_decoded() {
        assert_eq!(percent_decode("a%20b%3Ac").as_deref(), Some("a b:c"));
        assert_eq!(
            percent_decode("wasmcloud:keyvalue").as_deref(),
            Some("wasmcloud:keyvalue")
        );
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("bad%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
    }
}
