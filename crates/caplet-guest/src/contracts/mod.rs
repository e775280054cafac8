//! Typed capability clients and typed handler helpers, one file per contract.
//!
//! Clients encode the contract's MessagePack message (from `caplet-wire`, the same types the host
//! and providers use), call [`host_call`] with the link name and contract id, and decode the
//! answer, so an actor never touches bytes. Handler helpers do the reverse for the operations a
//! provider calls on the actor (`HttpServer.HandleRequest`, `Messaging.HandleMessage`, ...).

pub mod health;
pub mod httpclient;
pub mod httpserver;
pub mod keyvalue;
pub mod logging;
pub mod messaging;
pub mod numbergen;

#[cfg(test)]
mod tests;

use std::borrow::Cow;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{GuestError, HandlerError, HandlerResult};
use crate::host::host_call;

/// The link name clients use unless told otherwise (`kv()` rather than `kv_on("cache")`).
pub const DEFAULT_LINK: &str = "default";

/// A client's link name: the default one borrowed, so `kv()`, `msg()` and `http_client()`,
/// made afresh on every request by most actors, allocate nothing.
type LinkName = Cow<'static, str>;

fn link_name(link: &str) -> LinkName {
    if link == DEFAULT_LINK {
        Cow::Borrowed(DEFAULT_LINK)
    } else {
        Cow::Owned(link.to_owned())
    }
}

/// Encodes `input`, calls `operation` of `contract` through `link`, returns the raw answer.
fn call<I: Serialize + ?Sized>(
    link: &str,
    contract: &str,
    operation: &str,
    input: &I,
) -> Result<Vec<u8>, GuestError> {
    let payload = caplet_wire::encode(input).map_err(|error| GuestError::Encode {
        operation: operation.to_owned(),
        reason: error.to_string(),
    })?;
    host_call(link, contract, operation, &payload)
}

/// [`call`], then decodes the answer as `O`.
fn call_for<I: Serialize + ?Sized, O: DeserializeOwned>(
    link: &str,
    contract: &str,
    operation: &str,
    input: &I,
) -> Result<O, GuestError> {
    let answer = call(link, contract, operation, input)?;
    decode_answer(operation, &answer)
}

/// Decodes the host's answer to `operation`.
fn decode_answer<O: DeserializeOwned>(operation: &str, answer: &[u8]) -> Result<O, GuestError> {
    caplet_wire::decode(answer).map_err(|error| GuestError::Decode {
        operation: operation.to_owned(),
        reason: error.to_string(),
    })
}

/// Decodes what a provider sent to the actor's handler for `operation`.
fn decode_request<T: DeserializeOwned>(operation: &str, payload: &[u8]) -> HandlerResult<T> {
    caplet_wire::decode(payload).map_err(|error| request_error(operation, &error))
}

/// The handler error for a request that does not decode.
fn request_error(operation: &str, error: &caplet_wire::WireError) -> HandlerError {
    HandlerError::new(format!(
        "{operation}: cannot decode the request ({error}); the caller must send the \
         contract's MessagePack message"
    ))
}

/// Encodes a handler's answer to `operation`.
fn encode_response<T: Serialize>(operation: &str, response: &T) -> HandlerResult<Vec<u8>> {
    caplet_wire::encode(response).map_err(|error| {
        HandlerError::new(format!("{operation}: cannot encode the response ({error})"))
    })
}
