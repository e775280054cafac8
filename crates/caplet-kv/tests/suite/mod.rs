//! The operation suite both key-value providers must pass, run through `Provider::handle` with
//! real MessagePack payloads, so the memory store and Redis are held to the same semantics.
//! `suite_tests!(setup)` expands to one test per group for a backend's `setup` function.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use caplet_provider_api::{ActorRef, LinkDefinition, Provider, ProviderCall, ProviderError};
use caplet_wire::keyvalue::{self as kv, GetResponse, legacy};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// One bound actor calling a provider.
#[derive(Clone)]
pub struct Kv {
    pub provider: Arc<dyn Provider>,
    pub actor: ActorRef,
    pub link: String,
}

pub fn actor(name: &str) -> ActorRef {
    ActorRef {
        id: Arc::from(format!("M{}", name.to_uppercase())),
        name: Arc::from(name),
    }
}

impl Kv {
    /// Binds actor `name` through link `default` with `values`.
    pub async fn bind(provider: Arc<dyn Provider>, name: &str, values: &[(&str, &str)]) -> Self {
        let actor = actor(name);
        provider
            .bind(LinkDefinition {
                actor: actor.clone(),
                contract_id: caplet_wire::contracts::KEY_VALUE.to_owned(),
                link_name: "default".to_owned(),
                values: values
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            })
            .await
            .expect("bind");
        Self {
            provider,
            actor,
            link: "default".to_owned(),
        }
    }

    pub async fn raw(&self, operation: &str, payload: Vec<u8>) -> Result<Vec<u8>, ProviderError> {
        self.provider
            .handle(ProviderCall {
                actor: &self.actor,
                link_name: &self.link,
                operation,
                payload: &payload,
            })
            .await
    }

    pub async fn call<I: Serialize + ?Sized, O: DeserializeOwned>(
        &self,
        operation: &str,
        input: &I,
    ) -> Result<O, ProviderError> {
        let bytes = self
            .raw(operation, caplet_wire::encode(input).unwrap())
            .await?;
        Ok(caplet_wire::decode(&bytes).unwrap_or_else(|e| panic!("{operation} response: {e}")))
    }

    pub async fn get(&self, key: &str) -> GetResponse {
        self.call(kv::GET, key).await.unwrap()
    }

    pub async fn try_set(&self, key: &str, value: &str, expires: u32) -> Result<(), ProviderError> {
        let request = kv::SetRequest {
            key: key.into(),
            value: value.into(),
            expires,
        };
        let bytes = self
            .raw(kv::SET, caplet_wire::encode(&request).unwrap())
            .await?;
        assert!(bytes.is_empty(), "Set answers nothing, got {bytes:?}");
        Ok(())
    }

    pub async fn set(&self, key: &str, value: &str) {
        self.try_set(key, value, 0).await.unwrap();
    }

    pub async fn incr(&self, key: &str, value: i32) -> Result<i32, ProviderError> {
        let request = kv::IncrementRequest {
            key: key.into(),
            value,
        };
        self.call(kv::INCREMENT, &request).await
    }

    pub async fn list_add(&self, list: &str, value: &str) -> Result<u32, ProviderError> {
        let request = kv::ListAddRequest {
            list_name: list.into(),
            value: value.into(),
        };
        self.call(kv::LIST_ADD, &request).await
    }

    pub async fn range(&self, list: &str, start: i32, stop: i32) -> Vec<String> {
        let request = kv::ListRangeRequest {
            list_name: list.into(),
            start,
            stop,
        };
        self.call(kv::LIST_RANGE, &request).await.unwrap()
    }

    pub async fn set_add(&self, set: &str, value: &str) -> Result<u32, ProviderError> {
        let request = kv::SetAddRequest {
            set_name: set.into(),
            value: value.into(),
        };
        self.call(kv::SET_ADD, &request).await
    }

