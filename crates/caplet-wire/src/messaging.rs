//! `wasmcloud:messaging`: publish, request/reply, and subscriptions delivered to the actor
//! (wasmbus `messaging.smithy`).
//!
//! The provider delivers subscribed messages with [`HANDLE_MESSAGE`]. When the actor's answer to
//! a message that has a `replyTo` is not empty, the provider publishes it to `replyTo`, so an
//! actor can serve requests by returning the reply (a Caplet convenience; wasmbus actors that
//! publish the reply themselves work too).

use serde::{Deserialize, Serialize};

/// Publish a [`PubMessage`]; no output.
pub const PUBLISH: &str = "Messaging.Publish";
/// Send a [`RequestMessage`] and wait for the [`ReplyMessage`].
pub const REQUEST: &str = "Messaging.Request";
/// The operation the provider calls on a subscribed actor with a [`SubMessage`].
pub const HANDLE_MESSAGE: &str = "Messaging.HandleMessage";
/// The wasmbus name of [`HANDLE_MESSAGE`]; the Caplet guest SDK registers both.
pub const WASMBUS_HANDLE_MESSAGE: &str = "MessageSubscriber.HandleMessage";

/// A message to publish.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PubMessage {
    /// The subject.
    pub subject: String,
    /// Where replies should go.
    #[serde(rename = "replyTo", default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The body.
    #[serde(with = "serde_bytes", default)]
    pub body: Vec<u8>,
}

/// A request that waits for one reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestMessage {
    /// The subject.
    pub subject: String,
    /// The body.
    #[serde(with = "serde_bytes", default)]
    pub body: Vec<u8>,
    /// How long to wait for the reply, in milliseconds; 0 means the provider's default.
    #[serde(rename = "timeoutMs", default)]
    pub timeout_ms: u32,
}

/// The reply to a [`RequestMessage`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyMessage {
    /// The subject the reply came on.
    pub subject: String,
    /// The reply's own reply subject, if any.
    #[serde(rename = "replyTo", default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The body.
    #[serde(with = "serde_bytes", default)]
    pub body: Vec<u8>,
}

/// A message delivered to a subscribed actor.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubMessage {
    /// The subject it was published on.
    pub subject: String,
    /// Where to send a reply, for requests.
    #[serde(rename = "replyTo", default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// The body.
    #[serde(with = "serde_bytes", default)]
    pub body: Vec<u8>,
}
