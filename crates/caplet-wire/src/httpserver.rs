//! `wasmcloud:httpserver`: the provider calls the actor's `HttpServer.HandleRequest` with an
//! [`HttpRequest`] and expects an [`HttpResponse`] (wasmbus `httpserver.smithy`).

use serde::{Deserialize, Serialize};

use crate::{HeaderMap, WireError};

/// The operation the HTTP server calls on the actor for each request.
pub const HANDLE_REQUEST: &str = "HttpServer.HandleRequest";

/// An inbound request, as the actor sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the link's path prefix when one is configured.
    pub path: String,
    /// The raw query string, without `?`.
    #[serde(rename = "queryString", default)]
    pub query_string: String,
    /// Request headers.
    #[serde(default)]
    pub header: HeaderMap,
    /// The body.
    #[serde(with = "serde_bytes", default)]
    pub body: Vec<u8>,
}

/// The actor's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// The status code; 200 when absent.
    #[serde(rename = "statusCode", default = "ok")]
    pub status_code: u16,
    /// Response headers.
    #[serde(default)]
    pub header: HeaderMap,
    /// The body.
    #[serde(with = "serde_bytes", default)]
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// Decodes a request as [`crate::decode`] does, faster for the usual shape (a map with
    /// `bin` body), which is read without rmp-serde (see `fast.rs`); any other shape goes
    /// through rmp-serde and gives the same value or the same error.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        match crate::fast::decode_request(bytes) {
            Some(request) => Ok(request),
            None => crate::decode(bytes),
        }
    }
}

impl HttpResponse {
    /// Decodes a response as [`crate::decode`] does, faster for the usual shape (see
    /// [`HttpRequest::decode`]).
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        match crate::fast::decode_response(bytes) {
            Some(response) => Ok(response),
            None => crate::decode(bytes),
        }
    }

    /// Reads a response where it lies, without building an `HttpResponse`: `header` gets every
    /// (name, value) in order, and the result is the status code and the body, borrowed from
    /// `bytes`. Only the usual shape is read this way; `None` means "use
    /// [`HttpResponse::decode`]", which accepts the other shapes or reports the error (and
    /// `header` may already have been called, so discard what it collected). The HTTP server
    /// builds its response this way, slicing header values and the body out of the actor's
    /// answer instead of copying them.
    pub fn read_in_place<'a>(
        bytes: &'a [u8],
        header: impl FnMut(&'a str, &'a str),
    ) -> Option<(u16, &'a [u8])> {
        crate::fast::read_response(bytes, header)
    }

    /// Encodes the response: the same bytes as [`crate::encode`], without rmp-serde.
    pub fn encode(&self) -> Vec<u8> {
        crate::fast::encode_response(self)
    }
}

fn ok() -> u16 {
    200
}

impl Default for HttpResponse {
    fn default() -> Self {
        Self {
            status_code: 200,
            header: HeaderMap::default(),
            body: Vec::new(),
        }
    }
}

impl HttpResponse {
    /// A 200 response with `body` and a `Content-Type` header.
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        let mut header = HeaderMap::new();
        header.append("Content-Type", content_type);
        Self {
            status_code: 200,
            header,
            body: body.into(),
        }
    }

    /// A response with `status` and a plain-text body.
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        let mut response = Self::ok("text/plain; charset=utf-8", body.into().into_bytes());
        response.status_code = status;
        response
    }
}
