//! Bad input is a clear, specific error, never a panic (hostile-guests.md E5, D4).
//!
//! Every module below is refused at load or fails its own call with an error that names what
//! is wrong; the runtime goes on serving a good module afterwards.

use std::sync::Arc;

use caplet_runtime::{CallError, Limits, LoadError, NoHost};

use crate::common::{guest, load, runtime, test_limits, wat};

fn load_error(bytes: &[u8]) -> LoadError {
    let (runtime, _cache) = runtime();
    match runtime.load_actor("bad.wasm", bytes, Limits::default()) {
        Ok(_) => panic!("the module was accepted"),
        Err(error) => error,
    }
}

#[test]
fn a_file_that_is_not_wasm_is_refused() {
    let error = load_error(b"#!/bin/sh\necho not wasm\n");
    assert!(matches!(error, LoadError::NotWasm { .. }), "{error:?}");
    assert!(
        error.to_string().contains("not a WebAssembly module"),
        "{error}"
    );
    assert!(matches!(load_error(b""), LoadError::NotWasm { .. }));
}

#[test]
fn a_truncated_module_is_refused() {
    let bytes = guest("probe");
    let error = load_error(&bytes[..bytes.len() / 2]);
    assert!(matches!(error, LoadError::Invalid { .. }), "{error:?}");
    let header_only = load_error(&bytes[..8]);
    assert!(
        matches!(
            header_only,
            LoadError::MissingExport {
                export: "__guest_call",
                ..
            }
        ),
        "{header_only:?}"
    );
}

