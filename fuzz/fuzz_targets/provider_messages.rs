//! Fuzzes every decoder of guest-supplied provider messages: `caplet_wire::decode` for every
//! message type (MessagePack from a guest is untrusted), then the memory key-value and local
//! messaging providers' `handle` with an arbitrary operation and payload, as a bound actor
//! would call them. Errors are expected; panics are bugs.
//!
//! The first byte picks the operation (a known one, or the next bytes as a free-form name), the
//! rest is the payload. Each input gets fresh providers, so a crash reproduces from one input.

#![no_main]

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use caplet_provider_api::{
    ActorDispatcher, ActorRef, BoxFuture, DispatchError, LinkDefinition, Provider, ProviderCall,
};
use caplet_wire::{
    decode, health, httpclient, httpserver, keyvalue, logging, messaging, numbergen,
};
use libfuzzer_sys::fuzz_target;

const KV_OPS: &[&str] = &[
    keyvalue::GET,
    keyvalue::SET,
    keyvalue::DEL,
    keyvalue::INCREMENT,
    keyvalue::CONTAINS,
    keyvalue::LIST_ADD,
    keyvalue::LIST_CLEAR,
    keyvalue::LIST_DEL,
    keyvalue::LIST_RANGE,
    keyvalue::SET_ADD,
    keyvalue::SET_DEL,
    keyvalue::SET_UNION,
    keyvalue::SET_INTERSECTION,
    keyvalue::SET_QUERY,
    keyvalue::SET_CLEAR,
    keyvalue::legacy::GET,
    keyvalue::legacy::SET,
    keyvalue::legacy::ADD,
    keyvalue::legacy::DEL,
    keyvalue::legacy::CLEAR,
    keyvalue::legacy::RANGE,
    keyvalue::legacy::PUSH,
    keyvalue::legacy::LIST_ITEM_DELETE,
    keyvalue::legacy::SET_ADD,
    keyvalue::legacy::SET_REMOVE,
    keyvalue::legacy::SET_UNION,
    keyvalue::legacy::SET_INTERSECTION,
    keyvalue::legacy::SET_QUERY,
    keyvalue::legacy::KEY_EXISTS,
];

const MESSAGING_OPS: &[&str] = &[
    messaging::PUBLISH,
    messaging::REQUEST,
    messaging::HANDLE_MESSAGE,
    messaging::WASMBUS_HANDLE_MESSAGE,
];

/// Providers call actors back (a messaging request to a subscriber); here nobody answers.
struct Nobody;

impl ActorDispatcher for Nobody {
    fn call_actor<'a>(
        &'a self,
        actor: &'a ActorRef,
        _operation: &'a str,
        _payload: Vec<u8>,
    ) -> BoxFuture<'a, Result<Vec<u8>, DispatchError>> {
        Box::pin(async move {
            Err(DispatchError::ActorNotRunning(format!(
                "{} is not running",
                actor.name
            )))
        })
    }
}

static TOKIO: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio")
});

fn decode_all(bytes: &[u8]) {
    use keyvalue::legacy;
    let _ = decode::<String>(bytes);
    let _ = decode::<Vec<String>>(bytes);
    let _ = decode::<keyvalue::GetResponse>(bytes);
    let _ = decode::<keyvalue::SetRequest>(bytes);
    let _ = decode::<keyvalue::IncrementRequest>(bytes);
    let _ = decode::<keyvalue::ListAddRequest>(bytes);
    let _ = decode::<keyvalue::ListDelRequest>(bytes);
    let _ = decode::<keyvalue::ListRangeRequest>(bytes);
    let _ = decode::<keyvalue::SetAddRequest>(bytes);
    let _ = decode::<keyvalue::SetDelRequest>(bytes);
    let _ = decode::<legacy::KeyArgs>(bytes);
    let _ = decode::<legacy::SetArgs>(bytes);
    let _ = decode::<legacy::AddArgs>(bytes);
    let _ = decode::<legacy::KeyValueArgs>(bytes);
    let _ = decode::<legacy::RangeArgs>(bytes);
    let _ = decode::<legacy::KeysArgs>(bytes);
    let _ = decode::<legacy::SetResponse>(bytes);
    let _ = decode::<legacy::AddResponse>(bytes);
    let _ = decode::<legacy::DelResponse>(bytes);
    let _ = decode::<legacy::ListRangeResponse>(bytes);
    let _ = decode::<legacy::ListResponse>(bytes);
    let _ = decode::<legacy::SetOperationResponse>(bytes);
    let _ = decode::<legacy::SetQueryResponse>(bytes);
    let _ = decode::<messaging::PubMessage>(bytes);
    let _ = decode::<messaging::RequestMessage>(bytes);
    let _ = decode::<messaging::ReplyMessage>(bytes);
    let _ = decode::<messaging::SubMessage>(bytes);
    let _ = decode::<httpserver::HttpRequest>(bytes);
    let _ = decode::<httpserver::HttpResponse>(bytes);
    let _ = decode::<httpclient::HttpRequest>(bytes);
    let _ = decode::<httpclient::HttpResponse>(bytes);
    let _ = decode::<caplet_wire::HeaderMap>(bytes);
    let _ = decode::<logging::LogEntry>(bytes);
    let _ = decode::<numbergen::RangeLimit>(bytes);
    let _ = decode::<health::HealthCheckRequest>(bytes);
    let _ = decode::<health::HealthCheckResponse>(bytes);
}

fn actor() -> ActorRef {
    ActorRef {
        id: Arc::from("MFUZZ"),
        name: Arc::from("fuzz"),
    }
}

async fn call_provider(provider: &dyn Provider, operation: String, payload: &[u8]) {
    let link = LinkDefinition {
        actor: actor(),
        contract_id: provider.contract_id().to_string(),
        link_name: "default".to_string(),
        values: BTreeMap::new(),
    };
    if provider.bind(link).await.is_err() {
        return;
    }
    let caller = actor();
    let call = ProviderCall {
        actor: &caller,
        link_name: "default",
        operation: &operation,
        payload,
    };
    let _ = provider.handle(call).await;
    provider.shutdown().await;
}

fn pick(ops: &[&str], selector: u8, rest: &[u8]) -> (String, usize) {
    match ops.get(usize::from(selector)) {
        Some(op) => ((*op).to_string(), 0),
        None => {
            // A free-form operation: the next bytes up to a NUL.
            let end = rest
                .iter()
                .position(|b| *b == 0)
                .unwrap_or(rest.len())
                .min(64);
            (String::from_utf8_lossy(&rest[..end]).into_owned(), end)
        }
    }
}

fuzz_target!(|data: &[u8]| {
    decode_all(data);
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    TOKIO.block_on(async {
        if selector < 128 {
            let (operation, used) = pick(KV_OPS, selector % 40, rest);
            let payload = rest.get(used..).unwrap_or_default();
            if let Ok(kv) = caplet_kv::MemoryKeyValue::new(&BTreeMap::new()) {
                call_provider(&kv, operation, payload).await;
            }
        } else {
            let (operation, used) = pick(MESSAGING_OPS, (selector - 128) % 8, rest);
            let payload = rest.get(used..).unwrap_or_default();
            if let Ok(local) =
                caplet_messaging::LocalMessaging::new(&BTreeMap::new(), Arc::new(Nobody))
            {
                call_provider(&local, operation, payload).await;
            }
        }
    });
});
