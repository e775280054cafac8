//! The host's control API: inventory, actor start/stop/hot swap, providers, links, health and
//! Prometheus metrics over HTTP/JSON, on loopback by default, behind a bearer token.
//!
//! Operators and `caplet ctl` change a running host through here instead of restarting it.
//! Every endpoint but the Kubernetes probes (`/livez`, `/readyz`) needs the token, compared in
//! constant time; a refused request changes nothing. See docs/control.md.

pub mod client;
mod handlers;
pub mod model;
mod routes;
mod server;
pub mod token;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Duration;

pub use client::{Client, ClientError, Reply};
pub use server::{ControlError, ControlListener, ControlOptions, ControlServer};
pub use token::{Token, TokenError, TokenOrigin, default_token_path, prepare_token};

/// Where the control API listens when the manifest's `[host] control_api` is not set.
///
/// Default: `127.0.0.1:7171`, loopback only, so only local users (who can also read the token
/// file) reach it. Change it with `[host] control_api`, or disable it with `caplet up
/// --no-control`.
pub const DEFAULT_CONTROL_ADDR: SocketAddr =
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7171));

/// Largest request body the API reads, in bytes.
///
/// Default: 64 MiB, room for a module sent as base64 (about 48 MiB of wasm). Larger bodies are
/// refused with 413 before they are read. Fixed at build time.
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// Most connections served at once; further ones wait in the listen queue.
///
/// Default: 32. The API is for operators and scrapers, not traffic. Fixed at build time.
pub const MAX_CONNECTIONS: usize = 32;

/// How long a client may take to send its request headers.
///
/// Default: 10 s; the connection is closed after that. Fixed at build time.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send its request body.
///
/// Default: 60 s (a 64 MiB upload over a slow link); the request fails with 408 after that.
/// Fixed at build time.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// How long the provider health checks behind `/v1/health`, `/v1/inventory` and `/metrics`
/// may take together.
///
/// Default: 10 s; past it the endpoint answers 504 naming the timeout. Fixed at build time.
pub const HEALTH_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`ControlServer::stop`] lets requests in progress finish before closing them.
///
/// Default: 5 s. Fixed at build time.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