#[test]
fn a_module_without_guest_call_is_refused() {
    let error = load_error(&wat(r#"(module (memory (export "memory") 1))"#));
    assert!(
        matches!(
            error,
            LoadError::MissingExport {
                export: "__guest_call",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("__guest_call"), "{error}");
}

#[test]
fn a_module_without_memory_export_is_refused() {
    let error = load_error(&wat(
        r#"(module (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))"#,
    ));
    assert!(
        matches!(
            error,
            LoadError::MissingExport {
                export: "memory",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn a_guest_call_of_the_wrong_type_is_refused() {
    let error = load_error(&wat(
        r#"(module (memory (export "memory") 1) (func (export "__guest_call") (param i32)))"#,
    ));
    assert!(
        matches!(
            error,
            LoadError::WrongExportType {
                export: "__guest_call",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn imports_the_runtime_does_not_provide_are_refused() {
    let error = load_error(&wat(r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))"#));
    match error {
        LoadError::UnsupportedImport {
            import_module,
            name,
            ..
        } => {
            assert_eq!(
                (import_module.as_str(), name.as_str()),
                ("wasi_snapshot_preview1", "fd_write")
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_wapc_import_with_the_wrong_signature_is_refused() {
    let error = load_error(&wat(r#"(module
        (import "wapc" "__console_log" (func (param i64)))
        (memory (export "memory") 1)
        (func (export "__guest_call") (param i32 i32) (result i32) (i32.const 1)))"#));
    assert!(matches!(error, LoadError::Invalid { .. }), "{error:?}");
    assert!(error.to_string().contains("__console_log"), "{error}");
}

#[test]
fn precompiled_artifacts_and_components_are_refused() {
    let (runtime, _cache) = runtime();
    let module = wasmtime::Module::new(runtime.engine(), wat(r#"(module)"#)).unwrap();
    let precompiled = module.serialize().unwrap();
    assert!(matches!(
        load_error(&precompiled),
        LoadError::Precompiled { .. }
    ));
    let component = wat("(component)");
    assert!(matches!(
        load_error(&component),
        LoadError::Component { .. }
    ));
}

#[test]
fn a_module_over_the_size_limit_is_refused_before_compiling() {
    let (runtime, _cache) = runtime();
    let bytes = guest("probe");
    let limits = Limits {
        max_module_bytes: bytes.len() - 1,
        ..Limits::default()
    };
    let error = runtime.load_actor("probe", &bytes, limits).err().unwrap();
    assert!(matches!(error, LoadError::TooLarge { .. }), "{error:?}");
}

/// A guest that answers with a buffer far outside its memory.
const OUT_OF_BOUNDS_RESPONSE: &str = r#"(module
    (import "wapc" "__guest_response" (func $respond (param i32 i32)))
    (memory (export "memory") 1)
    (func (export "__guest_call") (param i32 i32) (result i32)
        (call $respond (i32.const 65530) (i32.const 4096))
        (i32.const 1)))"#;

/// A guest that asks the host to write the request at a pointer past the end of memory.
const OUT_OF_BOUNDS_REQUEST: &str = r#"(module
    (import "wapc" "__guest_request" (func $request (param i32 i32)))
    (memory (export "memory") 1)
    (func (export "__guest_call") (param i32 i32) (result i32)
        (call $request (i32.const -1) (i32.const -16))
        (i32.const 1)))"#;

/// A guest that logs bytes that are not UTF-8.
const INVALID_UTF8_LOG: &str = r#"(module
    (import "wapc" "__console_log" (func $log (param i32 i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "\ff\fe\fd")
    (func (export "__guest_call") (param i32 i32) (result i32)
        (call $log (i32.const 16) (i32.const 3))
        (i32.const 1)))"#;

/// A guest that names a host-call binding with bytes that are not UTF-8.
const INVALID_UTF8_BINDING: &str = r#"(module
    (import "wasmbus" "__host_call"
        (func $call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "\c3\28")
    (func (export "__guest_call") (param i32 i32) (result i32)
        (call $call (i32.const 16) (i32.const 2) (i32.const 0) (i32.const 0)
                    (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0))))"#;

async fn trap_text(module: &str, bytes: &[u8]) -> String {
    let (runtime, _cache) = runtime();
    let actor = runtime.load_actor(module, bytes, test_limits()).unwrap();
    let error = actor
        .call("op", b"payload", Arc::new(NoHost))
        .await
        .unwrap_err();
    // The runtime is unharmed: a good module still answers.
    let probe = load(&runtime, "probe", test_limits());
    assert_eq!(
        probe.call("echo", b"ok", Arc::new(NoHost)).await.unwrap(),
        b"ok"
    );
    match error {
        CallError::Trap {
            trap,
            module: m,
            operation,
        } => {
            assert_eq!((m.as_str(), operation.as_str()), (module, "op"));
            trap
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

#[tokio::test]
async fn out_of_bounds_pointers_trap_with_the_import_named() {
    let text = trap_text("oob-response", &wat(OUT_OF_BOUNDS_RESPONSE)).await;
    assert!(
        text.contains("__guest_response") && text.contains("out-of-bounds"),
        "{text}"
    );
    let text = trap_text("oob-request", &wat(OUT_OF_BOUNDS_REQUEST)).await;
    assert!(
        text.contains("__guest_request") && text.contains("out-of-bounds"),
        "{text}"
    );
}

#[tokio::test]
async fn invalid_utf8_traps_with_the_import_named() {
    let text = trap_text("bad-log", &wat(INVALID_UTF8_LOG)).await;
    assert!(
        text.contains("__console_log") && text.contains("UTF-8"),
        "{text}"
    );
    let text = trap_text("bad-binding", &wat(INVALID_UTF8_BINDING)).await;
    assert!(
        text.contains("__host_call (binding)") && text.contains("UTF-8"),
        "{text}"
    );
}

/// A guest whose long log line is cut at the text limit in the middle of a character is not
/// punished for it: the line is truncated at the last whole character and the call succeeds.
#[tokio::test]
async fn console_log_truncated_inside_a_character_does_not_trap() {
    let module = wat(r#"(module
    (import "wapc" "__console_log" (func $log (param i32 i32)))
    (import "wapc" "__guest_response" (func $response (param i32 i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "aaa\c3\a9")
    (func (export "__guest_call") (param i32 i32) (result i32)
        (call $log (i32.const 16) (i32.const 5))
        (call $response (i32.const 16) (i32.const 3))
        (i32.const 1)))"#);
    let (runtime, _cache) = runtime();
    let limits = caplet_runtime::Limits {
        max_guest_text_bytes: 4,
        ..test_limits()
    };
    let actor = runtime.load_actor("long-log", &module, limits).unwrap();
    let reply = actor.call("op", b"", Arc::new(NoHost)).await.unwrap();
    assert_eq!(reply, b"aaa");
}

/// A guest logging in a loop gets `MAX_CONSOLE_LINES_PER_SECOND` lines per second through;
/// the rest are dropped (counted in `console_log_stats`) and the call itself goes on.
#[tokio::test]
async fn console_log_flood_is_rate_limited_per_instance() {
    let module = wat(r#"(module
    (import "wapc" "__console_log" (func $log (param i32 i32)))
    (import "wapc" "__guest_response" (func $response (param i32 i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "flood")
    (func (export "__guest_call") (param i32 i32) (result i32)
        (local $i i32)
        (block $done (loop $again
          (br_if $done (i32.ge_u (local.get $i) (i32.const 100)))
          (call $log (i32.const 16) (i32.const 5))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $again)))
        (call $response (i32.const 16) (i32.const 5))
        (i32.const 1)))"#);
    let (runtime, _cache) = runtime();
    let actor = runtime.load_actor("flood", &module, test_limits()).unwrap();
    let before = caplet_runtime::console_log_stats();
    let reply = actor.call("op", b"", Arc::new(NoHost)).await.unwrap();
    assert_eq!(reply, b"flood");
    let dropped = caplet_runtime::console_log_stats().dropped - before.dropped;
    let allowed = u64::from(caplet_runtime::MAX_CONSOLE_LINES_PER_SECOND);
    // Other tests may drop lines at the same time: at least this call's excess is counted.
    assert!(dropped >= 100 - allowed, "dropped {dropped}");
}
