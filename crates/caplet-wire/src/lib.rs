//! The wire vocabulary shared by Caplet's host, its providers and its guests: contract ids,
//! operation names and the MessagePack messages of every contract.
//!
//! Messages follow the wasmCloud "wasmbus" interfaces (`KeyValue.Get`, `HttpServer.HandleRequest`,
//! ...) field for field, so actors built for them run on Caplet, and the older waSCC/wasmCloud
//! 0.18 key-value operations are kept in [`keyvalue::legacy`]. Structs are encoded as maps with
//! field names ([`encode`]); [`decode`] also accepts the array form and, for byte fields, both
//! `bin` and arrays of integers, because the generations of rmp-serde wrote both. None of these
//! messages contains an enum, so the two enum encodings never arise here.
//!
//! This crate depends on serde, rmp and rmp-serde only, so it builds for `wasm32-unknown-unknown`.

pub mod codec;
pub mod contracts;
mod fast;
pub mod headers;
pub mod health;
pub mod httpclient;
pub mod httpserver;
pub mod keyvalue;
pub mod logging;
pub mod messaging;
pub mod numbergen;

pub use codec::{WireError, decode, encode};
pub use headers::HeaderMap;
