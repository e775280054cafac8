//! `wasmcloud:httpclient`: outbound HTTP from an actor (wasmbus `httpclient.smithy`).

use serde::{Deserialize, Serialize};

use crate::HeaderMap;

/// The one operation: [`HttpRequest`] → [`HttpResponse`].
pub const REQUEST: &str = "HttpClient.Request";

/// An outbound request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The absolute URL, `http://` or `https://`.
    pub url: String,
    /// Request headers.
    #[serde(default)]
    pub headers: HeaderMap,
    /// The body.
    #[serde(with = "serde_bytes", default)]
    pub body: Vec<u8>,
}

/// The remote server's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// The status code.
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    /// Response headers.
    #[serde(default)]
    pub header: HeaderMap,
    /// The body.
    #[serde(with = "serde_bytes", default)]
    pub body: Vec<u8>,
}
