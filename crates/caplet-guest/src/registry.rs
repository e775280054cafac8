//! The handler registry: which function answers which waPC operation.
//!
//! Handlers are registered by operation name (usually from `wapc_init`) and looked up by the
//! exact bytes the host sends. A handler runs without the registry's lock held, so a handler
//! may itself register handlers without deadlocking.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::{GuestError, HandlerResult};

/// A registered handler. Plain `fn(&[u8]) -> HandlerResult<Vec<u8>>` items and closures both fit.
type Handler = Arc<dyn Fn(&[u8]) -> HandlerResult<Vec<u8>> + Send + Sync>;

/// Operation name → handler. The process-wide instance behind [`register`] is [`REGISTRY`];
/// tests build their own.
pub(crate) struct Registry {
    handlers: Mutex<BTreeMap<Vec<u8>, Handler>>,
}

impl Registry {
    pub(crate) const fn new() -> Self {
        Self {
            handlers: Mutex::new(BTreeMap::new()),
        }
    }

    /// Registers `handler` for `operation`, replacing any earlier one (as wapc-guest does).
    pub(crate) fn register<F>(&self, operation: &str, handler: F)
    where
        F: Fn(&[u8]) -> HandlerResult<Vec<u8>> + Send + Sync + 'static,
    {
        // A poisoned lock only means a handler panicked while registering (native tests);
        // the map itself is always consistent, so keep using it.
        let mut handlers = self.handlers.lock().unwrap_or_else(PoisonError::into_inner);
        handlers.insert(operation.as_bytes().to_vec(), Arc::new(handler));
    }

    /// Runs the handler for `operation` on `payload`.
    pub(crate) fn dispatch(&self, operation: &[u8], payload: &[u8]) -> Result<Vec<u8>, GuestError> {
        let handler = {
            let handlers = self.handlers.lock().unwrap_or_else(PoisonError::into_inner);
            handlers.get(operation).cloned()
        };
        match handler {
            Some(handler) => handler(payload).map_err(GuestError::from),
            None => Err(GuestError::NoHandler {
                operation: String::from_utf8_lossy(operation).into_owned(),
            }),
        }
    }
}

/// The registry `__guest_call` dispatches to.
pub(crate) static REGISTRY: Registry = Registry::new();

/// Registers `handler` to answer the waPC operation `operation`.
///
/// Call it from `wapc_init` (which the host runs once after instantiation). Registering the same
/// name again replaces the earlier handler. The first call also installs the SDK's panic hook,
/// which sends a panic's message and location to the host's log before the module aborts.
///
/// ```
/// use caplet_guest::HandlerResult;
///
/// fn echo(payload: &[u8]) -> HandlerResult<Vec<u8>> {
///     Ok(payload.to_vec())
/// }
///
/// caplet_guest::register("echo", echo);
/// caplet_guest::register("len", |payload: &[u8]| Ok(payload.len().to_string().into_bytes()));
/// assert_eq!(caplet_guest::invoke("len", b"four").unwrap(), b"4");
/// ```
pub fn register<F>(operation: &str, handler: F)
where
    F: Fn(&[u8]) -> HandlerResult<Vec<u8>> + Send + Sync + 'static,
{
    crate::panic::install_hook();
    REGISTRY.register(operation, handler);
}

/// Runs the handler registered for `operation` exactly as `__guest_call` would, but without the
/// waPC ABI. Meant for native unit tests of an actor's handlers.
///
/// # Errors
/// [`GuestError::NoHandler`] if nothing is registered under `operation`, or
/// [`GuestError::Handler`] with the handler's message.
pub fn invoke(operation: &str, payload: &[u8]) -> Result<Vec<u8>, GuestError> {
    REGISTRY.dispatch(operation.as_bytes(), payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::HandlerError;

    fn echo(payload: &[u8]) -> HandlerResult<Vec<u8>> {
        Ok(payload.to_vec())
    }

    fn fail(payload: &[u8]) -> HandlerResult<Vec<u8>> {
        Err(HandlerError::new(String::from_utf8_lossy(payload)))
    }

    #[test]
    fn dispatches_by_exact_operation_name() {
        let registry = Registry::new();
        registry.register("echo", echo);
        assert_eq!(registry.dispatch(b"echo", b"hi").unwrap(), b"hi");
        assert_eq!(
            registry.dispatch(b"Echo", b"hi").unwrap_err(),
            GuestError::NoHandler {
                operation: "Echo".into()
            }
        );
    }

    #[test]
    fn handler_errors_keep_their_text() {
        let registry = Registry::new();
        registry.register("fail", fail);
        assert_eq!(
            registry.dispatch(b"fail", b"nope").unwrap_err(),
            GuestError::Handler("nope".into())
        );
    }

    #[test]
    fn closures_can_capture_state() {
        let registry = Registry::new();
        let prefix = b"v2:".to_vec();
        registry.register("tag", move |payload: &[u8]| {
            Ok([prefix.as_slice(), payload].concat())
        });
        assert_eq!(registry.dispatch(b"tag", b"x").unwrap(), b"v2:x");
    }

    #[test]
    fn registering_again_replaces_the_handler() {
        let registry = Registry::new();
        registry.register("op", echo);
        registry.register("op", fail);
        assert!(registry.dispatch(b"op", b"x").is_err());
    }

    #[test]
    fn a_handler_may_register_handlers() {
        static NESTED: Registry = Registry::new();
        NESTED.register("install", |_: &[u8]| {
            NESTED.register("late", echo);
            Ok(Vec::new())
        });
        NESTED.dispatch(b"install", b"").unwrap();
        assert_eq!(NESTED.dispatch(b"late", b"ok").unwrap(), b"ok");
    }

    #[test]
    fn invalid_utf8_operation_names_are_reported_lossily() {
        let registry = Registry::new();
        let err = registry.dispatch(b"op\xff", b"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "No handler registered for function op\u{fffd}"
        );
    }

    #[test]
    fn global_register_and_invoke() {
        register("registry-test-echo", echo);
        assert_eq!(invoke("registry-test-echo", b"abc").unwrap(), b"abc");
    }
}
