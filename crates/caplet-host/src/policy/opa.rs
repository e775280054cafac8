//! An external Open Policy Agent server, asked over plain HTTP with OPA's Data API:
//! `POST {url}/v1/data/{path}` with `{"input": …}`. The answer is `{"result": true|false}` or
//! `{"result": {"allow": bool, "reason": "…"}}`; anything else (no `result` because the rule is
//! undefined, a non-2xx status, a timeout, a refused connection) is "unavailable", and the host
//! refuses (fail closed).
//!
//! Plain HTTP only: run OPA next to the host (loopback or a sidecar). Each request has its own
//! deadline ([`DEFAULT_POLICY_TIMEOUT`] unless configured), covering connect, send and body.

use std::time::Duration;

use bytes::Bytes;
use caplet_provider_api::BoxFuture;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use super::engine::{DEFAULT_POLICY_TIMEOUT, Decision, PolicyEngine};

/// The OPA document asked when no path is configured.
///
/// Default: `caplet`, i.e. `POST {url}/v1/data/caplet`, whose result is the package document
/// (`{"allow": …, "reason": …}`). Change it with `[host.policy] opa_path`.
pub const DEFAULT_OPA_PATH: &str = "caplet";

/// Largest OPA response body read, in bytes.
///
/// Default: 64 KiB. A longer body is treated as no answer (fail closed). A decision is a few
/// bytes; the bound keeps a misdirected URL from streaming a large document into the host.
/// Fixed at build time.
pub const MAX_OPA_RESPONSE_BYTES: usize = 64 << 10;

/// A client of one OPA server and document path.
pub struct OpaPolicy {
    endpoint: String,
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for OpaPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpaPolicy")
            .field("endpoint", &self.endpoint)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OpaPolicy {
    /// A client of the OPA server at `url` (`http://host:port`), asking `path` (`None`:
    /// [`DEFAULT_OPA_PATH`]) within `timeout` (`None`: [`DEFAULT_POLICY_TIMEOUT`]).
    pub fn new(url: &str, path: Option<&str>, timeout: Option<Duration>) -> Result<Self, String> {
        let base = url.trim().trim_end_matches('/');
        let uri: hyper::Uri = base
            .parse()
            .map_err(|e| format!("the OPA URL `{url}` is not a URL: {e}"))?;
        if uri.scheme_str() != Some("http") || uri.host().is_none() {
            return Err(format!(
                "the OPA URL `{url}` must be http://HOST:PORT (plain HTTP; run OPA next to the host)"
            ));
        }
        let path = path.unwrap_or(DEFAULT_OPA_PATH).trim().trim_matches('/');
        if path.is_empty()
            || !path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/' | '.'))
        {
            return Err(format!(
                "the OPA path `{path}` must be a document path such as `caplet` or `caplet/allow`"
            ));
        }
        let path = path.replace('.', "/");
        let timeout = timeout.unwrap_or(DEFAULT_POLICY_TIMEOUT);
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            endpoint: format!("{base}/v1/data/{path}"),
            client,
            timeout,
        })
    }

    async fn ask(&self, input: &Value) -> Result<Decision, String> {
        let body = json!({ "input": input }).to_string();
        let request = Request::post(&self.endpoint)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("cannot build the request: {e}"))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| format!("cannot reach OPA: {}", error_chain(&e)))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_OPA_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| format!("cannot read OPA's answer: {e}"))?
            .to_bytes();
        if !status.is_success() {
            let text = String::from_utf8_lossy(body.get(..200).unwrap_or(&body));
            return Err(format!("OPA answered {status}: {text}"));
        }
        parse_answer(&body)
    }
}

/// Reads OPA's answer (see the module docs).
pub fn parse_answer(body: &[u8]) -> Result<Decision, String> {
    let answer: Value =
        serde_json::from_slice(body).map_err(|e| format!("OPA's answer is not JSON: {e}"))?;
    match answer.get("result") {
        None => Err("OPA's answer has no `result`: the policy document is undefined (wrong opa_path, or no policy loaded)".to_string()),
        Some(Value::Bool(allow)) => Ok(Decision {
            allow: *allow,
            reason: None,
        }),
        Some(Value::Object(result)) => match result.get("allow") {
            Some(Value::Bool(allow)) => Ok(Decision {
                allow: *allow,
                reason: result
                    .get("reason")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            }),
            // `allow` undefined in the package document: the policy's default, "no".
            None => Ok(Decision {
                allow: false,
                reason: result
                    .get("reason")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            }),
            Some(other) => Err(format!("OPA's `result.allow` is not a boolean: {other}")),
        },
        Some(other) => Err(format!(
            "OPA's `result` is neither a boolean nor {{\"allow\": …}}: {other}"
        )),
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl PolicyEngine for OpaPolicy {
    fn evaluate<'a>(&'a self, input: &'a Value) -> BoxFuture<'a, Result<Decision, String>> {
        Box::pin(async move {
            match tokio::time::timeout(self.timeout, self.ask(input)).await {
                Ok(answer) => answer,
                Err(_) => Err(format!(
                    "OPA at {} did not answer within {} ms",
                    self.endpoint,
                    self.timeout.as_millis()
                )),
            }
        })
    }

    fn describe(&self) -> String {
        format!("OPA {}", self.endpoint)
    }

    fn timeout(&self) -> Duration {
        self.timeout
    }
}
