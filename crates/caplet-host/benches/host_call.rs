//! One HTTP request's actor call through the whole host, against the same actor under the
//! public `wapc` crate with a minimal host callback, same guest, same run.
//!
//! `kvcounter_request` is what every `curl /` of the kv-counter demo costs the host besides
//! HTTP: the dispatch (actor table, breaker, metrics, in-flight count), the waPC call, the
//! guest's `KeyValue.Increment` host call through the router (claims, link, provider table)
//! into the in-memory key-value provider, and back. The baseline runs the same
//! `examples/kvcounter` module with `wapc` 2.2 (`wasmtime-provider` 2.25, wasmtime 48) and a
//! callback that decodes the `IncrementRequest` and increments a `HashMap` behind a mutex: the
//! least any host must do for this actor. `hello_request` is the same for `guests/hello`
//! (no host call), so the difference between the two cases is the host call.
//!
//! Run: `scripts/build-guests.sh && cargo bench -p caplet-host --bench host_call`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use caplet_claims::{ActorSpec, KeyKind, generate, sign};
use caplet_host::{Host, HostConfig, LinkValues, ProviderConfig};
use caplet_kv::MemoryKeyValue;
use caplet_runtime::{Limits, Runtime, RuntimeConfig};
use caplet_testkit::bench::{guest, output_dir, print_ratios, small_get};
use caplet_wire::keyvalue::IncrementRequest;
use criterion::Criterion;
use wapc::WapcHost;
use wasmtime_provider::WasmtimeEngineProviderBuilder;

/// The `caplet` binary's allocator, for both sides (docs/runtime.md, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const GROUP: &str = "host_call";
const HANDLE_REQUEST: &str = "HttpServer.HandleRequest";

type HostCallback = Box<
    dyn Fn(
            u64,
            &str,
            &str,
            &str,
            &[u8],
        ) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>>
        + Send
        + Sync,
>;

/// The baseline's host: `KeyValue.Increment` on a map, nothing else.
fn counter_callback() -> HostCallback {
    let store = Mutex::new(HashMap::<String, i64>::new());
    Box::new(move |_, _binding, namespace, operation, payload| {
        if namespace != "wasmcloud:keyvalue" || operation != "KeyValue.Increment" {
            return Err(format!("{namespace} {operation} is not served").into());
        }
        let request: IncrementRequest = caplet_wire::decode(payload)?;
        let mut store = store.lock().unwrap();
        let value = store.entry(request.key).or_default();
        *value += i64::from(request.value);
        Ok(caplet_wire::encode(&i32::try_from(*value)?)?)
    })
}

fn wapc_host(module: &[u8]) -> WapcHost {
    let engine = WasmtimeEngineProviderBuilder::new()
        .module_bytes(module)
        .build()
        .unwrap();
    WapcHost::new(Box::new(engine), Some(counter_callback())).unwrap()
}

/// A host trusting a fresh account, running kvcounter (linked to an in-memory store) and hello.
async fn caplet_host(kvcounter: &[u8], hello: &[u8]) -> Host {
    let account = generate(KeyKind::Account);
    let signed = |module: &[u8], name: &str, caps: &[&str]| {
        let mut spec = ActorSpec::new(name);
        spec.caps = caps.iter().map(|c| c.to_string()).collect();
        sign(module, &spec, &account, &generate(KeyKind::Module))
            .unwrap()
            .module
    };
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: None,
        ..RuntimeConfig::default()
    })
    .unwrap();
    let host = Host::new(
        runtime,
        HostConfig {
            issuers: vec![account.public_key()],
            ..HostConfig::default()
        },
    );
    let kvcounter = signed(
        kvcounter,
        "kvcounter",
        &["wasmcloud:httpserver", "wasmcloud:keyvalue"],
    );
    let hello = signed(hello, "hello", &["wasmcloud:httpserver"]);
    host.start_actor("kvcounter", kvcounter, Limits::default(), 1)
        .await
        .unwrap();
    host.start_actor("hello", hello, Limits::default(), 1)
        .await
        .unwrap();
    let store = MemoryKeyValue::new(&ProviderConfig::new()).unwrap();
    host.add_provider("default", Arc::new(store)).await.unwrap();
    host.put_link(
        "kvcounter",
        "wasmcloud:keyvalue",
        "default",
        LinkValues::new(),
    )
    .await
    .unwrap();
    host
}

fn main() {
    let kvcounter = guest("kvcounter");
    let hello = guest("hello");
    let request = small_get();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let host = tokio.block_on(caplet_host(&kvcounter, &hello));
    let wapc_kvcounter = wapc_host(&kvcounter);
    let wapc_hello = wapc_host(&hello);

    // Both sides answer the same: the first count, then hello's text.
    let ours = tokio
        .block_on(host.call_actor("kvcounter", HANDLE_REQUEST, &request))
        .unwrap();
    assert_eq!(ours, wapc_kvcounter.call(HANDLE_REQUEST, &request).unwrap());
    let ours = tokio
        .block_on(host.call_actor("hello", HANDLE_REQUEST, &request))
        .unwrap();
    assert_eq!(ours, wapc_hello.call(HANDLE_REQUEST, &request).unwrap());

    let mut criterion = Criterion::default()
        .output_directory(&output_dir())
        .configure_from_args();
    let mut group = criterion.benchmark_group(GROUP);
    for (case, actor, baseline) in [
        ("kvcounter_request", "kvcounter", &wapc_kvcounter),
        ("hello_request", "hello", &wapc_hello),
    ] {
        // Timed inside one async context, as the HTTP server's connection tasks call the host.
        group.bench_function(format!("{case}/caplet"), |b| {
            b.iter_custom(|iters| {
                tokio.block_on(async {
                    let start = Instant::now();
                    for _ in 0..iters {
                        let out = host
                            .call_actor(actor, HANDLE_REQUEST, black_box(&request))
                            .await;
                        black_box(out.unwrap());
                    }
                    start.elapsed()
                })
            })
        });
        group.bench_function(format!("{case}/wapc"), |b| {
            b.iter(|| baseline.call(HANDLE_REQUEST, black_box(&request)).unwrap())
        });
    }
    group.finish();
    criterion.final_summary();
    print_ratios(GROUP, &["kvcounter_request", "hello_request"], "wapc 2.2");
}
