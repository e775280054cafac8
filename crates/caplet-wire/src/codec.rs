//! MessagePack encoding as every contract uses it: structs as maps keyed by field name.

use serde::{Deserialize, Serialize};

/// A message that could not be encoded or decoded; the text names the Rust type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// The type that was being encoded or decoded.
    pub type_name: &'static str,
    /// What went wrong, from rmp-serde.
    pub reason: String,
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let short = self.type_name.rsplit("::").next().unwrap_or(self.type_name);
        write!(f, "malformed {short} message: {}", self.reason)
    }
}

impl std::error::Error for WireError {}

/// Encodes `value` as MessagePack with named fields (struct-as-map), as wasmCloud does.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, WireError> {
    // Most messages are small: one allocation up front instead of growing from empty through
    // 8, 16, 32… bytes (a realloc each, in a guest's allocator too).
    let mut buffer = Vec::with_capacity(ENCODE_INITIAL_CAPACITY);
    rmp_serde::encode::write_named(&mut buffer, value).map_err(|e| WireError {
        type_name: std::any::type_name::<T>(),
        reason: e.to_string(),
    })?;
    Ok(buffer)
}

/// Bytes reserved before encoding a message (default 256): enough for a typical contract
/// message without growing, small enough to waste nothing that matters.
const ENCODE_INITIAL_CAPACITY: usize = 256;

/// Decodes a MessagePack message; structs may be maps or arrays, unknown fields are ignored.
/// `T` may borrow from `bytes` (`&str` fields): a receiver that only reads a key needs no copy.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, WireError> {
    rmp_serde::from_slice(bytes).map_err(|e| WireError {
        type_name: std::any::type_name::<T>(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyvalue::GetResponse;

    #[test]
    fn structs_round_trip_as_maps_and_decode_from_arrays() {
        let value = GetResponse {
            value: "7".into(),
            exists: true,
        };
        let bytes = encode(&value).unwrap();
        // fixmap with two entries, first key "value".
        assert_eq!(bytes.first(), Some(&0x82));
        assert_eq!(decode::<GetResponse>(&bytes).unwrap(), value);
        let as_array = rmp_serde::to_vec(&value).unwrap();
        assert_eq!(as_array.first(), Some(&0x92));
        assert_eq!(decode::<GetResponse>(&as_array).unwrap(), value);
    }

    #[test]
    fn decode_errors_name_the_message_type() {
        let error = decode::<GetResponse>(&[0xc1]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("malformed GetResponse message"),
            "{error}"
        );
    }
}
