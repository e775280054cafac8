//! One operation table for both backends and both wire generations.
//!
//! Each call is decoded from MessagePack, checked against the limits, served by a [`Backend`]
//! primitive and encoded back, so the memory and Redis providers cannot drift apart in what
//! they accept, what they answer or how their errors read.

use caplet_provider_api::ProviderError;
use caplet_wire::keyvalue::{self as kv, borrowed, legacy};
use serde::{Deserialize, Serialize};

use crate::MAX_KEY_BYTES;
use crate::backend::{Backend, Limits};

/// Every operation served: the wasmbus `KeyValue.*` ones, then the legacy ones.
pub(crate) const OPERATIONS: &[&str] = &[
    kv::GET,
    kv::SET,
    kv::DEL,
    kv::INCREMENT,
    kv::CONTAINS,
    kv::LIST_ADD,
    kv::LIST_CLEAR,
    kv::LIST_DEL,
    kv::LIST_RANGE,
    kv::SET_ADD,
    kv::SET_DEL,
    kv::SET_UNION,
    kv::SET_INTERSECTION,
    kv::SET_QUERY,
    kv::SET_CLEAR,
    legacy::GET,
    legacy::SET,
    legacy::ADD,
    legacy::DEL,
    legacy::CLEAR,
    legacy::RANGE,
    legacy::PUSH,
    legacy::LIST_ITEM_DELETE,
    legacy::SET_ADD,
    legacy::SET_REMOVE,
    legacy::SET_UNION,
    legacy::SET_INTERSECTION,
    legacy::SET_QUERY,
    legacy::KEY_EXISTS,
];

const BARE_KEY: &str = "the key as a MessagePack string";
const BARE_KEYS: &str = "the set names as a MessagePack array of strings";

