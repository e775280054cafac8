//! The waPC round trip: Caplet against the public `wapc` crate, same guest, same run.
//!
//! Measures (1) one call of `echo` with a 1 KiB payload on a warm instance, (2) a fresh
//! instance (instantiate + `wapc_init`, with the previous one freed inside the timing, and
//! again with the freeing outside it), and (3) one `HttpServer.HandleRequest` of the `hello`
//! actor with a small GET, the call every HTTP request makes (the guest decodes the request and
//! encodes its answer). Two more cases time wasmtime alone, entering a wasm function that
//! returns a constant: on a store that requires async entry (as every Caplet instance does: its
//! `__host_call` import is async and its deadline yields), and on a plain synchronous store (as
//! `wapc` uses). They are the floor under each side's call. The baseline is `wapc` 2.2 with
//! `wasmtime-provider` 2.25 (wasmtime 48 too), running the same guests (guests/wapc-echo,
//! guests/hello). After criterion's own report, the bench prints Caplet/baseline ratios for
//! BENCHMARKS.md.
//!
//! Run: `scripts/build-guests.sh && cargo bench -p caplet-runtime --bench wapc_roundtrip`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use caplet_runtime::{Limits, NoHost, Runtime, RuntimeConfig};
use caplet_testkit::bench::{guest, output_dir, print_ratios, small_get};
use criterion::Criterion;
use wapc::WapcHost;
use wasmtime_provider::WasmtimeEngineProviderBuilder;

const GROUP: &str = "wapc_roundtrip";

const HANDLE_REQUEST: &str = "HttpServer.HandleRequest";

fn no_host_callback(
    _id: u64,
    _bd: &str,
    _ns: &str,
    _op: &str,
    _payload: &[u8],
) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    Err("no host calls in this benchmark".into())
}

