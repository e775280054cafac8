//! One inbound request: route it, read the body under its limit, call the actor through the
//! host and turn its `HttpResponse` (or the dispatch error) into the HTTP response. Error
//! bodies are short plain text: the status and the host's message, never internal details.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use caplet_provider_api::{ActorDispatcher, DispatchError};
use caplet_wire::httpserver::{HANDLE_REQUEST, HttpResponse};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Body, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};

use super::MAX_ERROR_MESSAGE_BYTES;
use super::routes::RouteTable;

/// What every connection of one listener shares.
///
/// Aligned to 128 bytes: every request clones and drops its `Arc` from whichever core runs it,
/// and this keeps the fields each request reads off the cache line that reference count lives
/// on.
#[repr(align(128))]
pub(crate) struct Shared {
    pub dispatcher: Arc<dyn ActorDispatcher>,
    pub routes: ArcSwap<RouteTable>,
    pub body_read_timeout: Duration,
}

/// Serves one request; every failure becomes a response.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    // `path` borrows the request's URI, not the table: only the route is kept past the look-up.
    let (route, path) = {
        let table = shared.routes.load();
        match table.find(parts.uri.path()) {
            Some((route, path)) => (Arc::clone(route), path),
            None => return Ok(text(StatusCode::NOT_FOUND, "no route for this path")),
        }
    };
    let body = match read_body(body, route.max_body_bytes, shared.body_read_timeout).await {
        Ok(body) => body,
        Err(response) => return Ok(response),
    };
    let payload = encode_request(&parts, path, &body);
    drop(body);
    let result = shared
        .dispatcher
        .call_actor(&route.actor, HANDLE_REQUEST, payload)
        .await;
    Ok(match result {
        Ok(bytes) => actor_response(bytes).unwrap_or_else(|reason| {
            tracing::warn!(actor = %route.actor, reason, "actor returned a malformed HttpResponse");
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                "actor returned a malformed HttpResponse",
            )
        }),
        Err(error) => dispatch_error(&route.actor, &error),
    })
}

/// The whole body, or the response that refuses it: 413 over `limit` (before reading when
/// the length is announced), 408 when it does not arrive within `timeout`.
async fn read_body(
    body: Incoming,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, Response<Full<Bytes>>> {
    let too_large = || {
        text(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("request body exceeds the limit of {limit} bytes"),
        )
    };
    if body.size_hint().lower() > u64::try_from(limit).unwrap_or(u64::MAX) {
        return Err(too_large());
    }
    if body.is_end_stream() {
        return Ok(Bytes::new());
    }
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.is::<LengthLimitError>() => Err(too_large()),
        Ok(Err(error)) => Err(text(
            StatusCode::BAD_REQUEST,
            &format!("cannot read the request body: {error}"),
        )),
        Err(_) => Err(text(
            StatusCode::REQUEST_TIMEOUT,
            &format!("request body not received within {timeout:?}"),
        )),
    }
}

/// The `HttpRequest` the actor receives, written as MessagePack straight from hyper's request
/// parts: the same bytes as `caplet_wire::encode(&HttpRequest{..})` (struct as a map, headers
/// as `{name: [values]}`, the body as `bin`), without building the owned `HttpRequest`, its
/// header map and a `String` per header first. Header names are lower-case (hyper's); values
/// that are not UTF-8 are replaced (U+FFFD).
fn encode_request(parts: &hyper::http::request::Parts, path: &str, body: &[u8]) -> Vec<u8> {
    use rmp::encode::{write_array_len, write_bin, write_map_len, write_str};
    let method = parts.method.as_str();
    let query = parts.uri.query().unwrap_or_default();
    let headers: usize = parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 10)
        .sum();
    let size = 64 + method.len() + path.len() + query.len() + body.len() + headers;
    let mut out = Vec::with_capacity(size);
    // Writing to a Vec cannot fail; the results are Ok by construction.
    let _ = write_map_len(&mut out, 5);
    let _ = write_str(&mut out, "method");
    let _ = write_str(&mut out, method);
    let _ = write_str(&mut out, "path");
    let _ = write_str(&mut out, path);
    let _ = write_str(&mut out, "queryString");
    let _ = write_str(&mut out, query);
    let _ = write_str(&mut out, "header");
    let _ = write_map_len(&mut out, len_u32(parts.headers.keys_len()));
    for name in parts.headers.keys() {
        let values = parts.headers.get_all(name);
        let _ = write_str(&mut out, name.as_str());
        let _ = write_array_len(&mut out, len_u32(values.iter().count()));
        for value in values {
            let _ = write_str(&mut out, &String::from_utf8_lossy(value.as_bytes()));
        }
    }
    let _ = write_str(&mut out, "body");
    let _ = write_bin(&mut out, body);
    out
}