/// Serves `operation` with `payload` on `backend`; the bytes are the encoded response.
pub(crate) async fn dispatch<B: Backend>(
    backend: &B,
    limits: Limits,
    operation: &str,
    payload: &[u8],
) -> Result<Vec<u8>, ProviderError> {
    let op = Op {
        name: operation,
        limits,
    };
    match operation {
        kv::GET => {
            let key: &str = op.decode(payload, BARE_KEY)?;
            op.check_key(key)?;
            op.encode(&get_response(backend.get(key).await.ctx(&op)?))
        }
        kv::SET => {
            let req: borrowed::SetRequest = op.decode(payload, "a SetRequest")?;
            op.check_write(req.key, req.value)?;
            backend
                .set(req.key, req.value, req.expires)
                .await
                .ctx(&op)?;
            Ok(Vec::new())
        }
        kv::DEL | kv::LIST_CLEAR | kv::SET_CLEAR => {
            let key: &str = op.decode(payload, BARE_KEY)?;
            op.check_key(key)?;
            op.encode(&backend.del(key).await.ctx(&op)?)
        }
        kv::INCREMENT => {
            let req: borrowed::IncrementRequest = op.decode(payload, "an IncrementRequest")?;
            op.check_key(req.key)?;
            let value = backend.incr(req.key, i64::from(req.value)).await.ctx(&op)?;
            op.encode(&op.to_i32(req.key, value)?)
        }
        kv::CONTAINS => {
            let key: &str = op.decode(payload, BARE_KEY)?;
            op.check_key(key)?;
            op.encode(&backend.exists(key).await.ctx(&op)?)
        }
        kv::LIST_ADD => {
            let req: borrowed::ListItemRequest = op.decode(payload, "a ListAddRequest")?;
            op.check_write(req.list_name, req.value)?;
            let length = backend.list_push(req.list_name, req.value).await.ctx(&op)?;
            op.encode(&saturate_u32(length))
        }
        kv::LIST_DEL => {
            let req: borrowed::ListItemRequest = op.decode(payload, "a ListDelRequest")?;
            op.check_key(req.list_name)?;
            let (removed, _) = backend
                .list_remove(req.list_name, req.value)
                .await
                .ctx(&op)?;
            op.encode(&(removed > 0))
        }
        kv::LIST_RANGE => {
            let req: borrowed::ListRangeRequest = op.decode(payload, "a ListRangeRequest")?;
            op.check_key(req.list_name)?;
            let (start, stop) = (i64::from(req.start), i64::from(req.stop));
            op.encode(
                &backend
                    .list_range(req.list_name, start, stop)
                    .await
                    .ctx(&op)?,
            )
        }
        kv::SET_ADD => {
            let req: borrowed::SetItemRequest = op.decode(payload, "a SetAddRequest")?;
            op.check_write(req.set_name, req.value)?;
            let (added, _) = backend.set_add(req.set_name, req.value).await.ctx(&op)?;
            op.encode(&saturate_u32(added))
        }
        kv::SET_DEL => {
            let req: borrowed::SetItemRequest = op.decode(payload, "a SetDelRequest")?;
            op.check_key(req.set_name)?;
            let (removed, _) = backend.set_remove(req.set_name, req.value).await.ctx(&op)?;
            op.encode(&saturate_u32(removed))
        }
        kv::SET_UNION | kv::SET_INTERSECTION => {
            let sets: Vec<String> = op.decode(payload, BARE_KEYS)?;
            op.encode(&set_combine(backend, &op, &sets, operation == kv::SET_UNION).await?)
        }
        kv::SET_QUERY => {
            let key: &str = op.decode(payload, BARE_KEY)?;
            op.check_key(key)?;
            op.encode(&backend.set_members(key).await.ctx(&op)?)
        }
        legacy::GET => {
            let args: legacy::KeyArgs = op.decode(payload, "a GetArgs {key}")?;
            op.check_key(&args.key)?;
            op.encode(&get_response(backend.get(&args.key).await.ctx(&op)?))
        }
        legacy::SET => {
            let args: legacy::SetArgs = op.decode(payload, "a SetArgs {key, value, expires}")?;
            op.check_write(&args.key, &args.value)?;
            let expires = u32::try_from(args.expires).unwrap_or(0);
            backend
                .set(&args.key, &args.value, expires)
                .await
                .ctx(&op)?;
            op.encode(&legacy::SetResponse { value: args.value })
        }
        legacy::ADD => {
            let args: legacy::AddArgs = op.decode(payload, "an AddArgs {key, value}")?;
            op.check_key(&args.key)?;
            let value = backend
                .incr(&args.key, i64::from(args.value))
                .await
                .ctx(&op)?;
            let value = op.to_i32(&args.key, value)?;
            op.encode(&legacy::AddResponse { value })
        }
        legacy::DEL | legacy::CLEAR => {
            let args: legacy::KeyArgs = op.decode(payload, "a DelArgs {key}")?;
            op.check_key(&args.key)?;
            backend.del(&args.key).await.ctx(&op)?;
            op.encode(&legacy::DelResponse { key: args.key })
        }
        legacy::RANGE => {
            let args: legacy::RangeArgs = op.decode(payload, "a RangeArgs {key, start, stop}")?;
            op.check_key(&args.key)?;
            let (start, stop) = (i64::from(args.start), i64::from(args.stop));
            let values = backend.list_range(&args.key, start, stop).await.ctx(&op)?;
            op.encode(&legacy::ListRangeResponse { values })
        }
        legacy::PUSH => {
            let args: legacy::KeyValueArgs = op.decode(payload, "a PushArgs {key, value}")?;
            op.check_write(&args.key, &args.value)?;
            let length = backend.list_push(&args.key, &args.value).await.ctx(&op)?;
            op.encode(&legacy::ListResponse {
                new_count: saturate_i32(length),
            })
        }
        legacy::LIST_ITEM_DELETE => {
            let args: legacy::KeyValueArgs = op.decode(payload, "a ListItemDeleteArgs")?;
            op.check_key(&args.key)?;
            let (_, length) = backend.list_remove(&args.key, &args.value).await.ctx(&op)?;
            op.encode(&legacy::ListResponse {
                new_count: saturate_i32(length),
            })
        }
        legacy::SET_ADD => {
            let args: legacy::KeyValueArgs = op.decode(payload, "a SetAddArgs {key, value}")?;
            op.check_write(&args.key, &args.value)?;
            let (_, size) = backend.set_add(&args.key, &args.value).await.ctx(&op)?;
            op.encode(&legacy::SetOperationResponse {
                new_count: saturate_i32(size),
            })
        }
        legacy::SET_REMOVE => {
            let args: legacy::KeyValueArgs = op.decode(payload, "a SetRemoveArgs")?;
            op.check_key(&args.key)?;
            let (_, size) = backend.set_remove(&args.key, &args.value).await.ctx(&op)?;
            op.encode(&legacy::SetOperationResponse {
                new_count: saturate_i32(size),
            })
        }
        legacy::SET_UNION | legacy::SET_INTERSECTION => {
            let args: legacy::KeysArgs = op.decode(payload, "a KeysArgs {keys}")?;
            let union = operation == legacy::SET_UNION;
            let values = set_combine(backend, &op, &args.keys, union).await?;
            op.encode(&legacy::SetQueryResponse { values })
        }
        legacy::SET_QUERY => {
            let args: legacy::KeyArgs = op.decode(payload, "a SetQueryArgs {key}")?;
            op.check_key(&args.key)?;
            let values = backend.set_members(&args.key).await.ctx(&op)?;
            op.encode(&legacy::SetQueryResponse { values })
        }
        legacy::KEY_EXISTS => {
            let args: legacy::KeyArgs = op.decode(payload, "a KeyExistsArgs {key}")?;
            op.check_key(&args.key)?;
            let exists = backend.exists(&args.key).await.ctx(&op)?;
            op.encode(&kv::GetResponse {
                value: String::new(),
                exists,
            })
        }
        _ => Err(ProviderError::BadRequest(format!(
            "unknown operation \"{}\" for contract {}; supported: {}",
            show(operation),
            caplet_wire::contracts::KEY_VALUE,
            OPERATIONS.join(", ")
        ))),
    }
}

