//! `wasmcloud:builtin:numbergen`, served inside the host.

use serde::{Deserialize, Serialize};

/// A random (v4) GUID: no input, output a string.
pub const GENERATE_GUID: &str = "NumberGen.GenerateGuid";
/// A random number in a range: input [`RangeLimit`], output `u32`.
pub const RANDOM_IN_RANGE: &str = "NumberGen.RandomInRange";
/// A random `u32`: no input.
pub const RANDOM_32: &str = "NumberGen.Random32";

/// An inclusive range.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangeLimit {
    /// Lowest value, inclusive.
    pub min: u32,
    /// Highest value, inclusive.
    pub max: u32,
}
