//! Errors of the guest SDK: what a host call or a handler can fail with.
//!
//! `GuestError` is what the SDK's own functions return; `HandlerError` is what a handler returns,
//! built from anything that implements `Display` so that `?` works inside handlers. Both are
//! plain types without dependencies, so an actor stays small.

use std::fmt;

/// Why a call made through this SDK failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuestError {
    /// The host answered a host call with an error (`__host_call` did not return 1).
    /// `message` is the host's error text, decoded as UTF-8 (invalid bytes replaced).
    Host {
        /// The host's error text.
        message: String,
    },
    /// A handler returned an error; the text is the handler's message, unchanged.
    Handler(String),
    /// No handler is registered under the operation name the host asked for.
    NoHandler {
        /// The operation name as sent by the host (invalid UTF-8 replaced).
        operation: String,
    },
    /// The host passed `__guest_call` a length that cannot be a length (negative).
    InvalidRequest {
        /// What was wrong, for the host's log.
        reason: String,
    },
    /// A buffer for bytes coming from the host could not be allocated.
    OutOfMemory {
        /// How many bytes were asked for.
        bytes: usize,
        /// What the buffer was for, e.g. "guest call payload".
        purpose: &'static str,
    },
    /// A host call was made outside a Wasm module. Host calls exist only inside a Wasm module
    /// run by a waPC host; native builds (unit tests) get this error instead, unless the test
    /// installed a fake host with `testing::mock_host`.
    NotInWasm {
        /// `binding/namespace/operation` of the attempted call.
        target: String,
    },
    /// A typed client could not encode its request as MessagePack.
    Encode {
        /// The contract operation, e.g. `KeyValue.Set`.
        operation: String,
        /// Why, from the encoder.
        reason: String,
    },
    /// The host's answer to a typed client's call is not the message the contract defines.
    Decode {
        /// The contract operation, e.g. `KeyValue.Increment`.
        operation: String,
        /// Why, from the decoder (names the expected message type).
        reason: String,
    },
}

impl fmt::Display for GuestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // Same wording as wapc-guest's `HostError`, so actors ported from it log the same.
            Self::Host { message } => write!(f, "Host error: {message}"),
            // The handler's text reaches the host unchanged, as with wapc-guest.
            Self::Handler(message) => f.write_str(message),
            // Exactly the text of wapc-guest 1.x, which hosts and tests match on.
            Self::NoHandler { operation } => {
                write!(f, "No handler registered for function {operation}")
            }
            Self::InvalidRequest { reason } => write!(f, "invalid guest call request: {reason}"),
            Self::OutOfMemory { bytes, purpose } => {
                write!(f, "cannot allocate {bytes} bytes for the {purpose}")
            }
            Self::NotInWasm { target } => write!(
                f,
                "host call {target} is unavailable: host calls exist only inside a Wasm module \
                 run by a waPC host (this is a native build; unit tests can answer host calls \
                 with caplet_guest::testing::mock_host)"
            ),
            Self::Encode { operation, reason } => {
                write!(f, "cannot encode the {operation} request: {reason}")
            }
            Self::Decode { operation, reason } => write!(
                f,
                "cannot decode the answer to {operation}: {reason}; the capability answered with \
                 a message this SDK does not expect (is the link bound to a provider of that \
                 contract?)"
            ),
        }
    }
}

impl std::error::Error for GuestError {}

/// The error a handler returns. Any `E: Display` converts into it, so `?` works on
/// `GuestError`, `std::io::Error`, `String`, `&str` and most library errors.
///
/// Like `anyhow::Error`, it deliberately does not implement `Display` itself: that would
/// conflict with the blanket `From<E: Display>` conversion. Read the text with
/// [`HandlerError::message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    message: String,
}

impl HandlerError {
    /// An error with the given text; the host receives this text unchanged.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }

    /// The text the host will receive.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The text the host will receive, by value.
    pub fn into_message(self) -> String {
        self.message
    }
}

impl<E: fmt::Display> From<E> for HandlerError {
    fn from(error: E) -> Self {
        Self::new(error.to_string())
    }
}

impl From<HandlerError> for GuestError {
    fn from(error: HandlerError) -> Self {
        Self::Handler(error.message)
    }
}

/// What a handler returns: `Ok(bytes)` becomes the guest response, `Err` the guest error.
pub type HandlerResult<T> = Result<T, HandlerError>;

#[cfg(test)]
mod tests {
    use super::*;

    fn uses_question_mark(fail: bool) -> HandlerResult<Vec<u8>> {
        if fail {
            Err(GuestError::Host {
                message: "no link".into(),
            })?;
        }
        let n: u32 = "12".parse()?;
        Ok(n.to_string().into_bytes())
    }

    #[test]
    fn question_mark_converts_displayable_errors() {
        assert_eq!(uses_question_mark(false).unwrap(), b"12");
        let err = uses_question_mark(true).unwrap_err();
        assert_eq!(err.message(), "Host error: no link");
    }

    #[test]
    fn strings_convert_into_handler_errors() {
        let from_str: HandlerError = "bad input".into();
        let from_string: HandlerError = String::from("bad input").into();
        assert_eq!(from_str, from_string);
        assert_eq!(from_str.into_message(), "bad input");
    }

    #[test]
    fn no_handler_text_matches_wapc_guest() {
        let err = GuestError::NoHandler {
            operation: "missing".into(),
        };
        assert_eq!(
            err.to_string(),
            "No handler registered for function missing"
        );
    }

    #[test]
    fn handler_text_is_passed_through_unchanged() {
        let err: GuestError = HandlerError::new("boom: 42").into();
        assert_eq!(err.to_string(), "boom: 42");
    }
}