    pub async fn members(&self, set: &str) -> Vec<String> {
        sorted(self.call(kv::SET_QUERY, set).await.unwrap())
    }
}

pub fn sorted(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values
}

pub fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

#[track_caller]
pub fn assert_failed<T: std::fmt::Debug>(result: Result<T, ProviderError>, needle: &str) {
    match result {
        Err(ProviderError::Failed(message)) => {
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        }
        other => panic!("expected Failed containing {needle:?}, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_bad_request<T: std::fmt::Debug>(result: Result<T, ProviderError>, needle: &str) {
    match result {
        Err(ProviderError::BadRequest(message)) => {
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        }
        other => panic!("expected BadRequest containing {needle:?}, got {other:?}"),
    }
}

pub async fn strings_group(kv: &Kv) {
    assert_eq!(kv.get("missing").await, GetResponse::default());
    assert!(!kv.call::<_, bool>(kv::CONTAINS, "k").await.unwrap());
    kv.set("k", "v1").await;
    assert_eq!(
        kv.get("k").await,
        GetResponse {
            value: "v1".into(),
            exists: true
        }
    );
    assert!(kv.call::<_, bool>(kv::CONTAINS, "k").await.unwrap());
    kv.set("k", "").await;
    assert_eq!(
        kv.get("k").await,
        GetResponse {
            value: String::new(),
            exists: true
        }
    );
    kv.set("unicode ключ 🔑", "värde").await;
    assert_eq!(kv.get("unicode ключ 🔑").await.value, "värde");
    assert!(kv.call::<_, bool>(kv::DEL, "k").await.unwrap());
    assert!(!kv.call::<_, bool>(kv::DEL, "k").await.unwrap());
    assert!(!kv.get("k").await.exists);
}

pub async fn increment_group(kv: &Kv) {
    assert_eq!(kv.incr("n", 5).await.unwrap(), 5);
    assert_eq!(kv.incr("n", -7).await.unwrap(), -2);
    assert_eq!(kv.get("n").await.value, "-2");
    // A counter is a string to every other operation.
    assert_failed(kv.list_add("n", "x").await, "WRONGTYPE");
    assert_failed(kv.set_add("n", "x").await, "WRONGTYPE");
    assert_eq!(kv.incr("n", 0).await.unwrap(), -2);
    kv.set("n", "40").await;
    assert_eq!(kv.incr("n", 2).await.unwrap(), 42);
    kv.set("word", "forty-two").await;
    assert_failed(kv.incr("word", 1).await, "not an integer");
    assert_eq!(
        kv.get("word").await.value,
        "forty-two",
        "a failed increment changes nothing"
    );
    kv.set("big", &i64::from(i32::MAX).to_string()).await;
    let error = kv.incr("big", 1).await.unwrap_err();
    assert!(error.to_string().contains("32-bit"), "{error}");
}

pub async fn list_group(kv: &Kv) {
    assert_eq!(kv.range("l", 0, -1).await, Vec::<String>::new());
    for (i, value) in ["a", "b", "c", "b", "d"].iter().enumerate() {
        assert_eq!(kv.list_add("l", value).await.unwrap(), i as u32 + 1);
    }
    assert_eq!(
        kv.range("l", 0, -1).await,
        strings(&["a", "b", "c", "b", "d"])
    );
    assert_eq!(kv.range("l", 1, 2).await, strings(&["b", "c"]));
    assert_eq!(kv.range("l", -2, -1).await, strings(&["b", "d"]));
    assert_eq!(kv.range("l", -100, 0).await, strings(&["a"]));
    assert_eq!(kv.range("l", 3, 100).await, strings(&["b", "d"]));
    assert_eq!(kv.range("l", 3, 1).await, Vec::<String>::new());
    assert_eq!(kv.range("l", 5, 9).await, Vec::<String>::new());
    assert_eq!(kv.range("l", 0, -6).await, Vec::<String>::new());
    let del = |value: &str| kv::ListDelRequest {
        list_name: "l".into(),
        value: value.into(),
    };
    assert!(kv.call::<_, bool>(kv::LIST_DEL, &del("b")).await.unwrap());
    assert!(!kv.call::<_, bool>(kv::LIST_DEL, &del("b")).await.unwrap());
    assert_eq!(kv.range("l", 0, -1).await, strings(&["a", "c", "d"]));
    assert!(kv.call::<_, bool>(kv::LIST_CLEAR, "l").await.unwrap());
    assert!(!kv.call::<_, bool>(kv::LIST_CLEAR, "l").await.unwrap());
    assert_eq!(kv.range("l", 0, -1).await, Vec::<String>::new());
    // Removing the last item deletes the list, as Redis does.
    kv.list_add("one", "x").await.unwrap();
    let request = kv::ListDelRequest {
        list_name: "one".into(),
        value: "x".into(),
    };
    assert!(kv.call::<_, bool>(kv::LIST_DEL, &request).await.unwrap());
    assert!(!kv.call::<_, bool>(kv::CONTAINS, "one").await.unwrap());
}

pub async fn set_group(kv: &Kv) {
    assert_eq!(kv.set_add("s1", "a").await.unwrap(), 1);
    assert_eq!(kv.set_add("s1", "a").await.unwrap(), 0);
    kv.set_add("s1", "b").await.unwrap();
    kv.set_add("s1", "c").await.unwrap();
    kv.set_add("s2", "b").await.unwrap();
    kv.set_add("s2", "c").await.unwrap();
    kv.set_add("s2", "z").await.unwrap();
    assert_eq!(kv.members("s1").await, strings(&["a", "b", "c"]));
    assert_eq!(kv.members("nope").await, Vec::<String>::new());
    let names = strings(&["s1", "s2", "nope"]);
    let union: Vec<String> = kv.call(kv::SET_UNION, &names).await.unwrap();
    assert_eq!(sorted(union), strings(&["a", "b", "c", "z"]));
    let inter: Vec<String> = kv.call(kv::SET_INTERSECTION, &names[..2]).await.unwrap();
    assert_eq!(sorted(inter), strings(&["b", "c"]));
    let inter: Vec<String> = kv.call(kv::SET_INTERSECTION, &names).await.unwrap();
    assert_eq!(inter, Vec::<String>::new(), "a missing set is empty");
    let none: Vec<String> = kv.call(kv::SET_UNION, &Vec::<String>::new()).await.unwrap();
    assert!(none.is_empty());
    let del = |value: &str| kv::SetDelRequest {
        set_name: "s1".into(),
        value: value.into(),
    };
    assert_eq!(kv.call::<_, u32>(kv::SET_DEL, &del("a")).await.unwrap(), 1);
    assert_eq!(kv.call::<_, u32>(kv::SET_DEL, &del("a")).await.unwrap(), 0);
    assert!(kv.call::<_, bool>(kv::SET_CLEAR, "s1").await.unwrap());
    assert!(!kv.call::<_, bool>(kv::SET_CLEAR, "s1").await.unwrap());
    assert_eq!(kv.members("s1").await, Vec::<String>::new());
}

pub async fn type_group(kv: &Kv) {
    kv.set("str", "x").await;
    kv.list_add("list", "x").await.unwrap();
    kv.set_add("set", "x").await.unwrap();
    assert_failed(kv.list_add("str", "y").await, "WRONGTYPE");
    assert_failed(kv.set_add("str", "y").await, "WRONGTYPE");
    assert_failed(kv.set_add("list", "y").await, "WRONGTYPE");
    assert_failed(kv.list_add("set", "y").await, "WRONGTYPE");
    assert_failed(
        kv.call::<_, GetResponse>(kv::GET, "list").await,
        "WRONGTYPE",
    );
    assert_failed(kv.incr("set", 1).await, "WRONGTYPE");
    let range = kv::ListRangeRequest {
        list_name: "set".into(),
        start: 0,
        stop: -1,
    };
    assert_failed(
        kv.call::<_, Vec<String>>(kv::LIST_RANGE, &range).await,
        "WRONGTYPE",
    );
    assert_failed(
        kv.call::<_, Vec<String>>(kv::SET_QUERY, "list").await,
        "WRONGTYPE",
    );
    let names = strings(&["set", "str"]);
    assert_failed(
        kv.call::<_, Vec<String>>(kv::SET_UNION, &names).await,
        "WRONGTYPE",
    );
    let remove = kv::ListDelRequest {
        list_name: "str".into(),
        value: "x".into(),
    };
    assert_failed(kv.call::<_, bool>(kv::LIST_DEL, &remove).await, "WRONGTYPE");
    let remove = legacy::KeyValueArgs {
        key: "list".into(),
        value: "x".into(),
    };
    assert_failed(
        kv.call::<_, legacy::SetOperationResponse>(legacy::SET_REMOVE, &remove)
            .await,
        "WRONGTYPE",
    );
    // Nothing was changed by the failures; Set replaces any type, Del removes any type.
    assert_eq!(kv.get("str").await.value, "x");
    assert_eq!(kv.range("list", 0, -1).await, strings(&["x"]));
    kv.set("list", "now a string").await;
    assert_eq!(kv.get("list").await.value, "now a string");
    assert!(kv.call::<_, bool>(kv::DEL, "set").await.unwrap());
}

pub async fn legacy_group(kv: &Kv) {
    let key = |k: &str| legacy::KeyArgs { key: k.into() };
    let kvargs = |k: &str, v: &str| legacy::KeyValueArgs {
        key: k.into(),
        value: v.into(),
    };
    let got: GetResponse = kv.call(legacy::GET, &key("k")).await.unwrap();
    assert!(!got.exists);
    let set = legacy::SetArgs {
        key: "k".into(),
        value: "v".into(),
        expires: 0,
    };
    let response: legacy::SetResponse = kv.call(legacy::SET, &set).await.unwrap();
    assert_eq!(response.value, "v");
    let got: GetResponse = kv.call(legacy::GET, &key("k")).await.unwrap();
    assert_eq!((got.value.as_str(), got.exists), ("v", true));
    let exists: GetResponse = kv.call(legacy::KEY_EXISTS, &key("k")).await.unwrap();
    assert!(exists.exists);
    let deleted: legacy::DelResponse = kv.call(legacy::DEL, &key("k")).await.unwrap();
    assert_eq!(deleted.key, "k");
    let exists: GetResponse = kv.call(legacy::KEY_EXISTS, &key("k")).await.unwrap();
    assert!(!exists.exists);

    let add = legacy::AddArgs {
        key: "n".into(),
        value: 3,
    };
    let added: legacy::AddResponse = kv.call(legacy::ADD, &add).await.unwrap();
    assert_eq!(added.value, 3);
    let added: legacy::AddResponse = kv.call(legacy::ADD, &add).await.unwrap();
    assert_eq!(added.value, 6);

    for (i, v) in ["a", "b", "a"].iter().enumerate() {
        let pushed: legacy::ListResponse = kv.call(legacy::PUSH, &kvargs("l", v)).await.unwrap();
        assert_eq!(pushed.new_count, i as i32 + 1);
    }
    let range = legacy::RangeArgs {
        key: "l".into(),
        start: 0,
        stop: -1,
    };
    let values: legacy::ListRangeResponse = kv.call(legacy::RANGE, &range).await.unwrap();
    assert_eq!(values.values, strings(&["a", "b", "a"]));
    let after: legacy::ListResponse = kv
        .call(legacy::LIST_ITEM_DELETE, &kvargs("l", "a"))
        .await
        .unwrap();
    assert_eq!(after.new_count, 1, "ListItemDelete answers the new length");
    let cleared: legacy::DelResponse = kv.call(legacy::CLEAR, &key("l")).await.unwrap();
    assert_eq!(cleared.key, "l");
    let values: legacy::ListRangeResponse = kv.call(legacy::RANGE, &range).await.unwrap();
    assert!(values.values.is_empty());

    for (set, member, size) in [("s", "a", 1), ("s", "b", 2), ("s", "b", 2), ("t", "b", 1)] {
        let r: legacy::SetOperationResponse = kv
            .call(legacy::SET_ADD, &kvargs(set, member))
            .await
            .unwrap();
        assert_eq!(r.new_count, size, "SetAdd answers the new size");
    }
    let q: legacy::SetQueryResponse = kv.call(legacy::SET_QUERY, &key("s")).await.unwrap();
    assert_eq!(sorted(q.values), strings(&["a", "b"]));
    let keys = legacy::KeysArgs {
        keys: strings(&["s", "t"]),
    };
    let u: legacy::SetQueryResponse = kv.call(legacy::SET_UNION, &keys).await.unwrap();
    assert_eq!(sorted(u.values), strings(&["a", "b"]));
    let i: legacy::SetQueryResponse = kv.call(legacy::SET_INTERSECTION, &keys).await.unwrap();
    assert_eq!(i.values, strings(&["b"]));
    let r: legacy::SetOperationResponse = kv
        .call(legacy::SET_REMOVE, &kvargs("s", "a"))
        .await
        .unwrap();
    assert_eq!(r.new_count, 1);
}

/// Structs encoded as arrays (older rmp-serde) are accepted too.
pub async fn array_encoding_group(kv: &Kv) {
    let request = kv::SetRequest {
        key: "arr".into(),
        value: "yes".into(),
        expires: 0,
    };
    let bytes = kv
        .raw(kv::SET, rmp_serde::to_vec(&request).unwrap())
        .await
        .unwrap();
    assert!(bytes.is_empty());
    let args = legacy::KeyArgs { key: "arr".into() };
    let bytes = kv
        .raw(legacy::GET, rmp_serde::to_vec(&args).unwrap())
        .await
        .unwrap();
    let got: GetResponse = caplet_wire::decode(&bytes).unwrap();
    assert_eq!(got.value, "yes");
}

pub async fn error_group(kv: &Kv) {
    let error = kv.raw("KeyValue.Frobnicate", Vec::new()).await.unwrap_err();
    assert_bad_request::<()>(Err(error.clone()), "KeyValue.Frobnicate");
    assert!(error.to_string().contains("wasmcloud:keyvalue"), "{error}");
    assert!(error.to_string().contains("KeyValue.Get"), "{error}");
    for operation in caplet_kv::OPERATIONS {
        for payload in [vec![], vec![0xc1], vec![0x93, 0x01], vec![0xff; 7]] {
            let result = kv.raw(operation, payload).await;
            assert_bad_request(result, operation);
        }
    }
    let long = "k".repeat(caplet_kv::MAX_KEY_BYTES + 1);
    assert_bad_request(kv.call::<_, GetResponse>(kv::GET, &long).await, "key limit");
    assert_bad_request(kv.try_set(&long, "v", 0).await, "key limit");
    let big = "v".repeat(caplet_kv::DEFAULT_MAX_VALUE_BYTES + 1);
    assert_bad_request(kv.try_set("k", &big, 0).await, "max_value_bytes");
    assert_bad_request(kv.list_add("l", &big).await, "max_value_bytes");
    assert!(!kv.get("k").await.exists, "a refused write changes nothing");
}

/// Keys expire after `expires` seconds (real time: Redis' clock cannot be paused).
pub async fn expiry_group(kv: &Kv) {
    kv.try_set("short", "v", 1).await.unwrap();
    kv.try_set("long", "v", 3600).await.unwrap();
    kv.set("forever", "v").await;
    let legacy_set = legacy::SetArgs {
        key: "legacy".into(),
        value: "v".into(),
        expires: 1,
    };
    let _: legacy::SetResponse = kv.call(legacy::SET, &legacy_set).await.unwrap();
    assert!(kv.get("short").await.exists);
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    assert!(!kv.get("short").await.exists);
    assert!(!kv.call::<_, bool>(kv::CONTAINS, "legacy").await.unwrap());
    assert!(kv.get("long").await.exists);
    assert!(kv.get("forever").await.exists);
    // Set without expiry clears a previous one.
    kv.try_set("k", "v", 1).await.unwrap();
    kv.set("k", "v2").await;
    tokio::time::sleep(Duration::from_millis(1_600)).await;
    assert_eq!(kv.get("k").await.value, "v2");
}

/// Two actors bound to one provider share its keyspace; an unbound one is refused.
pub async fn sharing_group(kv: &Kv) {
    let other = Kv::bind(kv.provider.clone(), "reader", &[]).await;
    kv.set("shared", "hello").await;
    assert_eq!(other.get("shared").await.value, "hello");
    other.incr("hits", 1).await.unwrap();
    assert_eq!(kv.incr("hits", 1).await.unwrap(), 2);
    let stranger = Kv {
        actor: actor("stranger"),
        ..kv.clone()
    };
    match stranger
        .raw(kv::GET, caplet_wire::encode("shared").unwrap())
        .await
    {
        Err(ProviderError::NotBound(message)) => assert!(message.contains("stranger")),
        other => panic!("expected NotBound, got {other:?}"),
    }
    let named = Kv {
        link: "other-link".into(),
        ..kv.clone()
    };
    assert!(matches!(
        named
            .raw(kv::GET, caplet_wire::encode("shared").unwrap())
            .await,
        Err(ProviderError::NotBound(_))
    ));
    other.provider.unbind(&other.actor, "default").await;
    assert!(matches!(
        other
            .raw(kv::GET, caplet_wire::encode("shared").unwrap())
            .await,
        Err(ProviderError::NotBound(_))
    ));
    assert_eq!(
        kv.get("shared").await.value,
        "hello",
        "unbinding keeps the data"
    );
}

/// 200 increments from 200 tasks of two actors: each sees a distinct value, the total is 200.
pub async fn concurrency_group(kv: &Kv) {
    let other = Kv::bind(kv.provider.clone(), "other", &[]).await;
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let kv = if i % 2 == 0 {
                kv.clone()
            } else {
                other.clone()
            };
            tokio::spawn(async move { kv.incr("counter", 1).await.unwrap() })
        })
        .collect();
    let mut seen = Vec::new();
    for task in tasks {
        seen.push(task.await.unwrap());
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=200).collect::<Vec<i32>>(),
        "every increment saw a distinct value"
    );
    assert_eq!(kv.get("counter").await.value, "200");
}

/// One `#[tokio::test]` per group, each with a fresh backend from `$setup().await`, which
/// returns `(Kv, guard)`; the guard (a server) lives until the test ends.
macro_rules! suite_tests {
    ($setup:path) => {
        suite_tests!(@one $setup, strings, strings_group);
        suite_tests!(@one $setup, increment, increment_group);
        suite_tests!(@one $setup, lists, list_group);
        suite_tests!(@one $setup, sets, set_group);
        suite_tests!(@one $setup, type_mismatches, type_group);
        suite_tests!(@one $setup, legacy_operations, legacy_group);
        suite_tests!(@one $setup, array_encoded_structs, array_encoding_group);
        suite_tests!(@one $setup, bad_requests, error_group);
        suite_tests!(@one $setup, expiry, expiry_group);
        suite_tests!(@one $setup, actors_share_the_keyspace, sharing_group);
        suite_tests!(@one $setup, concurrent_increments_are_atomic, concurrency_group);
    };
    (@one $setup:path, $name:ident, $group:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let (kv, _guard) = $setup().await;
            suite::$group(&kv).await;
        }
    };
}
