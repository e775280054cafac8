//! Token ids (`jti`): 22 random base62 characters, the shape of the NUIDs that wascap writes.
//!
//! The id only has to be unique, not secret; 22 unbiased base62 characters carry 131 bits.

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Length of a NUID.
pub const TOKEN_ID_LEN: usize = 22;
/// Random bytes at or above this value are discarded so every character is equally likely.
const UNBIASED_LIMIT: u8 = 248; // 4 * 62

/// A fresh random token id, or the OS random source's error.
pub fn new_token_id() -> Result<String, getrandom::Error> {
    let mut id = String::with_capacity(TOKEN_ID_LEN);
    let mut buffer = [0u8; 32];
    while id.len() < TOKEN_ID_LEN {
        getrandom::getrandom(&mut buffer)?;
        for byte in buffer {
            if id.len() == TOKEN_ID_LEN {
                break;
            }
            if byte < UNBIASED_LIMIT {
                let index = usize::from(byte) % ALPHABET.len();
                if let Some(&c) = ALPHABET.get(index) {
                    id.push(char::from(c));
                }
            }
        }
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_22_base62_chars_and_differ() {
        let a = new_token_id().unwrap();
        let b = new_token_id().unwrap();
        assert_eq!(a.len(), TOKEN_ID_LEN);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
