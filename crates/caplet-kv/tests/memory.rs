#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! The shared operation suite against the in-memory provider.

#[macro_use]
mod suite;

use std::sync::Arc;

use caplet_kv::MemoryKeyValue;
use suite::Kv;

async fn setup() -> (Kv, ()) {
    let provider = MemoryKeyValue::new(&Default::default()).unwrap();
    (Kv::bind(Arc::new(provider), "writer", &[]).await, ())
}

suite_tests!(setup);
