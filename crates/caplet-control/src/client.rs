//! A minimal client for the control API (what `caplet ctl` and the tests use): one HTTP/1.1
//! request per connection, the token in the `Authorization` header, the answer read whole.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio::net::TcpStream;

use crate::model::ErrorBody;

/// How long one request may take, connect to last byte.
///
/// Default: 120 s: an actor update compiles and warms the module before it answers. Fixed at
/// build time.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

/// Largest answer read, in bytes.
///
/// Default: 64 MiB (a metrics page of a very large host). Fixed at build time.
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection.
    #[error(
        "cannot reach the control API at {addr}: {reason}; is `caplet up` running with its control API there? (--addr)"
    )]
    Connect {
        /// The address tried.
        addr: String,
        /// Why.
        reason: String,
    },
    /// The exchange failed part-way.
    #[error("the control API at {addr} did not answer properly: {reason}")]
    Exchange {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// No answer in [`CLIENT_TIMEOUT`].
    #[error("the control API at {addr} did not answer within {CLIENT_TIMEOUT:?}")]
    Timeout {
        /// The address.
        addr: String,
    },
}

/// An answer: status and body.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl Reply {
    /// True for 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The server's `error` text, or the body when it is not an error document.
    pub fn error_message(&self) -> String {
        match self.json::<ErrorBody>() {
            Ok(body) => body.error,
            Err(_) => format!("HTTP {}: {}", self.status, self.text().trim()),
        }
    }
}

/// A control API client.
#[derive(Debug, Clone)]
pub struct Client {
    addr: String,
    token: Option<String>,
}

impl Client {
    /// A client for the API at `addr` (`127.0.0.1:7171`), sending `token` if given.
    pub fn new(addr: impl Into<String>, token: Option<String>) -> Self {
        Self {
            addr: addr.into(),
            token,
        }
    }

    /// Sends `method path` with `body` as JSON (none when `None`).
    pub async fn send<T: Serialize>(
        &self,
        method: &str,
        path: &str,
        body: Option<&T>,
    ) -> Result<Reply, ClientError> {
        let bytes = match body {
            Some(body) => serde_json::to_vec(body).map_err(|e| self.exchange(e))?,
            None => Vec::new(),
        };
        self.send_raw(method, path, bytes).await
    }

    /// Sends `method path` with `body` as it is (JSON content type when not empty).
    pub async fn send_raw(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<Reply, ClientError> {
        tokio::time::timeout(CLIENT_TIMEOUT, self.exchange_once(method, path, body))
            .await
            .map_err(|_| ClientError::Timeout {
                addr: self.addr.clone(),
            })?
    }

    async fn exchange_once(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<Reply, ClientError> {
        let stream = TcpStream::connect(&self.addr)
            .await
            .map_err(|e| ClientError::Connect {
                addr: self.addr.clone(),
                reason: e.to_string(),
            })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.exchange(e))?;
        let driver = tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.addr.as_str());
        if let Some(token) = &self.token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if !body.is_empty() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| self.exchange(e))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| self.exchange(e))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| self.exchange(e))?
            .to_bytes()
            .to_vec();
        driver.abort();
        Ok(Reply { status, body })
    }

    fn exchange(&self, error: impl std::fmt::Display) -> ClientError {
        ClientError::Exchange {
            addr: self.addr.clone(),
            reason: error.to_string(),
        }
    }
}

/// `segment` percent-encoded for a URL path (everything but unreserved characters and `:`).
pub fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~:".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
