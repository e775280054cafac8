//! `caplet dev` end to end: a manifest whose actor has a source folder (`actor/`, the default
//! convention), a build command injected with `--build-cmd` (it copies a prebuilt module from
//! guests/out named in the source, so the test needs no wasm toolchain), HTTP answers checked
//! before and after editing the source, a failing build that leaves the old version serving,
//! and the development key generated in the keys directory.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use caplet_claims::{ActorSpec, KeyKind, generate, sign};

use common::{CAPLET, KillOnDrop, free_addr, http_get, stderr_lines, wait_for};

mod common;

fn guest(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../guests/out/{name}.wasm"))
}

/// Waits up to 60 s for a stderr line containing `wanted`.
fn wait_line(lines: &mpsc::Receiver<String>, seen: &mut Vec<String>, wanted: &str) -> String {
    wait_for(lines, seen, wanted, Duration::from_secs(60))
}

/// Writes the module path the injected build copies (`actor/src/module.txt`).
fn point_source_at(source: &Path, module: &Path) {
    std::fs::write(source.join("src/module.txt"), module.display().to_string()).unwrap();
}

#[test]
fn dev_rebuilds_signs_and_swaps_on_every_source_change() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let addr = free_addr();

    // The manifest runs hello signed by the project's account (not the dev key) at rev 1.
    let account = generate(KeyKind::Account);
    let mut spec = ActorSpec::new("web");
    spec.caps = vec!["wasmcloud:httpserver".into()];
    spec.rev = Some(1);
    let shipped = sign(
        &std::fs::read(guest("hello")).unwrap(),
        &spec,
        &account,
        &generate(KeyKind::Module),
    )
    .unwrap();
    std::fs::write(dir.path().join("web.wasm"), shipped.module).unwrap();
    std::fs::write(
        dir.path().join("caplet.toml"),
        format!(
            "[host]\nissuers = [\"{}\"]\n\n[[actor]]\nname = \"web\"\npath = \"web.wasm\"\n\n\
             [[link]]\nactor = \"web\"\ncontract = \"wasmcloud:httpserver\"\n[link.values]\naddress = \"{addr}\"\n",
            account.public_key()
        ),
    )
    .unwrap();
    // The actor's "source": `actor/` (the default convention), whose build copies the module
    // named in src/module.txt. Starts as hello.
    let source = dir.path().join("actor");
    std::fs::create_dir_all(source.join("src")).unwrap();
    point_source_at(&source, &guest("hello"));

    let mut dev = KillOnDrop(
        Command::new(CAPLET)
            .args([
                "dev",
                dir.path().to_str().unwrap(),
                "--no-control",
                "--poll-ms",
                "100",
                "--build-cmd",
                "cp \"$(cat src/module.txt)\" \"$CAPLET_DEV_OUT\"",
            ])
            .env("CAPLET_KEYS_DIR", &keys)
            .env("CAPLET_CACHE_DIR", dir.path().join("cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let lines = stderr_lines(&mut dev.0);
    let mut seen = Vec::new();

    // The development key is generated in the keys directory and trusted for this host only.
    let generated = wait_line(&lines, &mut seen, "generated the development account key");
    assert!(generated.contains(keys.to_str().unwrap()), "{generated}");
    wait_line(&lines, &mut seen, "for this host only");
    assert!(keys.join("caplet-dev_account.nk").is_file());
    assert!(keys.join("caplet-dev-web_module.nk").is_file());
    let watching = wait_line(&lines, &mut seen, "caplet dev: watching");
    assert!(watching.contains("actor `web`"), "{watching}");

    // The initial build replaces the shipped module (and its key) with the dev-signed one.
    let swapped = wait_line(&lines, &mut seen, "swapped `web` to rev 2");
    assert!(swapped.contains("development key"), "{swapped}");
    assert_eq!(http_get(&addr), (200, "Hello, world!".to_string()));

    // An edit: the next module is the echo example actor, which answers the request as JSON.
    point_source_at(&source, &guest("echo"));
    let changed = wait_line(&lines, &mut seen, "changed; rebuilding");
    assert!(changed.contains("src/module.txt"), "{changed}");
    let swapped = wait_line(&lines, &mut seen, "swapped `web` to rev 3");
    assert!(swapped.contains("rebuilt in"), "{swapped}");
    let (status, body) = http_get(&addr);
    assert_eq!(status, 200);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["method"], "GET", "{body}");

    // A change that builds the same module (a comment, a lock file): nothing to swap.
    std::fs::write(source.join("src/notes.txt"), "unrelated").unwrap();
    let same = wait_line(&lines, &mut seen, "caplet dev: rebuilt in");
    assert!(same.contains("did not change, nothing to swap"), "{same}");
    assert!(same.contains("rev 3"), "{same}");

    // A build that fails: said so, and rev 3 keeps serving.
    point_source_at(&source, &dir.path().join("missing.wasm"));
    let failed = wait_line(&lines, &mut seen, "build failed");
    assert!(failed.contains("rev 3 keeps serving"), "{failed}");
    let output = wait_line(&lines, &mut seen, "missing.wasm");
    assert!(output.contains("No such file"), "{output}");
    assert_eq!(http_get(&addr).0, 200);
    assert!(http_get(&addr).1.starts_with('{'));

    // A module the host refuses (not wasm): the update error is printed, rev 3 keeps serving.
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"not a module").unwrap();
    point_source_at(&source, &junk);
    let refused = wait_line(&lines, &mut seen, "caplet dev: rebuilt in");
    assert!(refused.contains("keeps serving"), "{refused}");
    assert!(http_get(&addr).1.starts_with('{'));

    // Fixed again: back to hello at rev 4.
    point_source_at(&source, &guest("hello"));
    wait_line(&lines, &mut seen, "swapped `web` to rev 4");
    assert_eq!(http_get(&addr), (200, "Hello, world!".to_string()));

    Command::new("kill")
        .args(["-INT", &dev.0.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = dev.0.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "caplet dev did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "exit {exit:?}: {seen:#?}");
}

#[test]
fn dev_explains_a_missing_source_folder() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("caplet.toml"),
        "[[actor]]\nname = \"web\"\npath = \"web.wasm\"\n",
    )
    .unwrap();
    std::fs::copy(guest("hello"), dir.path().join("web.wasm")).unwrap();
    let output = Command::new(CAPLET)
        .args([
            "dev",
            dir.path().to_str().unwrap(),
            "--allow-unsigned",
            "--no-control",
        ])
        .env("CAPLET_KEYS_DIR", dir.path().join("keys"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot find the source of actor `web`"),
        "{stderr}"
    );
    assert!(stderr.contains("--source"), "{stderr}");
}
