//! Memory-provider behaviour the shared suite (`tests/memory.rs`) cannot see from outside:
//! expiry on a paused clock, reclaiming, the byte budget and its accounting, and payloads
//! that must never panic.

use std::sync::Arc;
use std::time::Duration;

use caplet_provider_api::{ActorRef, LinkDefinition, Provider, ProviderCall, ProviderError};
use caplet_wire::keyvalue::{self as kv, legacy};
use serde::Serialize;

use super::store::redis_range;
use super::*;

fn actor(name: &str) -> ActorRef {
    ActorRef {
        id: Arc::from(format!("M{name}")),
        name: Arc::from(name),
    }
}

fn config(pairs: &[(&str, &str)]) -> ProviderConfig {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

async fn provider(pairs: &[(&str, &str)]) -> MemoryKeyValue {
    let provider = MemoryKeyValue::new(&config(pairs)).unwrap();
    provider
        .bind(LinkDefinition {
            actor: actor("a"),
            contract_id: caplet_wire::contracts::KEY_VALUE.to_owned(),
            link_name: "default".to_owned(),
            values: LinkValues::new(),
        })
        .await
        .unwrap();
    provider
}

async fn call<T: Serialize + ?Sized>(
    provider: &MemoryKeyValue,
    operation: &str,
    input: &T,
) -> Result<Vec<u8>, ProviderError> {
    raw(provider, operation, caplet_wire::encode(input).unwrap()).await
}

async fn raw(
    provider: &MemoryKeyValue,
    operation: &str,
    payload: Vec<u8>,
) -> Result<Vec<u8>, ProviderError> {
    provider
        .handle(ProviderCall {
            actor: &actor("a"),
            link_name: "default",
            operation,
            payload: &payload,
        })
        .await
}

async fn set(
    provider: &MemoryKeyValue,
    key: &str,
    value: &str,
    expires: u32,
) -> Result<(), ProviderError> {
    let request = kv::SetRequest {
        key: key.into(),
        value: value.into(),
        expires,
    };
    call(provider, kv::SET, &request).await.map(|_| ())
}

async fn exists(provider: &MemoryKeyValue, key: &str) -> bool {
    caplet_wire::decode(&call(provider, kv::CONTAINS, key).await.unwrap()).unwrap()
}

#[tokio::test(start_paused = true)]
async fn keys_expire_on_the_clock_and_are_reclaimed() {
    let provider = provider(&[]).await;
    set(&provider, "short", "v", 10).await.unwrap();
    set(&provider, "forever", "v", 0).await.unwrap();
    let legacy_set = legacy::SetArgs {
        key: "old".into(),
        value: "v".into(),
        expires: -5, // negative: never, as the legacy providers did
    };
    call(&provider, legacy::SET, &legacy_set).await.unwrap();
    tokio::time::advance(Duration::from_secs(9)).await;
    assert!(exists(&provider, "short").await);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(
        !exists(&provider, "short").await,
        "expired exactly at its deadline"
    );
    assert!(exists(&provider, "forever").await && exists(&provider, "old").await);

    // Many expiring keys: all reclaimed, and their bytes returned, by the next operation.
    let before = provider.used_bytes();
    for i in 0..1_000 {
        set(&provider, &format!("tmp{i}"), "some value", 5)
            .await
            .unwrap();
    }
    assert_eq!(provider.key_count(), 1_002);
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(provider.key_count(), 2);
    assert_eq!(provider.used_bytes(), before);
}

#[tokio::test(start_paused = true)]
async fn increment_keeps_the_expiry_and_set_replaces_it() {
    let provider = provider(&[]).await;
    set(&provider, "n", "1", 10).await.unwrap();
    let request = kv::IncrementRequest {
        key: "n".into(),
        value: 1,
    };
    call(&provider, kv::INCREMENT, &request).await.unwrap();
    tokio::time::advance(Duration::from_secs(10)).await;
    assert!(!exists(&provider, "n").await);
    set(&provider, "m", "1", 10).await.unwrap();
    set(&provider, "m", "2", 100).await.unwrap();
    tokio::time::advance(Duration::from_secs(50)).await;
    assert!(exists(&provider, "m").await);
    assert_eq!(provider.key_count(), 1);
}

#[tokio::test]
async fn a_full_store_refuses_writes_and_changes_nothing() {
    let provider = provider(&[("max_bytes", "4KiB")]).await;
    assert_eq!(provider.max_bytes(), 4096);
    let value = "x".repeat(900);
    let mut stored = 0;
    let error = loop {
        match set(&provider, &format!("k{stored}"), &value, 0).await {
            Ok(()) => stored += 1,
            Err(error) => break error,
        }
    };
    assert_eq!(stored, 4);
    let ProviderError::Failed(message) = &error else {
        panic!("{error:?}");
    };
    assert!(
        message.contains("memory store full") && message.contains("max_bytes"),
        "{message}"
    );
    assert!(message.contains("k4"), "names the key: {message}");
    let used = provider.used_bytes();
    assert!(used <= 4096, "{used}");
    assert_eq!(provider.key_count(), 4, "the refused key was not stored");

    // Every kind of growth is refused; shrinking overwrites and deletes are not.
    let push = kv::ListAddRequest {
        list_name: "list".into(),
        value: value.clone(),
    };
    assert!(call(&provider, kv::LIST_ADD, &push).await.is_err());
    let add = kv::SetAddRequest {
        set_name: "set".into(),
        value: value.clone(),
    };
    assert!(call(&provider, kv::SET_ADD, &add).await.is_err());
    assert!(set(&provider, "k0", &"y".repeat(2000), 0).await.is_err());
    assert_eq!(provider.used_bytes(), used, "failed writes charge nothing");
    set(&provider, "k0", "small", 0).await.unwrap();
    assert!(provider.used_bytes() < used);
    call(&provider, kv::DEL, "k1").await.unwrap();
    set(&provider, "k9", &value, 0).await.unwrap();
    let stored: kv::GetResponse =
        caplet_wire::decode(&call(&provider, kv::GET, "k2").await.unwrap()).unwrap();
    assert_eq!(stored.value, value, "other keys are untouched");
}

#[tokio::test]
async fn accounting_returns_to_zero() {
    let provider = provider(&[]).await;
    for i in 0..50 {
        let item = format!("item{i}");
        let push = kv::ListAddRequest {
            list_name: "list".into(),
            value: item.clone(),
        };
        call(&provider, kv::LIST_ADD, &push).await.unwrap();
        let add = kv::SetAddRequest {
            set_name: "set".into(),
            value: item.clone(),
        };
        call(&provider, kv::SET_ADD, &add).await.unwrap();
        call(&provider, kv::SET_ADD, &add).await.unwrap();
        let incr = kv::IncrementRequest {
            key: "n".into(),
            value: 99_999,
        };
        call(&provider, kv::INCREMENT, &incr).await.unwrap();
        set(&provider, &item, &item, 3600).await.unwrap();
    }
    assert!(provider.used_bytes() > 0);
    for i in 0..50 {
        let item = format!("item{i}");
        let del = kv::ListDelRequest {
            list_name: "list".into(),
            value: item.clone(),
        };
        call(&provider, kv::LIST_DEL, &del).await.unwrap();
        let del = kv::SetDelRequest {
            set_name: "set".into(),
            value: item.clone(),
        };
        call(&provider, kv::SET_DEL, &del).await.unwrap();
        call(&provider, kv::DEL, &item).await.unwrap();
    }
    call(&provider, kv::DEL, "n").await.unwrap();
    assert_eq!(provider.key_count(), 0);
    assert_eq!(provider.used_bytes(), 0);
}

/// A counter is kept as a number (`Value::Int`) but charged as its decimal text, exactly as
/// the same text stored with `Set` is, across sign changes and digit counts.
#[tokio::test]
async fn counters_are_charged_as_their_text() {
    let counter = provider(&[]).await;
    let text = provider(&[]).await;
    let mut value = 0i64;
    for by in [7, 93, -1_100, -999_000, 5_000_000, i32::MIN, i32::MAX] {
        let incr = kv::IncrementRequest {
            key: "n".into(),
            value: by,
        };
        call(&counter, kv::INCREMENT, &incr).await.unwrap();
        value += i64::from(by);
        set(&text, "n", &value.to_string(), 0).await.unwrap();
        assert_eq!(counter.used_bytes(), text.used_bytes(), "at {value}");
    }
}

#[tokio::test]
async fn max_value_bytes_is_configurable() {
    let provider = provider(&[("max_value_bytes", "10")]).await;
    set(&provider, "k", "0123456789", 0).await.unwrap();
    let error = set(&provider, "k", "0123456789a", 0).await.unwrap_err();
    assert!(
        matches!(&error, ProviderError::BadRequest(m) if m.contains("10-byte")),
        "{error:?}"
    );
}

#[tokio::test]
async fn arbitrary_payloads_never_panic() {
    let provider = provider(&[]).await;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let valid = [
        caplet_wire::encode("key").unwrap(),
        caplet_wire::encode(&kv::ListRangeRequest {
            list_name: "l".into(),
            start: i32::MIN,
            stop: i32::MAX,
        })
        .unwrap(),
        caplet_wire::encode(&legacy::KeysArgs {
            keys: vec!["a".into(); 3],
        })
        .unwrap(),
    ];
    for operation in crate::OPERATIONS {
        for round in 0..200 {
            let mut payload: Vec<u8> = match round % 3 {
                0 => (0..next() % 64).map(|_| next() as u8).collect(),
                _ => valid[(next() % 3) as usize].clone(),
            };
            if round % 3 == 2 && !payload.is_empty() {
                let at = (next() as usize) % payload.len();
                payload[at] = next() as u8; // corrupt one byte
                payload.truncate(payload.len() - (next() as usize) % 3);
            }
            // Any answer is fine; panicking or hanging is not.
            let _ = raw(&provider, operation, payload).await;
        }
    }
}

#[tokio::test]
async fn unbound_links_and_shutdown_are_refused() {
    let provider = provider(&[]).await;
    let (caller, payload) = (actor("b"), caplet_wire::encode("k").unwrap());
    let call = ProviderCall {
        actor: &caller,
        link_name: "default",
        operation: kv::GET,
        payload: &payload,
    };
    let error = provider.handle(call).await.unwrap_err();
    assert!(
        matches!(&error, ProviderError::NotBound(m) if m.contains("memory")),
        "{error:?}"
    );
    assert_eq!(provider.health().await, Ok(()));
    set(&provider, "k", "v", 0).await.unwrap();
    provider.shutdown().await;
    assert!(matches!(
        set(&provider, "k", "v", 0).await,
        Err(ProviderError::Unavailable(_))
    ));
    assert!(provider.health().await.is_err());
    assert_eq!(provider.key_count(), 0, "shutdown released the data");
}

#[test]
fn config_is_validated() {
    assert!(validate_config(&config(&[("max_bytes", "1GiB"), ("MAX_VALUE_BYTES", "1")])).is_ok());
    let error = validate_config(&config(&[("maxbytes", "1")])).unwrap_err();
    assert!(
        error.contains("`maxbytes`") && error.contains("`max_bytes`"),
        "{error}"
    );
    let error = MemoryKeyValue::new(&config(&[("max_bytes", "lots")])).unwrap_err();
    assert!(
        error.contains("max_bytes") && error.contains("MiB"),
        "{error}"
    );
    assert!(validate_link(&config(&[("url", "anything")])).is_ok());
    let provider = MemoryKeyValue::new(&config(&[])).unwrap();
    assert_eq!(provider.max_bytes(), crate::DEFAULT_MAX_BYTES);
    assert_eq!(provider.contract_id(), "wasmcloud:keyvalue");
    assert_eq!(provider.implementation(), "memory");
}

#[test]
fn ranges_follow_redis_lrange() {
    let cases = [
        ((5, 0, -1), Some((0, 4))),
        ((5, 1, 2), Some((1, 2))),
        ((5, -2, -1), Some((3, 4))),
        ((5, -100, 0), Some((0, 0))),
        ((5, 3, 100), Some((3, 4))),
        ((5, 3, 1), None),
        ((5, 5, 9), None),
        ((5, 0, -6), None),
        ((0, 0, -1), None),
        ((1, i64::from(i32::MIN), i64::from(i32::MAX)), Some((0, 0))),
    ];
    for ((len, start, stop), expected) in cases {
        assert_eq!(
            redis_range(len, start, stop),
            expected,
            "{len} {start}..={stop}"
        );
    }
}
