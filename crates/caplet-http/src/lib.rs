//! Caplet's HTTP capability providers: [`HttpServer`] (`wasmcloud:httpserver`) serves inbound
//! requests by calling actors through the host, and [`HttpClient`] (`wasmcloud:httpclient`)
//! makes outbound requests for actors, only to hosts their link's `allowed_hosts` lists.
//!
//! Both are built on hyper 1.x directly so the request path stays short; docs/http.md lists
//! their link and config keys, limits, status mapping and the allow-list rules.

pub mod client;
pub mod server;
mod values;

pub use client::HttpClient;
pub use server::HttpServer;
