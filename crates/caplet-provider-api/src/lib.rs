//! The seam between the Caplet host and its capability providers.
//!
//! A provider implements one contract (`wasmcloud:keyvalue`, ...) behind [`Provider`]. The host
//! owns its lifecycle: it binds and unbinds actors with their link values, hands it the host
//! calls that passed the capability and link checks, asks for its health and shuts it down.
//! Providers that drive actors (an HTTP server, a message subscription) get an
//! [`ActorDispatcher`] when they are built and always call actors *through the host*, so policy,
//! limits and hot swap apply to every call.
//!
//! This crate knows no runtime, no wasmtime and no async executor: everything is a boxed
//! `Send` future, so providers compile and test without the engine, and a provider living in
//! another process (later, over NATS) can sit behind the same trait.

mod dispatch;
mod error;
mod link;
pub mod snapshot;

use std::future::Future;
use std::pin::Pin;

pub use dispatch::{ActorDispatcher, DispatchError};
pub use error::ProviderError;
pub use link::{ActorRef, LinkDefinition, LinkValues, ProviderCall, ProviderConfig};

/// A boxed, sendable future: what every method of [`Provider`] and [`ActorDispatcher`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A capability provider.
///
/// Every method may be called concurrently from many tasks. `handle` is on the hot path of
/// actor calls: it must not block a thread and should fail fast (with
/// [`ProviderError::Unavailable`]) when its backend is down rather than wait for it.
pub trait Provider: Send + Sync + 'static {
    /// The contract id it serves, canonical form (`wasmcloud:keyvalue`).
    fn contract_id(&self) -> &str;

    /// The implementation's short name (`memory`, `redis`, `nats`, ...), for inventories and logs.
    fn implementation(&self) -> &str;

    /// Binds an actor with the link's values. Called again with new values when a link changes.
    /// An error means the link is refused; the host reports it and keeps the actor unbound.
    fn bind(&self, link: LinkDefinition) -> BoxFuture<'_, Result<(), ProviderError>>;

    /// Releases everything held for (actor, link name): listeners, subscriptions, state.
    fn unbind<'a>(&'a self, actor: &'a ActorRef, link_name: &'a str) -> BoxFuture<'a, ()>;

    /// Moves a binding to a new actor identity: `link` (its actor the new identity) replaces
    /// the binding of `previous` through the same link name. The host calls it when an update
    /// changes the actor's module key (`force_new_identity`). The default binds the new
    /// identity, then unbinds the old one, so calls keep finding a binding; a provider whose
    /// bindings own an exclusive resource (a listening address) overrides it to hand the
    /// resource over in place.
    fn rebind<'a>(
        &'a self,
        previous: &'a ActorRef,
        link: LinkDefinition,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let link_name = link.link_name.clone();
            self.bind(link).await?;
            self.unbind(previous, &link_name).await;
            Ok(())
        })
    }

    /// Serves one host call that the host has already authorised. The result bytes go back to
    /// the guest as its host response; an error's text reaches the guest as its host error.
    fn handle<'a>(
        &'a self,
        call: ProviderCall<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>>;

    /// Whether the provider can serve now. `Err` holds the reason, shown by health endpoints.
    fn health(&self) -> BoxFuture<'_, Result<(), String>>;

    /// Stops accepting work, finishes or cancels what is in flight, and releases resources.
    /// Called once, when the provider is removed or the host stops.
    fn shutdown(&self) -> BoxFuture<'_, ()>;
}
