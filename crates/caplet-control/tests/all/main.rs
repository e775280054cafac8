//! The control API against a real host: auth, malformed requests, inventory, hot swap,
//! provider removal and health, metrics, probes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod api;
mod common;
mod providers;