/// Counts from hyper (headers, bounded by [`super::MAX_REQUEST_HEADERS`]) always fit in u32.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Turns the actor's answer into the response. Framing headers (`content-length`,
/// `transfer-encoding`, `connection`) are hyper's to set and are dropped.
///
/// The usual shape is read in place: the body and every header value are slices of the
/// answer's one buffer, not copies ([`HttpResponse::read_in_place`]); any other shape is
/// decoded into an `HttpResponse` first, with the same checks.
fn actor_response(bytes: Vec<u8>) -> Result<Response<Full<Bytes>>, String> {
    let bytes = Bytes::from(bytes);
    let mut headers = HeaderMap::new();
    let mut refused = None;
    let read = HttpResponse::read_in_place(&bytes, |name, value| {
        if refused.is_none()
            && let Err(reason) = add_header(&mut headers, name, bytes.slice_ref(value.as_bytes()))
        {
            refused = Some(reason);
        }
    });
    let (status, body) = match read {
        Some(_) if let Some(reason) = refused => return Err(reason),
        Some((status, body)) => (status, bytes.slice_ref(body)),
        None => {
            let answer = HttpResponse::decode(&bytes).map_err(|e| e.to_string())?;
            headers.clear();
            for (name, value) in answer.header.iter() {
                add_header(&mut headers, name, Bytes::copy_from_slice(value.as_bytes()))?;
            }
            (answer.status_code, Bytes::from(answer.body))
        }
    };
    let status = StatusCode::from_u16(status)
        .ok()
        .filter(|status| !status.is_informational())
        .ok_or_else(|| format!("invalid status code {status}"))?;
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    Ok(response)
}

/// Adds one header of the actor's answer, unless it is a framing header.
fn add_header(headers: &mut HeaderMap, name: &str, value: Bytes) -> Result<(), String> {
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("invalid header name {name:?}"))?;
    if name == header::CONTENT_LENGTH
        || name == header::TRANSFER_ENCODING
        || name == header::CONNECTION
    {
        return Ok(());
    }
    let value = HeaderValue::from_maybe_shared(value)
        .map_err(|_| format!("invalid value for header {name}"))?;
    // hyper's map holds at most 32 768 entries and `append` panics past that; an actor that
    // sends more gets its response refused instead.
    headers
        .try_append(name, value)
        .map_err(|_| "too many headers".to_string())?;
    Ok(())
}

/// The response for a failed dispatch: its status and its message, cut to
/// [`MAX_ERROR_MESSAGE_BYTES`].
fn dispatch_error(
    actor: &caplet_provider_api::ActorRef,
    error: &DispatchError,
) -> Response<Full<Bytes>> {
    let status =
        StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        tracing::warn!(%actor, %error, status = status.as_u16(), "actor call failed");
    }
    let message = error.message();
    let cut = message.floor_char_boundary(MAX_ERROR_MESSAGE_BYTES);
    let message = message.get(..cut).unwrap_or_default();
    text(status, message)
}

/// A `text/plain` response: `"<code> <reason>: <message>"`.
pub(crate) fn text(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "{} {}: {message}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error")
    );
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_direct_encoder_matches_caplet_wire() {
        let request = Request::builder()
            .method("POST")
            .uri("http://example/prefix/x?a=1&b=%20")
            .header("host", "example")
            .header("x-many", "one")
            .header("x-many", "two")
            .header("x-raw", HeaderValue::from_bytes(b"caf\xe9").unwrap())
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let bytes = encode_request(&parts, "/x", &[1, 2, 3]);
        let mut expected = caplet_wire::httpserver::HttpRequest {
            method: "POST".into(),
            path: "/x".into(),
            query_string: "a=1&b=%20".into(),
            body: vec![1, 2, 3],
            ..Default::default()
        };
        expected.header.append("host", "example");
        expected.header.append("x-many", "one");
        expected.header.append("x-many", "two");
        expected.header.append("x-raw", "caf\u{fffd}");
        assert_eq!(bytes, caplet_wire::encode(&expected).unwrap());
        let decoded: caplet_wire::httpserver::HttpRequest = caplet_wire::decode(&bytes).unwrap();
        assert_eq!(decoded, expected);
        assert_eq!(decoded.header.get_all("X-Many"), ["one", "two"]);
    }

    #[test]
    fn actor_responses_map_status_headers_and_body() {
        let mut answer = HttpResponse::text(201, "made");
        answer.header.append("x-a", "1");
        answer.header.append("x-a", "2");
        answer.header.append("Content-Length", "999");
        // The usual map form (read in place) and the array form (decoded first) give the same
        // response.
        for bytes in [
            caplet_wire::encode(&answer).unwrap(),
            rmp_serde::to_vec(&answer).unwrap(),
        ] {
            let response = actor_response(bytes).unwrap();
            assert_eq!(response.status(), 201);
            let values: Vec<_> = response.headers().get_all("x-a").iter().collect();
            assert_eq!(values, ["1", "2"]);
            assert!(response.headers().get("content-length").is_none());
            let body = response.into_body();
            assert_eq!(hyper::body::Body::size_hint(&body).exact(), Some(4));
        }
        for bad in [
            HttpResponse::text(99, ""),
            HttpResponse::text(101, ""),
            HttpResponse {
                header: [("bad name", "v")].into_iter().collect(),
                ..HttpResponse::default()
            },
        ] {
            assert!(actor_response(caplet_wire::encode(&bad).unwrap()).is_err());
        }
        assert!(actor_response(b"\xc1".to_vec()).is_err());
    }

    #[test]
    fn dispatch_errors_keep_a_bounded_message() {
        let actor = caplet_provider_api::ActorRef {
            id: "a".into(),
            name: "a".into(),
        };
        let long = "é".repeat(MAX_ERROR_MESSAGE_BYTES);
        let response = dispatch_error(&actor, &DispatchError::ActorFailed(long));
        assert_eq!(response.status(), 500);
        let response = dispatch_error(&actor, &DispatchError::Timeout("slow".into()));
        assert_eq!(response.status(), 504);
    }
}
