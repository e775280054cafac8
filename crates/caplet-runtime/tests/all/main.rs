//! Integration tests of caplet-runtime, one binary with a module per area (links once).
//!
//! The guests come from `scripts/build-guests.sh` (guests/out/); inline WAT covers engine
//! properties and malformed modules that no compiler would emit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod bad_input;
mod cache;
mod common;
mod host_calls;
mod limits;
mod wapc_compat;
