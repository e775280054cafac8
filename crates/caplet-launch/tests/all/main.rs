//! End-to-end tests of `caplet up`'s engine: a manifest in a temporary folder, signed example
//! actors, real providers (HTTP on a free port, in-memory and real Redis key-value, local and
//! real NATS messaging), driven from outside the way a user would: HTTP requests and NATS
//! messages. Redis and NATS are real servers started on free ports (caplet-testkit).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod common;
mod enforcement;
mod examples;
mod hot_swap;
mod httpclient;
mod kvcounter;
mod live_providers;
mod messaging;
