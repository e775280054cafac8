//! The seam between a guest and whoever serves its host calls.
//!
//! The runtime knows nothing of providers, links or claims: every `__host_call` becomes a
//! [`HostCall`] handed to a [`HostCallHandler`] that the caller supplies with each invocation
//! (the host's router, or the standalone handler of `caplet call`). The handler is async, so a
//! guest waiting on Redis or another actor parks its fiber instead of blocking a thread.

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future, the return type of [`HostCallHandler::host_call`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One guest→host call, exactly as the guest made it.
///
/// It borrows the instance: the arguments are copied out of guest memory into buffers the
/// instance keeps from call to call, so a host call allocates nothing for them, and a handler
/// copies only what it keeps past its future.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostCall<'a> {
    /// Name of the calling module (as given at load), for errors and logs.
    pub module: &'a str,
    /// The link name; waPC hosts treat a blank binding as `"default"`, and so does this field.
    pub binding: &'a str,
    /// The contract id (`wasmcloud:keyvalue`), an actor's public key, or a call alias.
    pub namespace: &'a str,
    /// The operation, for example `Get` or `KeyValue.Get`.
    pub operation: &'a str,
    /// The payload bytes.
    pub payload: &'a [u8],
}

/// The binding used when a guest passes an empty or blank one.
pub const DEFAULT_BINDING: &str = "default";

/// How a host call failed, typed by its consequence for the guest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostCallError {
    /// The guest sees this text through `__host_error` and decides what to do; the instance
    /// stays healthy. Denials, provider errors and missing capabilities are of this kind.
    Guest(String),
    /// The instance is killed with this reason: the call fails with a trap and the instance is
    /// discarded. For host-side faults after which the guest's state cannot be trusted.
    Trap(String),
}

/// Serves the host calls of one invocation.
pub trait HostCallHandler: Send + Sync {
    /// Handles one host call. The returned bytes become the guest's `__host_response`.
    fn host_call<'a>(&'a self, call: HostCall<'a>)
    -> BoxFuture<'a, Result<Vec<u8>, HostCallError>>;
}

/// A handler for guests that run with no host: every call fails with a message naming the
/// capability that is not available. `caplet call` uses it.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHost;

impl HostCallHandler for NoHost {
    fn host_call<'a>(
        &'a self,
        call: HostCall<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, HostCallError>> {
        Box::pin(async move {
            Err(HostCallError::Guest(format!(
                "capability `{}` is not available: `{}` called operation `{}` on link `{}`, but no \
                 provider is bound in this standalone run (run the actor under `caplet up` with a \
                 provider and a link for `{}`)",
                call.namespace, call.module, call.operation, call.binding, call.namespace
            )))
        })
    }
}
