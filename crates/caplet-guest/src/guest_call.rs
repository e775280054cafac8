//! The guest half of a waPC invocation (`__guest_call`), in safe Rust.
//!
//! The host calls `__guest_call(op_len, msg_len)`. The guest reserves exactly that many bytes,
//! has the host fill them (`__guest_request`), runs the registered handler, and answers with
//! `__guest_response` + 1 or `__guest_error` + 0, as wapc-guest 1.x does. The ABI sits behind
//! [`GuestCallAbi`] so that these rules are unit-tested natively; `ffi` supplies the real one.

use crate::buffer::host_filled;
use crate::error::GuestError;
use crate::registry::Registry;

/// The three waPC imports a guest call uses.
pub(crate) trait GuestCallAbi {
    /// `__guest_request`: the host writes the operation name into `operation` and the payload
    /// into `payload`. Callers pass buffers of exactly the lengths the host gave `__guest_call`.
    fn read_request(&mut self, operation: &mut [u8], payload: &mut [u8]);
    /// `__guest_response`: hands the host the successful result.
    fn respond(&mut self, response: &[u8]);
    /// `__guest_error`: hands the host the error text (always valid UTF-8, as hosts require).
    fn fail(&mut self, message: &str);
}

/// `__guest_call` return value when a response was set.
const SUCCESS: i32 = 1;
/// `__guest_call` return value when an error was set.
const FAILURE: i32 = 0;

/// Runs one guest call: returns [`SUCCESS`] after `respond`, or [`FAILURE`] after `fail`.
pub(crate) fn guest_call(
    abi: &mut impl GuestCallAbi,
    registry: &Registry,
    op_len: i32,
    msg_len: i32,
) -> i32 {
    match read_and_dispatch(abi, registry, op_len, msg_len) {
        Ok(response) => {
            abi.respond(&response);
            SUCCESS
        }
        Err(error) => {
            abi.fail(&error.to_string());
            FAILURE
        }
    }
}

fn read_and_dispatch(
    abi: &mut impl GuestCallAbi,
    registry: &Registry,
    op_len: i32,
    msg_len: i32,
) -> Result<Vec<u8>, GuestError> {
    let op_len = length(op_len, "operation")?;
    let msg_len = length(msg_len, "payload")?;
    // One buffer for both: the operation first, the payload after it.
    let total = op_len
        .checked_add(msg_len)
        .ok_or_else(|| GuestError::InvalidRequest {
            reason: format!("the host announced {op_len} + {msg_len} bytes"),
        })?;
    let mut request = host_filled(total, "guest call request")?;
    let (operation, payload) = request.split_at_mut(op_len);
    abi.read_request(operation, payload);
    registry.dispatch(operation, payload)
}

fn length(announced: i32, what: &str) -> Result<usize, GuestError> {
    usize::try_from(announced).map_err(|_| GuestError::InvalidRequest {
        reason: format!("the host announced a negative {what} length ({announced})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{HandlerError, HandlerResult};

    /// A host that holds one request and records what the guest answered.
    #[derive(Default)]
    struct FakeHost {
        operation: Vec<u8>,
        payload: Vec<u8>,
        response: Option<Vec<u8>>,
        error: Option<String>,
    }

    impl FakeHost {
        fn with_request(operation: &str, payload: &[u8]) -> Self {
            Self {
                operation: operation.as_bytes().to_vec(),
                payload: payload.to_vec(),
                ..Self::default()
            }
        }

        fn call(&mut self, registry: &Registry) -> i32 {
            let op_len = i32::try_from(self.operation.len()).unwrap();
            let msg_len = i32::try_from(self.payload.len()).unwrap();
            guest_call(self, registry, op_len, msg_len)
        }
    }

    impl GuestCallAbi for FakeHost {
        fn read_request(&mut self, operation: &mut [u8], payload: &mut [u8]) {
            operation.copy_from_slice(&self.operation);
            payload.copy_from_slice(&self.payload);
        }
        fn respond(&mut self, response: &[u8]) {
            self.response = Some(response.to_vec());
        }
        fn fail(&mut self, message: &str) {
            self.error = Some(message.to_owned());
        }
    }

    fn registry() -> Registry {
        let registry = Registry::new();
        registry.register("echo", |payload: &[u8]| Ok(payload.to_vec()));
        registry.register("fail", |payload: &[u8]| -> HandlerResult<Vec<u8>> {
            Err(HandlerError::new(String::from_utf8_lossy(payload)))
        });
        registry
    }

    #[test]
    fn success_sets_the_response_and_returns_one() {
        let mut host = FakeHost::with_request("echo", b"hello");
        assert_eq!(host.call(&registry()), 1);
        assert_eq!(host.response.as_deref(), Some(&b"hello"[..]));
        assert_eq!(host.error, None);
    }

    #[test]
    fn empty_payloads_and_responses_are_fine() {
        let mut host = FakeHost::with_request("echo", b"");
        assert_eq!(host.call(&registry()), 1);
        assert_eq!(host.response.as_deref(), Some(&b""[..]));
    }

    #[test]
    fn handler_error_sets_the_error_text_and_returns_zero() {
        let mut host = FakeHost::with_request("fail", b"it broke");
        assert_eq!(host.call(&registry()), 0);
        assert_eq!(host.error.as_deref(), Some("it broke"));
        assert_eq!(host.response, None);
    }

    #[test]
    fn unknown_operation_uses_the_wapc_guest_text() {
        let mut host = FakeHost::with_request("nope", b"x");
        assert_eq!(host.call(&registry()), 0);
        assert_eq!(
            host.error.as_deref(),
            Some("No handler registered for function nope")
        );
    }

    #[test]
    fn negative_lengths_fail_without_reading_the_request() {
        let mut host = FakeHost::default();
        assert_eq!(guest_call(&mut host, &registry(), -1, 0), 0);
        assert_eq!(
            host.error.as_deref(),
            Some("invalid guest call request: the host announced a negative operation length (-1)")
        );
        let mut host = FakeHost::default();
        assert_eq!(guest_call(&mut host, &registry(), 0, i32::MIN), 0);
        assert!(host.error.unwrap().contains("negative payload length"));
    }
}
