//! `wasmcloud:httpclient`: outbound HTTP requests through the host's HTTP client provider,
//! which decides which hosts an actor may reach.

use caplet_wire::contracts::HTTP_CLIENT;
use caplet_wire::httpclient::REQUEST;
pub use caplet_wire::httpclient::{HttpRequest, HttpResponse};

use super::{DEFAULT_LINK, LinkName, call_for, link_name};
use crate::error::GuestError;

/// The HTTP client linked to this actor under the link name `"default"`.
///
/// ```no_run
/// let response = caplet_guest::http_client().get("https://example.com/")?;
/// caplet_guest::log!("status {}", response.status_code);
/// # Ok::<(), caplet_guest::GuestError>(())
/// ```
pub fn http_client() -> HttpClient {
    http_client_on(DEFAULT_LINK)
}

/// The HTTP client linked to this actor under `link`.
pub fn http_client_on(link: &str) -> HttpClient {
    HttpClient {
        link: link_name(link),
    }
}

/// A client for one HTTP client link. Any status the server answers is `Ok`; errors are
/// [`GuestError::Host`] (no link, URL not allowed, connection failed, ...) or
/// [`GuestError::Decode`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpClient {
    link: LinkName,
}

impl HttpClient {
    /// The link name this client calls through.
    pub fn link(&self) -> &str {
        &self.link
    }

    /// Sends `request` and returns the server's response.
    pub fn request(&self, request: &HttpRequest) -> Result<HttpResponse, GuestError> {
        call_for(&self.link, HTTP_CLIENT, REQUEST, request)
    }

    /// `GET url` without headers or body.
    pub fn get(&self, url: &str) -> Result<HttpResponse, GuestError> {
        self.request(&HttpRequest {
            method: "GET".to_owned(),
            url: url.to_owned(),
            ..HttpRequest::default()
        })
    }
}