fn main() {
    let bytes = guest("wapc_echo");
    let payload = vec![0x5au8; 1024];
    let hello_bytes = guest("hello");
    let request = small_get();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let runtime = Runtime::new(RuntimeConfig::default()).unwrap();
    let actor = runtime
        .load_actor("wapc_echo", &bytes, Limits::default())
        .unwrap();
    let hello = runtime
        .load_actor("hello", &hello_bytes, Limits::default())
        .unwrap();
    let host: Arc<dyn caplet_runtime::HostCallHandler> = Arc::new(NoHost);

    let builder = WasmtimeEngineProviderBuilder::new().module_bytes(&bytes);
    let wapc_pre = builder.build_pre().unwrap();
    let wapc_host = WapcHost::new(
        Box::new(wapc_pre.rehydrate(None).unwrap()),
        Some(Box::new(no_host_callback)),
    )
    .unwrap();
    assert_eq!(wapc_host.call("echo", &payload).unwrap(), payload);
    let wapc_hello = WapcHost::new(
        Box::new(
            WasmtimeEngineProviderBuilder::new()
                .module_bytes(&hello_bytes)
                .build()
                .unwrap(),
        ),
        Some(Box::new(no_host_callback)),
    )
    .unwrap();
    let answer = tokio
        .block_on(hello.call(HANDLE_REQUEST, &request, host.clone()))
        .unwrap();
    assert_eq!(wapc_hello.call(HANDLE_REQUEST, &request).unwrap(), answer);
    assert_eq!(
        tokio
            .block_on(actor.call("echo", &payload, host.clone()))
            .unwrap(),
        payload
    );

    let mut criterion = Criterion::default()
        .output_directory(&output_dir())
        .configure_from_args();
    let mut group = criterion.benchmark_group(GROUP);
    // The host calls actors from inside its tasks, so the calls are timed inside one async
    // context: a `block_on` per call would time tokio's runtime entry, not the call.
    group.bench_function("warm_call_1KiB/caplet", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let out = actor.call("echo", black_box(&payload), host.clone()).await;
                    black_box(out.unwrap());
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("warm_call_1KiB/wapc", |b| {
        b.iter(|| wapc_host.call("echo", black_box(&payload)).unwrap())
    });
    // Inside one async context too: the host starts instances from its tasks.
    group.bench_function("fresh_instance/caplet", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    actor.drain_idle();
                    actor.warm(1).await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("fresh_instance/wapc", |b| {
        b.iter(|| {
            let provider = wapc_pre.rehydrate(None).unwrap();
            WapcHost::new(Box::new(provider), Some(Box::new(no_host_callback))).unwrap()
        })
    });
    // The same without freeing the previous instance inside the timing: instantiate + init
    // alone. Freeing (resetting the memory slot, zeroing the fiber stack) is about half of a
    // fresh_instance cycle; the host pays it when an instance is discarded, not when it needs
    // a new one.
    group.bench_function("instantiate_init/caplet", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async {
                let mut total = std::time::Duration::ZERO;
                for _ in 0..iters {
                    actor.drain_idle();
                    let start = Instant::now();
                    actor.warm(1).await.unwrap();
                    total += start.elapsed();
                }
                total
            })
        })
    });
    group.bench_function("instantiate_init/wapc", |b| {
        b.iter_with_large_drop(|| {
            let provider = wapc_pre.rehydrate(None).unwrap();
            WapcHost::new(Box::new(provider), Some(Box::new(no_host_callback))).unwrap()
        })
    });
    group.bench_function("hello_request/caplet", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let out = hello
                        .call(HANDLE_REQUEST, black_box(&request), host.clone())
                        .await;
                    black_box(out.unwrap());
                }
                start.elapsed()
            })
        })
    });
    group.bench_function("hello_request/wapc", |b| {
        b.iter(|| {
            wapc_hello
                .call(HANDLE_REQUEST, black_box(&request))
                .unwrap()
        })
    });
    let (mut async_store, async_entry) = entry_floor(&runtime, &tokio, true);
    group.bench_function("entry_floor/caplet", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let out = async_entry.call_async(&mut async_store, black_box((0, 0)));
                    black_box(out.await.unwrap());
                }
                start.elapsed()
            })
        })
    });
    let (mut sync_store, sync_entry) = entry_floor(&runtime, &tokio, false);
    group.bench_function("entry_floor/wapc", |b| {
        b.iter(|| sync_entry.call(&mut sync_store, black_box((0, 0))).unwrap())
    });
    group.finish();
    criterion.final_summary();
    print_ratios(
        GROUP,
        &[
            "warm_call_1KiB",
            "fresh_instance",
            "instantiate_init",
            "hello_request",
            "entry_floor",
        ],
        "wapc 2.2",
    );
}

/// A store holding one instance of a module whose export `f(i32, i32) -> i32` returns 1, on
/// Caplet's engine. With `async_entry` the module's one import is an async host function and
/// the store's deadline yields, so (as for every Caplet instance) wasmtime requires
/// `call_async`, which runs the call on a fiber; without, the import is synchronous and the
/// plain `call` enters wasm directly, as `wapc` does.
fn entry_floor(
    runtime: &Runtime,
    tokio: &tokio::runtime::Runtime,
    async_entry: bool,
) -> (wasmtime::Store<()>, wasmtime::TypedFunc<(i32, i32), i32>) {
    const WAT: &str = r#"(module
        (import "env" "h" (func))
        (func (export "f") (param i32 i32) (result i32) i32.const 1))"#;
    let engine = runtime.engine();
    let module = wasmtime::Module::new(engine, WAT).unwrap();
    let mut linker = wasmtime::Linker::<()>::new(engine);
    let mut store = wasmtime::Store::new(engine, ());
    let instance = if async_entry {
        linker
            .func_wrap_async("env", "h", |_, (): ()| Box::new(async {}))
            .unwrap();
        store.epoch_deadline_async_yield_and_update(1);
        tokio
            .block_on(linker.instantiate_async(&mut store, &module))
            .unwrap()
    } else {
        linker.func_wrap("env", "h", || {}).unwrap();
        linker.instantiate(&mut store, &module).unwrap()
    };
    // Far enough that no epoch tick interrupts the loop: the floor is the entry, not a yield.
    store.set_epoch_deadline(u64::MAX / 2);
    let entry = instance.get_typed_func(&mut store, "f").unwrap();
    (store, entry)
}
