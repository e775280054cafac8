//! Buffers that the host fills: the guest always sizes them itself, because a waPC host never
//! allocates in guest memory.
//!
//! Allocation failure becomes an error the caller can report instead of an abort (a trap), so a
//! host that announces an absurd length gets a readable guest error back.

use crate::error::GuestError;

/// A zero-filled buffer of exactly `len` bytes, for the host to write into.
///
/// Zero-filling (rather than `set_len` on reserved capacity) keeps the buffer initialised even
/// if a host writes fewer bytes than it announced.
pub(crate) fn host_filled(len: usize, purpose: &'static str) -> Result<Vec<u8>, GuestError> {
    let mut buffer = Vec::new();
    buffer
        .try_reserve_exact(len)
        .map_err(|_| GuestError::OutOfMemory {
            bytes: len,
            purpose,
        })?;
    buffer.resize(len, 0);
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_have_exactly_the_requested_length() {
        assert_eq!(host_filled(0, "test").unwrap().len(), 0);
        assert_eq!(host_filled(5, "test").unwrap(), vec![0; 5]);
    }

    #[test]
    fn impossible_sizes_are_errors_not_aborts() {
        let err = host_filled(usize::MAX, "host response").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot allocate {} bytes for the host response", usize::MAX)
        );
    }
}
