//! One outbound request: the actor's `HttpRequest` becomes a hyper request (after the host
//! check), and the response comes back as `HttpResponse` under the body limit and timeout.
//! Connection errors carry the connector's typed reason so denials stay `Denied`.

use bytes::Bytes;
use caplet_provider_api::ProviderError;
use caplet_wire::httpclient::{HttpRequest, HttpResponse};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Body;
use hyper::header::{self, HeaderName, HeaderValue};
use hyper::{Method, Request, Uri};

use super::connect::{ConnectError, Target};
use super::{Binding, MAX_REQUEST_BODY_BYTES};

/// Sends the encoded `HttpRequest` in `payload`; returns the encoded `HttpResponse`.
pub(super) async fn send(binding: &Binding, payload: &[u8]) -> Result<Vec<u8>, ProviderError> {
    let wire: HttpRequest = caplet_wire::decode(payload)
        .map_err(|e| ProviderError::BadRequest(format!("http client: {e}")))?;
    let uri: Uri = wire.url.parse().map_err(|e| {
        ProviderError::BadRequest(format!(
            "http client: `{}` is not a valid URL: {e}",
            cut(&wire.url)
        ))
    })?;
    let target = Target::from_uri(&uri).map_err(|e| {
        ProviderError::BadRequest(format!("http client: URL `{}`: {e}", cut(&wire.url)))
    })?;
    // The first check here, before any work; the connector checks the host again and then
    // every resolved address.
    binding.policy.check_host(&target).map_err(provider_error)?;
    let request = build(wire, uri)?;
    let limits = binding.limits;
    let exchange = async {
        let response = binding.client.request(request).await.map_err(|error| {
            let connect =
                std::iter::successors(Some(&error as &(dyn std::error::Error + 'static)), |e| {
                    e.source()
                })
                .find_map(|e| e.downcast_ref::<ConnectError>());
            match connect {
                Some(connect) => provider_error(connect.clone()),
                None => ProviderError::Failed(format!(
                    "http client: request to {}:{} failed: {}",
                    target.host,
                    target.port,
                    chain(&error)
                )),
            }
        })?;
        read_response(response, limits.max_response_bytes, &target).await
    };
    let response = tokio::time::timeout(limits.timeout, exchange)
        .await
        .map_err(|_| {
            ProviderError::Unavailable(format!(
                "http client: request to {}:{} timed out after {} ms; raise the link's \
                 timeout_ms if the server is slow",
                target.host,
                target.port,
                limits.timeout.as_millis()
            ))
        })??;
    caplet_wire::encode(&response).map_err(|e| ProviderError::Failed(format!("http client: {e}")))
}

/// The hyper request. `Host` comes from the URL (an actor may not aim a request at another
/// virtual host than the one it was allowed); framing headers are hyper's.
fn build(wire: HttpRequest, uri: Uri) -> Result<Request<Full<Bytes>>, ProviderError> {
    if wire.body.len() > MAX_REQUEST_BODY_BYTES {
        return Err(ProviderError::BadRequest(format!(
            "http client: request body of {} bytes exceeds the limit of {MAX_REQUEST_BODY_BYTES} \
             bytes",
            wire.body.len()
        )));
    }
    let method = if wire.method.is_empty() {
        Method::GET
    } else {
        Method::from_bytes(wire.method.as_bytes()).map_err(|_| {
            ProviderError::BadRequest(format!(
                "http client: `{}` is not an HTTP method",
                cut(&wire.method)
            ))
        })?
    };
    let mut request = Request::new(Full::new(Bytes::from(wire.body)));
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    let headers = request.headers_mut();
    for (name, values) in wire.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ProviderError::BadRequest(format!("http client: invalid header name {:?}", cut(&name)))
        })?;
        if name == header::HOST
            || name == header::CONTENT_LENGTH
            || name == header::TRANSFER_ENCODING
            || name == header::CONNECTION
        {
            continue;
        }
        for value in values {
            let value = HeaderValue::from_maybe_shared(Bytes::from(value)).map_err(|_| {
                ProviderError::BadRequest(format!("http client: invalid value for header {name}"))
            })?;
            // hyper's map holds at most 32 768 entries and `append` panics past that.
            headers.try_append(name.clone(), value).map_err(|_| {
                ProviderError::BadRequest("http client: too many request headers".to_string())
            })?;
        }
    }
    Ok(request)
}

async fn read_response(
    response: hyper::Response<hyper::body::Incoming>,
    limit: usize,
    target: &Target,
) -> Result<HttpResponse, ProviderError> {
    let too_large = || {
        ProviderError::Failed(format!(
            "http client: response body from {}:{} exceeds the limit of {limit} bytes; raise \
             the link's max_response_bytes or request less",
            target.host, target.port
        ))
    };
    let (parts, body) = response.into_parts();
    if body.size_hint().lower() > u64::try_from(limit).unwrap_or(u64::MAX) {
        return Err(too_large());
    }
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => Vec::from(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => return Err(too_large()),
        Err(error) => {
            return Err(ProviderError::Unavailable(format!(
                "http client: reading the response body from {}:{} failed: {error}",
                target.host, target.port
            )));
        }
    };
    let mut header = caplet_wire::HeaderMap::new();
    for (name, value) in &parts.headers {
        header.append(
            name.as_str(),
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        );
    }
    Ok(HttpResponse {
        status_code: parts.status.as_u16(),
        header,
        body,
    })
}

fn provider_error(error: ConnectError) -> ProviderError {
    match error {
        ConnectError::BadRequest(m) => ProviderError::BadRequest(m),
        ConnectError::Denied(m) => ProviderError::Denied(m),
        ConnectError::Unavailable(m) => ProviderError::Unavailable(m),
    }
}

/// An error with its sources: "a: b: c".
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// At most 200 bytes of actor-supplied text for an error message.
fn cut(text: &str) -> &str {
    text.get(..text.floor_char_boundary(200)).unwrap_or(text)
}
