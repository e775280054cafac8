//! A fake host for native unit tests of an actor: without it every host call fails with
//! `NotInWasm`, so handlers that use capabilities could only be tested inside a real host.
//!
//! The fake is per thread (each `#[test]` runs on its own thread), so tests stay independent.
//! It exists only on native targets; in a Wasm module host calls always go to the real host.

use std::cell::RefCell;

use crate::error::GuestError;

/// What a fake host answers: the response bytes, or the host's error text.
pub type MockResult = Result<Vec<u8>, String>;

type MockHost = Box<dyn FnMut(&str, &str, &str, &[u8]) -> MockResult>;

thread_local! {
    static MOCK: RefCell<Option<MockHost>> = const { RefCell::new(None) };
}

/// Answers this thread's host calls with `host(binding, namespace, operation, payload)` until
/// [`clear_mock_host`] or another `mock_host`. `Err(text)` reaches the caller as
/// [`GuestError::Host`] with that text, as a real host's error would.
///
/// ```
/// use caplet_guest::testing::{clear_mock_host, mock_host};
///
/// mock_host(|_binding, _namespace, operation, _payload| match operation {
///     "KeyValue.Increment" => Ok(vec![7]), // MessagePack for 7
///     other => Err(format!("unexpected {other}")),
/// });
/// assert_eq!(caplet_guest::kv().increment("hits", 1).unwrap(), 7);
/// clear_mock_host();
/// ```
pub fn mock_host<F>(host: F)
where
    F: FnMut(&str, &str, &str, &[u8]) -> MockResult + 'static,
{
    MOCK.with(|mock| *mock.borrow_mut() = Some(Box::new(host)));
}

/// Removes this thread's fake host: host calls fail with [`GuestError::NotInWasm`] again.
pub fn clear_mock_host() {
    MOCK.with(|mock| *mock.borrow_mut() = None);
}

/// Runs the fake host if this thread has one; `None` when it has not.
pub(crate) fn call_mock(
    binding: &str,
    namespace: &str,
    operation: &str,
    payload: &[u8],
) -> Option<Result<Vec<u8>, GuestError>> {
    // Take the fake out while it runs, so that a fake which itself makes host calls (or installs
    // another fake) does not find the cell borrowed.
    let mut host = MOCK.with(|mock| mock.borrow_mut().take())?;
    let result = host(binding, namespace, operation, payload);
    MOCK.with(|mock| {
        let mut slot = mock.borrow_mut();
        if slot.is_none() {
            *slot = Some(host);
        }
    });
    Some(result.map_err(|message| GuestError::Host { message }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fake_answers_and_its_errors_are_host_errors() {
        mock_host(|binding, namespace, operation, payload| {
            if operation == "fail" {
                return Err("no link".into());
            }
            Ok(format!("{binding}/{namespace}/{operation}/{}", payload.len()).into_bytes())
        });
        assert_eq!(
            crate::host_call("default", "acme:x", "op", b"abc").unwrap(),
            b"default/acme:x/op/3"
        );
        assert_eq!(
            crate::host_call("default", "acme:x", "fail", b"").unwrap_err(),
            GuestError::Host {
                message: "no link".into()
            }
        );
        clear_mock_host();
        assert!(matches!(
            crate::host_call("default", "acme:x", "op", b"").unwrap_err(),
            GuestError::NotInWasm { .. }
        ));
    }

    #[test]
    fn a_fake_may_replace_itself() {
        mock_host(|_, _, _, _| {
            mock_host(|_, _, _, _| Ok(b"second".to_vec()));
            Ok(b"first".to_vec())
        });
        assert_eq!(crate::host_call("b", "n", "o", b"").unwrap(), b"first");
        assert_eq!(crate::host_call("b", "n", "o", b"").unwrap(), b"second");
        clear_mock_host();
    }
}
