//! Calls from the guest to the host (`__host_call`): the one way an actor reaches a capability.
//!
//! A call succeeds only when `__host_call` returns exactly 1 (as in wapc-guest 1.x); the guest
//! then reads `__host_response`, otherwise `__host_error`. The ABI sits behind [`HostCallAbi`] so
//! these rules are unit-tested natively. Native builds have no host: [`host_call`] returns
//! [`GuestError::NotInWasm`] there, unless a test installed a fake with `testing::mock_host`.
//! The typed per-contract clients in `contracts` build on [`host_call`].

use crate::error::GuestError;

/// The waPC imports a host call uses.
#[cfg(any(target_arch = "wasm32", test))]
pub(crate) trait HostCallAbi {
    /// `__host_call`: 1 means success, anything else failure.
    fn call(&mut self, binding: &str, namespace: &str, operation: &str, payload: &[u8]) -> usize;
    /// `__host_response_len`.
    fn response_len(&mut self) -> usize;
    /// `__host_response`: writes the response into a buffer of exactly `response_len()` bytes.
    fn read_response(&mut self, buffer: &mut [u8]);
    /// `__host_error_len`.
    fn error_len(&mut self) -> usize;
    /// `__host_error`: writes the error text into a buffer of exactly `error_len()` bytes.
    fn read_error(&mut self, buffer: &mut [u8]);
}

/// Calls the host's capability `namespace` (a contract id such as `wasmcloud:keyvalue`, or an
/// actor's public key) through the link named `binding` (`"default"` is customary), asking for
/// `operation` with `payload`. Returns the host's response bytes.
///
/// # Errors
/// [`GuestError::Host`] with the host's message when the host reports a failure;
/// [`GuestError::NotInWasm`] when not running inside a Wasm module (and no
/// `testing::mock_host` fake is installed on this thread);
/// [`GuestError::OutOfMemory`] if the response or error text cannot be buffered.
pub fn host_call(
    binding: &str,
    namespace: &str,
    operation: &str,
    payload: &[u8],
) -> Result<Vec<u8>, GuestError> {
    #[cfg(target_arch = "wasm32")]
    {
        call_through(
            &mut crate::ffi::Wapc,
            binding,
            namespace,
            operation,
            payload,
        )
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        crate::testing::call_mock(binding, namespace, operation, payload).unwrap_or_else(|| {
            Err(GuestError::NotInWasm {
                target: format!("{binding}/{namespace}/{operation}"),
            })
        })
    }
}

/// The host-call protocol over any [`HostCallAbi`].
#[cfg(any(target_arch = "wasm32", test))]
pub(crate) fn call_through(
    abi: &mut impl HostCallAbi,
    binding: &str,
    namespace: &str,
    operation: &str,
    payload: &[u8],
) -> Result<Vec<u8>, GuestError> {
    use crate::buffer::host_filled;

    if abi.call(binding, namespace, operation, payload) == 1 {
        let mut response = host_filled(abi.response_len(), "host response")?;
        abi.read_response(&mut response);
        Ok(response)
    } else {
        let mut message = host_filled(abi.error_len(), "host error")?;
        abi.read_error(&mut message);
        Err(GuestError::Host {
            message: String::from_utf8_lossy(&message).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host whose `__host_call` returns `status` and holds one response and one error text.
    struct FakeHost {
        status: usize,
        response: Vec<u8>,
        error: Vec<u8>,
        calls: Vec<(String, String, String, Vec<u8>)>,
    }

    impl FakeHost {
        fn new(status: usize) -> Self {
            Self {
                status,
                response: b"pong".to_vec(),
                error: b"no link for sample:namespace".to_vec(),
                calls: Vec::new(),
            }
        }
    }

    impl HostCallAbi for FakeHost {
        fn call(
            &mut self,
            binding: &str,
            namespace: &str,
            operation: &str,
            payload: &[u8],
        ) -> usize {
            let call = (
                binding.into(),
                namespace.into(),
                operation.into(),
                payload.to_vec(),
            );
            self.calls.push(call);
            self.status
        }
        fn response_len(&mut self) -> usize {
            self.response.len()
        }
        fn read_response(&mut self, buffer: &mut [u8]) {
            buffer.copy_from_slice(&self.response);
        }
        fn error_len(&mut self) -> usize {
            self.error.len()
        }
        fn read_error(&mut self, buffer: &mut [u8]) {
            buffer.copy_from_slice(&self.error);
        }
    }

    #[test]
    fn one_means_success_and_reads_the_response() {
        let mut host = FakeHost::new(1);
        let response = call_through(&mut host, "default", "sample:namespace", "ping", b"hi");
        assert_eq!(response.unwrap(), b"pong");
        let expected = (
            "default".into(),
            "sample:namespace".into(),
            "ping".into(),
            b"hi".to_vec(),
        );
        assert_eq!(host.calls, vec![expected]);
    }

    #[test]
    fn zero_means_failure_and_reads_the_error() {
        let mut host = FakeHost::new(0);
        let err = call_through(&mut host, "default", "sample:namespace", "ping", b"").unwrap_err();
        assert_eq!(
            err,
            GuestError::Host {
                message: "no link for sample:namespace".into()
            }
        );
    }

    #[test]
    fn any_other_status_is_a_failure_too() {
        let mut host = FakeHost::new(2);
        assert!(call_through(&mut host, "b", "n", "o", b"").is_err());
    }

    #[test]
    fn invalid_utf8_in_host_errors_is_replaced() {
        let mut host = FakeHost::new(0);
        host.error = b"bad \xff".to_vec();
        let err = call_through(&mut host, "b", "n", "o", b"").unwrap_err();
        assert_eq!(err.to_string(), "Host error: bad \u{fffd}");
    }

    #[test]
    fn native_builds_say_host_calls_need_wasm() {
        let err = host_call("default", "wasmcloud:keyvalue", "Get", b"k").unwrap_err();
        assert_eq!(
            err,
            GuestError::NotInWasm {
                target: "default/wasmcloud:keyvalue/Get".into()
            }
        );
        assert!(err.to_string().contains("only inside a Wasm module"));
    }
}