/// Union or intersection of `sets`; no sets gives no members (Redis would refuse the call).
async fn set_combine<B: Backend>(
    backend: &B,
    op: &Op<'_>,
    sets: &[String],
    union: bool,
) -> Result<Vec<String>, ProviderError> {
    for set in sets {
        op.check_key(set)?;
    }
    if sets.is_empty() {
        return Ok(Vec::new());
    }
    if union {
        backend.set_union(sets).await.ctx(op)
    } else {
        backend.set_intersection(sets).await.ctx(op)
    }
}

fn get_response(value: Option<String>) -> kv::GetResponse {
    kv::GetResponse {
        exists: value.is_some(),
        value: value.unwrap_or_default(),
    }
}

fn saturate_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn saturate_i32(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A key or value for an error message: at most 100 characters, then its length.
pub(crate) fn show(text: &str) -> String {
    const SHOWN_CHARS: usize = 100;
    match text.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => format!("{}… ({} bytes)", text.get(..cut).unwrap_or(""), text.len()),
        None => text.to_owned(),
    }
}

/// Prefixes a backend error with the operation, keeping its kind.
trait Context<T> {
    fn ctx(self, op: &Op<'_>) -> Result<T, ProviderError>;
}

impl<T> Context<T> for Result<T, ProviderError> {
    fn ctx(self, op: &Op<'_>) -> Result<T, ProviderError> {
        self.map_err(|error| {
            let name = op.name;
            match error {
                ProviderError::BadRequest(m) => ProviderError::BadRequest(format!("{name}: {m}")),
                ProviderError::Denied(m) => ProviderError::Denied(format!("{name}: {m}")),
                ProviderError::Unavailable(m) => ProviderError::Unavailable(format!("{name}: {m}")),
                ProviderError::NotBound(m) => ProviderError::NotBound(format!("{name}: {m}")),
                ProviderError::Failed(m) => ProviderError::Failed(format!("{name}: {m}")),
            }
        })
    }
}

/// The operation being served, for decoding, limit checks and error texts.
struct Op<'a> {
    name: &'a str,
    limits: Limits,
}

impl Op<'_> {
    fn decode<'p, T: Deserialize<'p>>(
        &self,
        payload: &'p [u8],
        expected: &str,
    ) -> Result<T, ProviderError> {
        caplet_wire::decode(payload).map_err(|e| {
            ProviderError::BadRequest(format!("{}: {e}; the input must be {expected}", self.name))
        })
    }

    fn encode<T: Serialize>(&self, value: &T) -> Result<Vec<u8>, ProviderError> {
        caplet_wire::encode(value).map_err(|e| {
            ProviderError::Failed(format!("{}: encoding the response: {e}", self.name))
        })
    }

    fn check_key(&self, key: &str) -> Result<(), ProviderError> {
        if key.len() > MAX_KEY_BYTES {
            return Err(ProviderError::BadRequest(format!(
                "{}: key \"{}\" is {} bytes, over the {MAX_KEY_BYTES}-byte key limit \
                 (MAX_KEY_BYTES); use a shorter key, e.g. a hash of it",
                self.name,
                show(key),
                key.len()
            )));
        }
        Ok(())
    }

    fn check_write(&self, key: &str, value: &str) -> Result<(), ProviderError> {
        self.check_key(key)?;
        let max = self.limits.max_value_bytes;
        if value.len() > max {
            return Err(ProviderError::BadRequest(format!(
                "{}: the value for key \"{}\" is {} bytes, over the {max}-byte value limit; \
                 store smaller values, or raise the provider config key max_value_bytes",
                self.name,
                show(key),
                value.len()
            )));
        }
        Ok(())
    }

    fn to_i32(&self, key: &str, value: i64) -> Result<i32, ProviderError> {
        i32::try_from(value).map_err(|_| {
            ProviderError::Failed(format!(
                "{}: key \"{}\" now holds {value}, outside the contract's 32-bit result range \
                 (the new value was stored); reset it with Set or use smaller increments",
                self.name,
                show(key)
            ))
        })
    }
}
