//! `wasmcloud:builtin:numbergen`: GUIDs and random numbers from the host, for actors that have
//! no entropy of their own (a Wasm module has none). The claims must list the contract.

use caplet_wire::contracts::NUMBERGEN;
use caplet_wire::numbergen::{GENERATE_GUID, RANDOM_32, RANDOM_IN_RANGE, RangeLimit};

use super::{DEFAULT_LINK, decode_answer};
use crate::error::GuestError;
use crate::host::host_call;

/// A random (v4) GUID as text, e.g. `0b8f4e3c-...`.
pub fn guid() -> Result<String, GuestError> {
    let answer = host_call(DEFAULT_LINK, NUMBERGEN, GENERATE_GUID, &[])?;
    decode_answer(GENERATE_GUID, &answer)
}

/// A random number between `min` and `max`, both inclusive.
pub fn random_in_range(min: u32, max: u32) -> Result<u32, GuestError> {
    super::call_for(
        DEFAULT_LINK,
        NUMBERGEN,
        RANDOM_IN_RANGE,
        &RangeLimit { min, max },
    )
}

/// A random `u32`.
pub fn random_u32() -> Result<u32, GuestError> {
    let answer = host_call(DEFAULT_LINK, NUMBERGEN, RANDOM_32, &[])?;
    decode_answer(RANDOM_32, &answer)
}
