//! Every bound of the messaging providers, one constant each.
//!
//! Messages come from guests and from the network, so each queue, wait and size is bounded and
//! each bound is named here; `docs/messaging.md` mirrors this file. None is configurable yet:
//! to change one, change the constant and rebuild.

use std::time::Duration;

/// Largest message body, in bytes: 1 MiB (NATS' default `max_payload`).
///
/// When hit: `Messaging.Publish` and `Messaging.Request` fail with `BadRequest` naming the size;
/// an actor's answer over it is not published to `replyTo` (logged); a message arriving from
/// NATS over it is not delivered (logged). A NATS server with a smaller `max_payload` lowers the
/// bound for NATS. Change: this constant.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Deliveries of one subscription running at once (actor calls in flight): 64.
///
/// When hit: the subscription stops taking messages until a delivery finishes; messages wait
/// in its pending queue ([`MAX_PENDING_PER_SUBSCRIPTION`]). Change: this constant.
pub const MAX_IN_FLIGHT_PER_SUBSCRIPTION: usize = 64;

/// Messages waiting in one subscription's pending queue, not yet delivered: 1 024.
///
/// When hit: new messages for that subscription are dropped and logged (NATS' "slow consumer"
/// behaviour; the NATS client gets it as its `subscription_capacity`). With
/// [`MAX_BODY_BYTES`] this bounds a subscription's memory to about 1 GiB in the worst case.
/// Change: this constant.
pub const MAX_PENDING_PER_SUBSCRIPTION: usize = 1024;

/// Subscriptions one link may list in its `subscriptions` value: 64.
///
/// When hit: the link is refused (`bind` fails with `BadRequest`, `validate_link` reports it).
/// Change: this constant.
pub const MAX_SUBSCRIPTIONS_PER_LINK: usize = 64;

/// Longest subject, reply subject or queue group name, in bytes: 512.
///
/// When hit: the call fails with `BadRequest`, or the link is refused. Change: this constant.
pub const MAX_SUBJECT_BYTES: usize = 512;

/// How long `Messaging.Request` waits for a reply when the request's `timeoutMs` is 0: 2 s.
///
/// When hit: the request fails with `Failed("... got no reply within 2000 ms ...")`. Change:
/// send a non-zero `timeoutMs`, or this constant.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_millis(2000);

/// The longest a request may wait, whatever its `timeoutMs`: 30 s.
///
/// A larger `timeoutMs` is lowered to it. The actor's own call deadline (5 s by default) usually
/// ends the wait sooner. Change: this constant.
pub const MAX_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long deliveries already running may finish after their subscription is cancelled
/// (`unbind`, a rebind, `shutdown`): 5 s.
///
/// When hit: the remaining deliveries are aborted (their actor calls dropped) and logged.
/// `unbind` does not wait for them; `shutdown` does, up to this bound. Change: this constant.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// NATS: how long one connection attempt (TCP, TLS, handshake) may take: 5 s.
///
/// When hit: the attempt fails and the client retries after the reconnect delay. Change: this
/// constant.
pub const NATS_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// NATS: the longest pause between two reconnect attempts: 2 s.
///
/// Attempts start immediately and back off (100 ms, 200 ms, 400 ms, ...) up to this; the client
/// never gives up. Calls fail fast with `Unavailable` meanwhile. Change: this constant.
pub const NATS_MAX_RECONNECT_DELAY: Duration = Duration::from_secs(2);

/// NATS: the server used when the provider config has no `url`.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";
