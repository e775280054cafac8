//! Key-value capability providers for Caplet: the `wasmcloud:keyvalue` contract.
//!
//! Actors reach a key-value store only through a provider, so the host can swap the store
//! (in-memory for development and single-node use, Redis for shared or durable state) without
//! touching the actor. Both providers speak both generations of the contract: the wasmbus
//! `KeyValue.*` operations and the older waSCC/wasmCloud 0.18 ones (`Get`, `Add`, `Push`, ...).
//!
//! The operation dispatch (decode → storage call → encode, limits, error texts) lives in one
//! module shared by both backends; [`MemoryKeyValue`] and [`RedisKeyValue`] only store data.
//! `docs/keyvalue.md` in this crate describes the semantics, limits and failure behaviour.

mod backend;
mod bindings;
mod config;
mod dispatch;
mod limits;
pub mod memory;
pub mod redis;

pub use self::redis::RedisKeyValue;
pub use limits::*;
pub use memory::MemoryKeyValue;

/// Every operation name the providers accept, wasmbus first, then legacy; used in the error
/// for an unknown operation and in the docs.
pub const OPERATIONS: &[&str] = dispatch::OPERATIONS;
