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
//! `kvcounter_2_workers` runs `kvcounter_request` on both cores at once: a two-worker tokio
//! runtime with [`CALLERS`] tasks calling back to back, timed per call over the whole machine
//! (wall time ÷ calls). Everything the workers share is then written from two cores: the
//! actor's metrics, the in-flight count, reference counts, the idle-instance pool, the store.
//! The baseline runs two threads, each with its own `wapc` host on one shared store. The
//! single-threaded cases cannot show that traffic, and the HTTP benchmark cannot resolve it
//! (BENCHMARKS.md, tenth round).
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

/// Worker threads in the contended case (one per core of the project machine).
const WORKERS: usize = 2;

/// Tasks calling at once in the contended case: a few per worker, so neither runs dry.
const CALLERS: u64 = 8;

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

type Store = Arc<Mutex<HashMap<String, i64>>>;

/// The baseline's host: `KeyValue.Increment` on `store`, nothing else.
fn counter_callback(store: Store) -> HostCallback {
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

fn wapc_host(module: &[u8], store: Store) -> WapcHost {
    let engine = WasmtimeEngineProviderBuilder::new()
        .module_bytes(module)
        .build()
        .unwrap();
    WapcHost::new(Box::new(engine), Some(counter_callback(store))).unwrap()
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
    let wapc_kvcounter = wapc_host(&kvcounter, Store::default());
    let wapc_hello = wapc_host(&hello, Store::default());

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
    contended(&mut group, &host, &kvcounter, &request);
    group.finish();
    criterion.final_summary();
    print_ratios(
        GROUP,
        &["kvcounter_request", "hello_request", "kvcounter_2_workers"],
        "wapc 2.2",
    );
}

/// `kvcounter_2_workers`: see the module doc.
fn contended(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    host: &Host,
    kvcounter: &[u8],
    request: &[u8],
) {
    // The same host as the single-call cases: its calls start no background task, so they run
    // on any runtime.
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_all()
        .build()
        .unwrap();
    let request: Arc<[u8]> = request.into();
    group.bench_function("kvcounter_2_workers/caplet", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async {
                let per_caller = iters.div_ceil(CALLERS);
                let start = Instant::now();
                let callers: Vec<_> = (0..CALLERS)
                    .map(|_| {
                        let (host, request) = (host.clone(), request.clone());
                        tokio::spawn(async move {
                            for _ in 0..per_caller {
                                let out = host
                                    .call_actor("kvcounter", HANDLE_REQUEST, black_box(&request))
                                    .await;
                                black_box(out.unwrap());
                            }
                        })
                    })
                    .collect();
                for caller in callers {
                    caller.await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    // `WapcHost` is neither `Send` nor `Sync`: each thread builds its own and keeps it, and
    // runs the number of calls it is sent.
    let store = Store::default();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let workers: Vec<std::sync::mpsc::Sender<u64>> = (0..WORKERS)
        .map(|_| {
            let (tx, rx) = std::sync::mpsc::channel::<u64>();
            let (module, store, done) = (kvcounter.to_vec(), store.clone(), done_tx.clone());
            let request = request.clone();
            std::thread::spawn(move || {
                let host = wapc_host(&module, store);
                for calls in rx {
                    for _ in 0..calls {
                        black_box(host.call(HANDLE_REQUEST, black_box(&request)).unwrap());
                    }
                    done.send(()).unwrap();
                }
            });
            tx
        })
        .collect();
    group.bench_function("kvcounter_2_workers/wapc", |b| {
        b.iter_custom(|iters| {
            let per_thread = iters.div_ceil(WORKERS as u64);
            let start = Instant::now();
            for worker in &workers {
                worker.send(per_thread).unwrap();
            }
            for _ in &workers {
                done_rx.recv().unwrap();
            }
            start.elapsed()
        })
    });
}
