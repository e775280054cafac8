//! `caplet invoke` and `caplet call` as a user runs them: real binary, real files, exit codes.
//!
//! These are the first commands an actor author types, so their output must be exactly the
//! answer (`4`, the echoed bytes), their failures must exit non-zero with the guest's or the
//! runtime's message, and bad files must produce a sentence, not a panic.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn guest(name: &str) -> PathBuf {
    let path = repo().join("guests/out").join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run scripts/build-guests.sh",
        path.display()
    );
    path
}

fn caplet(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let cache = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_caplet"))
        .args(args)
        .env("CAPLET_CACHE_DIR", cache.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn invoke_adds_two_numbers_from_the_seeds_module() {
    for file in ["examples/add/add.wasm", "examples/add/add.wat"] {
        let path = repo().join(file);
        let out = caplet(
            &[
                "invoke",
                path.to_str().unwrap(),
                "--invoke",
                "add",
                "2",
                "2",
            ],
            None,
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "4\n");
    }
    let path = repo().join("examples/add/add.wasm");
    let out = caplet(
        &[
            "invoke",
            path.to_str().unwrap(),
            "--invoke",
            "add",
            "-7",
            "2",
        ],
        None,
    );
    assert_eq!(text(&out.stdout), "-5\n");
}

#[test]
fn invoke_explains_wrong_arguments_and_missing_exports() {
    let path = repo().join("examples/add/add.wasm");
    let path = path.to_str().unwrap();
    let out = caplet(&["invoke", path, "--invoke", "add", "2"], None);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("takes 2 argument(s) (i32, i32), 1 given"),
        "{}",
        text(&out.stderr)
    );
    let out = caplet(&["invoke", path, "--invoke", "add", "two", "2"], None);
    assert!(
        text(&out.stderr).contains("argument 1 (`two`) is not a valid i32"),
        "{}",
        text(&out.stderr)
    );
    let out = caplet(&["invoke", path, "--invoke", "sub", "2", "2"], None);
    assert!(
        text(&out.stderr).contains("exported functions: helloWorld, add"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn call_echoes_the_payload_of_a_wapc_guest_module() {
    let actor = guest("wapc_echo");
    let actor = actor.to_str().unwrap();
    let out = caplet(&["call", actor, "echo", "--data", "hello caplet"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"hello caplet");
    let out = caplet(&["call", actor, "echo", "-"], Some(b"\x00\x01binary\xff"));
    assert_eq!(out.stdout, b"\x00\x01binary\xff");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), b"from a file").unwrap();
    let out = caplet(
        &[
            "call",
            actor,
            "echo",
            "--file",
            file.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.stdout, b"from a file");
}

#[test]
fn call_exits_non_zero_with_the_guest_message() {
    let actor = guest("wapc_echo");
    let out = caplet(
        &[
            "call",
            actor.to_str().unwrap(),
            "fail",
            "--data",
            "no such order",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr).trim(), "error: no such order");
    let out = caplet(&["call", actor.to_str().unwrap(), "nope"], None);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("No handler registered for function nope"));
}

#[test]
fn call_names_the_capability_a_standalone_host_call_lacks() {
    let actor = guest("probe");
    let request = "default\nwasmcloud:keyvalue\nIncrement\ncounter";
    let out = caplet(
        &[
            "call",
            actor.to_str().unwrap(),
            "host_call",
            "--data",
            request,
        ],
        None,
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("capability `wasmcloud:keyvalue` is not available"),
        "{stderr}"
    );
}

#[test]
fn call_pretty_prints_json_and_messagepack() {
    let actor = guest("wapc_echo");
    let actor = actor.to_str().unwrap();
    let out = caplet(
        &[
            "call",
            actor,
            "echo",
            "--json",
            "--data",
            r#"{"counter":3}"#,
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "{\n  \"counter\": 3\n}\n");
    // MessagePack {"counter": 3}: fixmap(1), fixstr(7) "counter", positive fixint 3.
    let msgpack = b"\x81\xa7counter\x03";
    let out = caplet(&["call", actor, "echo", "--json", "-"], Some(msgpack));
    assert_eq!(text(&out.stdout), "{\n  \"counter\": 3\n}\n");
    let out = caplet(
        &["call", actor, "echo", "--json", "-"],
        Some(b"\xc1\xc1 not structured"),
    );
    assert!(text(&out.stderr).contains("neither JSON nor MessagePack"));
}

#[test]
fn call_reports_hostile_guests_and_bad_files_clearly() {
    let actor = guest("probe");
    let actor = actor.to_str().unwrap();
    let out = caplet(&["call", actor, "loop", "--deadline-ms", "100"], None);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("exceeded its deadline of 100 ms"),
        "{}",
        text(&out.stderr)
    );
    let out = caplet(&["call", actor, "trap"], None);
    assert!(
        text(&out.stderr).contains("`probe.wasm` trapped in operation `trap`"),
        "{}",
        text(&out.stderr)
    );

    let not_wasm = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(not_wasm.path(), b"just some text").unwrap();
    let out = caplet(&["call", not_wasm.path().to_str().unwrap(), "echo"], None);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("is not a WebAssembly module"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stderr).contains("panicked"));
    let out = caplet(&["call", "/no/such/actor.wasm", "echo"], None);
    assert!(text(&out.stderr).contains("could not read `/no/such/actor.wasm`"));
}
