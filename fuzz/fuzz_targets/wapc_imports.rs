//! Fuzzes the nine waPC host imports with hostile pointers and lengths. A fixed WAT guest reads
//! its request payload as a sequence of 36-byte records (a selector and eight i32 arguments)
//! and calls the import the selector picks with those arguments, so the fuzzer controls every
//! pointer/length combination the host sees, including out-of-bounds, overlapping and negative
//! ones. The host may fail the call (a trap, a guest error) but must never panic.

#![no_main]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use caplet_runtime::{
    ActorModule, BoxFuture, HostCall, HostCallError, HostCallHandler, Limits, Runtime,
    RuntimeConfig,
};
use libfuzzer_sys::fuzz_target;

/// The guest: `__guest_call(op_len, payload_len)` copies the request (operation at 0, payload at
/// 4096), then walks the payload's records. Two pages of memory, so some pointers land in
/// bounds and some past the end.
const GUEST: &str = r#"
(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response" (func $host_response (param i32)))
  (import "wapc" "__host_response_len" (func $host_response_len (result i32)))
  (import "wapc" "__host_error" (func $host_error (param i32)))
  (import "wapc" "__host_error_len" (func $host_error_len (result i32)))
  (import "wapc" "__console_log" (func $console_log (param i32 i32)))
  (memory (export "memory") 2)
  (func (export "__guest_call") (param $op_len i32) (param $len i32) (result i32)
    (local $at i32) (local $end i32) (local $sel i32)
    (call $guest_request (i32.const 0) (i32.const 4096))
    (local.set $at (i32.const 4096))
    (local.set $end (i32.add (i32.const 4096) (local.get $len)))
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (i32.add (local.get $at) (i32.const 36)) (local.get $end)))
        (local.set $sel (i32.rem_u (i32.load (local.get $at)) (i32.const 10)))
        (block $b9 (block $b8 (block $b7 (block $b6 (block $b5 (block $b4 (block $b3 (block $b2 (block $b1 (block $b0
          (br_table $b0 $b1 $b2 $b3 $b4 $b5 $b6 $b7 $b8 $b9 (local.get $sel)))
          (call $guest_request (i32.load offset=4 (local.get $at)) (i32.load offset=8 (local.get $at)))
          (br $b9))
          (call $guest_response (i32.load offset=4 (local.get $at)) (i32.load offset=8 (local.get $at)))
          (br $b9))
          (call $guest_error (i32.load offset=4 (local.get $at)) (i32.load offset=8 (local.get $at)))
          (br $b9))
          (drop (call $host_call
            (i32.load offset=4 (local.get $at)) (i32.load offset=8 (local.get $at))
            (i32.load offset=12 (local.get $at)) (i32.load offset=16 (local.get $at))
            (i32.load offset=20 (local.get $at)) (i32.load offset=24 (local.get $at))
            (i32.load offset=28 (local.get $at)) (i32.load offset=32 (local.get $at))))
          (br $b9))
          (call $host_response (i32.load offset=4 (local.get $at)))
          (br $b9))
          (drop (call $host_response_len))
          (br $b9))
          (call $host_error (i32.load offset=4 (local.get $at)))
          (br $b9))
          (drop (call $host_error_len))
          (br $b9))
          (call $console_log (i32.load offset=4 (local.get $at)) (i32.load offset=8 (local.get $at)))
          (br $b9))
        ;; selector 9: a well-formed host call built from the record, so the response and error
        ;; buffers get filled and then read back with hostile pointers.
        (drop (call $host_call (i32.const 4096) (i32.const 4) (i32.const 4100) (i32.const 4)
                               (i32.const 4104) (i32.const 4) (i32.const 4108)
                               (i32.and (i32.load offset=4 (local.get $at)) (i32.const 255))))
        (local.set $at (i32.add (local.get $at) (i32.const 36)))
        (br $next)))
    (i32.load8_u (i32.const 4096))
    (i32.const 1)
    (i32.and))
)
"#;

/// Answers every host call: the payload echoed back, or a guest error when its first byte is
/// odd, so both `__host_response` and `__host_error` have something to copy.
struct Echo;

impl HostCallHandler for Echo {
    fn host_call<'a>(
        &'a self,
        call: HostCall<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, HostCallError>> {
        Box::pin(async move {
            match call.payload.first() {
                Some(b) if b % 2 == 1 => Err(HostCallError::Guest(format!(
                    "refused {} bytes on {}",
                    call.payload.len(),
                    call.namespace
                ))),
                _ => Ok(call.payload.to_vec()),
            }
        })
    }
}

struct Harness {
    tokio: tokio::runtime::Runtime,
    module: ActorModule,
}

static HARNESS: LazyLock<Harness> = LazyLock::new(|| {
    let runtime = Runtime::new(RuntimeConfig {
        cache_dir: None,
        ..RuntimeConfig::default()
    })
    .expect("runtime");
    let limits = Limits {
        call_deadline: Duration::from_secs(5),
        ..Limits::default()
    };
    let wasm = wat::parse_str(GUEST).expect("the fuzz guest is valid WAT");
    let module = runtime
        .load_actor("fuzz", &wasm, limits)
        .expect("the fuzz guest loads");
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");
    Harness { tokio, module }
});

fuzz_target!(|data: &[u8]| {
    // The payload must fit the guest's second page after offset 4096.
    if data.len() > 60 * 1024 {
        return;
    }
    let harness = &*HARNESS;
    let handler: Arc<dyn HostCallHandler> = Arc::new(Echo);
    let _ = harness
        .tokio
        .block_on(harness.module.call("run", data, handler));
});
