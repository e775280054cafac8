//! Integration tests of the host: policy at load, the router's capability and link checks,
//! actor-to-actor calls and their depth limit, provider lifecycle, and graceful shutdown.
//! The guests are the probe test guest (built by scripts/build-guests.sh) signed per test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod breaker;
mod common;
mod enforcement;
mod health;
mod lifecycle;
mod policy;
mod routing;
mod swap;
