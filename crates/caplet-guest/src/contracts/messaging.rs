//! `wasmcloud:messaging`: publishing and requests (the client), and receiving subscribed messages
//! (the handler helper).
//!
//! A subscribed actor's handler gets each message as a [`SubMessage`]. Returning `Some(reply)`
//! makes it the answer to the delivery; the provider publishes a non-empty answer to the
//! message's `replyTo`, so serving requests needs no explicit publish.

use std::sync::Arc;

use caplet_wire::contracts::MESSAGING;
use caplet_wire::messaging::{self as wire, PubMessage, RequestMessage};
pub use caplet_wire::messaging::{ReplyMessage, SubMessage};

use super::{DEFAULT_LINK, LinkName, call, call_for, decode_request, link_name};
use crate::error::{GuestError, HandlerResult};

/// The messaging provider linked to this actor under the link name `"default"`.
///
/// ```no_run
/// caplet_guest::msg().publish("sensors.t1", br#"{"value":21.5}"#)?;
/// # Ok::<(), caplet_guest::GuestError>(())
/// ```
pub fn msg() -> Messaging {
    msg_on(DEFAULT_LINK)
}

/// The messaging provider linked to this actor under `link`.
pub fn msg_on(link: &str) -> Messaging {
    Messaging {
        link: link_name(link),
    }
}

/// A client for one messaging link. Errors are [`GuestError::Host`] with the host's text, or
/// [`GuestError::Decode`] when a reply is not a `ReplyMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Messaging {
    link: LinkName,
}

impl Messaging {
    /// The link name this client calls through.
    pub fn link(&self) -> &str {
        &self.link
    }

    /// Publishes `body` on `subject`.
    pub fn publish(&self, subject: &str, body: &[u8]) -> Result<(), GuestError> {
        self.publish_message(subject, None, body)
    }

    /// Publishes `body` on `subject`, asking receivers to reply to `reply_to`.
    pub fn publish_with_reply(
        &self,
        subject: &str,
        reply_to: &str,
        body: &[u8],
    ) -> Result<(), GuestError> {
        self.publish_message(subject, Some(reply_to), body)
    }

    /// Sends `body` on `subject` and waits up to `timeout_ms` milliseconds (0: the provider's
    /// default) for one reply.
    pub fn request(
        &self,
        subject: &str,
        body: &[u8],
        timeout_ms: u32,
    ) -> Result<ReplyMessage, GuestError> {
        let request = RequestMessage {
            subject: subject.to_owned(),
            body: body.to_vec(),
            timeout_ms,
        };
        call_for(&self.link, MESSAGING, wire::REQUEST, &request)
    }

    fn publish_message(
        &self,
        subject: &str,
        reply_to: Option<&str>,
        body: &[u8],
    ) -> Result<(), GuestError> {
        let message = PubMessage {
            subject: subject.to_owned(),
            reply_to: reply_to.map(str::to_owned),
            body: body.to_vec(),
        };
        // `Publish` has no output.
        call(&self.link, MESSAGING, wire::PUBLISH, &message).map(drop)
    }
}

/// Registers `handler` for messages from the actor's subscriptions (the link values of its
/// messaging link), under both `Messaging.HandleMessage` and the wasmbus name
/// `MessageSubscriber.HandleMessage`.
///
/// `Ok(Some(reply))` answers the delivery with `reply`, which the provider publishes to the
/// message's `replyTo` when it has one and the reply is not empty; `Ok(None)` answers nothing.
/// A message that is not a `SubMessage` fails with an error naming the operation.
///
/// ```
/// use caplet_guest::{HandlerResult, SubMessage};
///
/// fn on_message(message: SubMessage) -> HandlerResult<Option<Vec<u8>>> {
///     caplet_guest::log!("{} bytes on {}", message.body.len(), message.subject);
///     Ok(message.reply_to.map(|_| b"ok".to_vec()))
/// }
///
/// caplet_guest::register_message_handler(on_message);
/// ```
pub fn register_message_handler<F>(handler: F)
where
    F: Fn(SubMessage) -> HandlerResult<Option<Vec<u8>>> + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    for operation in [wire::HANDLE_MESSAGE, wire::WASMBUS_HANDLE_MESSAGE] {
        let handler = Arc::clone(&handler);
        crate::register(operation, move |payload: &[u8]| {
            let message: SubMessage = decode_request(operation, payload)?;
            Ok(handler(message)?.unwrap_or_default())
        });
    }
}
