//! The `wasmcloud:messaging` capability providers: an in-process broker and NATS.
//!
//! [`LocalMessaging`] (implementation `local`) is the embedded default, so a single host runs
//! messaging actors without a server; [`NatsMessaging`] (implementation `nats`) talks to a NATS
//! server through `async-nats`. Both speak NATS subject syntax and semantics, deliver through
//! the host's [`caplet_provider_api::ActorDispatcher`], and are bounded by [`limits`].
//! `docs/messaging.md` is the user's guide.

mod delivery;
mod engine;
pub mod limits;
mod local;
mod nats;
mod settings;
mod subject;

pub use local::LocalMessaging;
pub use nats::NatsMessaging;
pub use settings::{
    CONFIG_URL, LINK_OPERATION, LINK_SUBSCRIPTION_ALIAS, LINK_SUBSCRIPTIONS, validate_config,
    validate_link,
};
