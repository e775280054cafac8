//! `caplet up` as a user runs it: the real binary serves a signed kvcounter on a free port,
//! answers HTTP, and stops cleanly on Ctrl-C (SIGINT); a broken manifest exits with code 2,
//! every problem at its line, and nothing listening.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use caplet_claims::{ActorSpec, KeyKind, generate, sign};

use common::{CAPLET, http_get, stderr_lines, wait_for};

mod common;

fn kvcounter() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../guests/out/kvcounter.wasm");
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/build-guests.sh", path.display()))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Writes a signed kvcounter and its manifest into `dir`; returns the HTTP address.
fn deploy(dir: &Path) -> String {
    let account = generate(KeyKind::Account);
    let mut spec = ActorSpec::new("kvcounter");
    spec.caps = vec!["wasmcloud:httpserver".into(), "wasmcloud:keyvalue".into()];
    let signed = sign(&kvcounter(), &spec, &account, &generate(KeyKind::Module)).unwrap();
    std::fs::write(dir.join("kvcounter.wasm"), signed.module).unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    std::fs::write(
        dir.join("caplet.toml"),
        format!(
            "[host]\nissuers = [\"{}\"]\n\n[[actor]]\nname = \"kvcounter\"\npath = \"kvcounter.wasm\"\n\n\
             [[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:httpserver\"\n[link.values]\naddress = \"{addr}\"\n\n\
             [[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:keyvalue\"\n",
            account.public_key()
        ),
    )
    .unwrap();
    addr
}

fn caplet_up(dir: &Path) -> Child {
    Command::new(CAPLET)
        .args(["up", "--no-control", dir.to_str().unwrap()])
        .env("CAPLET_CACHE_DIR", dir.join("cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn up_serves_the_counter_and_stops_cleanly_on_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let addr = deploy(dir.path());
    let mut child = caplet_up(dir.path());

    let lines = stderr_lines(&mut child);
    let mut seen = Vec::new();
    wait_for(
        &lines,
        &mut seen,
        "serving; press Ctrl-C to stop",
        Duration::from_secs(120),
    );
    assert!(
        seen.iter().any(|l| l.contains(&format!("http://{addr}/"))),
        "{seen:#?}"
    );

    assert_eq!(http_get(&addr), (200, "{\"counter\":1}".to_string()));
    assert_eq!(http_get(&addr), (200, "{\"counter\":2}".to_string()));

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || done_tx.send(child.wait()).unwrap());
    let exit = done
        .recv_timeout(Duration::from_secs(30))
        .expect("caplet up did not stop within 30 s of Ctrl-C")
        .unwrap();
    let rest: Vec<String> = lines.try_iter().collect();
    assert!(exit.success(), "exit {exit:?}: {rest:#?}");
    assert!(
        rest.iter().any(|l| l.contains("stopped cleanly")),
        "{rest:#?}"
    );
    assert!(
        TcpStream::connect(&addr).is_err(),
        "the port must be closed"
    );
}

#[test]
fn up_with_a_broken_manifest_reports_every_problem_and_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("caplet.toml"),
        "[host]\nissuers = [\"not-a-key\"]\n\n[[actor]]\nname = \"Bad Name\"\npath = \"missing.wasm\"\n\n[[link]]\nactor = \"nobody\"\ncontract = \"wasmcloud:keyvalue\"\n",
    )
    .unwrap();
    let output = Command::new(CAPLET)
        .args(["up", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("caplet.toml:2:"),
        "issuer error at line 2: {stderr}"
    );
    assert!(
        stderr.contains("caplet.toml:5:"),
        "name error at line 5: {stderr}"
    );
    assert!(
        stderr.contains("caplet.toml:6:"),
        "path error at line 6: {stderr}"
    );
    assert!(
        stderr.contains("caplet.toml:9:"),
        "link error at line 9: {stderr}"
    );
    assert!(stderr.contains("nothing was started"), "{stderr}");
}
