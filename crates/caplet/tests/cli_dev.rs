//! `caplet dev` end to end: a manifest whose actor has a source folder (`actor/`, the default
//! convention), a build command injected with `--build-cmd` (it copies a prebuilt module from
//! guests/out named in the source, so the test needs no wasm toolchain), HTTP answers checked
//! before and after editing the source, a failing build that leaves the old version serving,
//! and the development key generated in the keys directory. A second manifest with two actors
//! checks that each is watched from its own folder and that an edit rebuilds only its actor.
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

/// Writes `<dir>/<actor>.wasm`: the guest `guest`, signed by `account` for the HTTP server
/// capability at rev 1, as a project would ship it.
fn ship(dir: &Path, actor: &str, guest_name: &str, account: &caplet_claims::KeyPair) {
    let mut spec = ActorSpec::new(actor);
    spec.caps = vec!["wasmcloud:httpserver".into()];
    spec.rev = Some(1);
    let shipped = sign(
        &std::fs::read(guest(guest_name)).unwrap(),
        &spec,
        account,
        &generate(KeyKind::Module),
    )
    .unwrap();
    std::fs::write(dir.join(format!("{actor}.wasm")), shipped.module).unwrap();
}

/// `caplet dev DIR --no-control --poll-ms 100` with the build that copies `src/module.txt`'s
/// module, and `extra` arguments; its stderr lines arrive on the receiver.
fn start_dev(dir: &Path, extra: &[&str]) -> (KillOnDrop, mpsc::Receiver<String>) {
    let mut dev = KillOnDrop(
        Command::new(CAPLET)
            .args([
                "dev",
                dir.to_str().unwrap(),
                "--no-control",
                "--poll-ms",
                "100",
                "--build-cmd",
                "cp \"$(cat src/module.txt)\" \"$CAPLET_DEV_OUT\"",
            ])
            .args(extra)
            .env("CAPLET_KEYS_DIR", dir.join("keys"))
            .env("CAPLET_CACHE_DIR", dir.join("cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let lines = stderr_lines(&mut dev.0);
    (dev, lines)
}

/// Sends SIGINT and checks `caplet dev` exits 0 within 30 s.
fn stop(dev: &mut KillOnDrop, seen: &[String]) {
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
fn dev_rebuilds_signs_and_swaps_on_every_source_change() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let addr = free_addr();

    // The manifest runs hello signed by the project's account (not the dev key) at rev 1.
    let account = generate(KeyKind::Account);
    ship(dir.path(), "web", "hello", &account);
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

    let (mut dev, lines) = start_dev(dir.path(), &[]);
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

    stop(&mut dev, &seen);
}

#[test]
fn dev_watches_several_actors_each_from_its_own_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (web_addr, api_addr) = (free_addr(), free_addr());
    let account = generate(KeyKind::Account);
    ship(dir.path(), "web", "hello", &account);
    ship(dir.path(), "api", "echo", &account);
    let mut manifest = format!("[host]\nissuers = [\"{}\"]\n", account.public_key());
    for (actor, addr) in [("web", &web_addr), ("api", &api_addr)] {
        manifest.push_str(&format!(
            "\n[[actor]]\nname = \"{actor}\"\npath = \"{actor}.wasm\"\n\n\
             [[link]]\nactor = \"{actor}\"\ncontract = \"wasmcloud:httpserver\"\n\
             [link.values]\naddress = \"{addr}\"\n"
        ));
    }
    std::fs::write(dir.path().join("caplet.toml"), manifest).unwrap();
    // Sources in folders not named after the actors, so only `--actor NAME=DIR` finds them.
    let (web_src, api_src) = (dir.path().join("front"), dir.path().join("back"));
    for (source, module) in [(&web_src, "hello"), (&api_src, "echo")] {
        std::fs::create_dir_all(source.join("src")).unwrap();
        point_source_at(source, &guest(module));
    }
    let web_arg = format!("web={}", web_src.display());
    let api_arg = format!("api={}", api_src.display());
    let (mut dev, lines) = start_dev(dir.path(), &["--actor", &web_arg, "--actor", &api_arg]);
    let mut seen: Vec<String> = Vec::new();

    // Both are watched, each with its own development module key, and both swapped to rev 2.
    // The two watchers run side by side: their lines come in either order.
    for wanted in ["swapped `web` to rev 2", "swapped `api` to rev 2"] {
        if !seen.iter().any(|line| line.contains(wanted)) {
            wait_line(&lines, &mut seen, wanted);
        }
    }
    for (actor, source) in [("web", &web_src), ("api", &api_src)] {
        let watching = seen
            .iter()
            .find(|line| line.contains(&format!("for actor `{actor}`")))
            .unwrap_or_else(|| panic!("no watching line for {actor}: {seen:#?}"));
        assert!(watching.contains(source.to_str().unwrap()), "{watching}");
        let key = dir
            .path()
            .join(format!("keys/caplet-dev-{actor}_module.nk"));
        assert!(key.is_file(), "{}", key.display());
    }
    assert_eq!(http_get(&web_addr), (200, "Hello, world!".to_string()));
    assert!(http_get(&api_addr).1.starts_with('{'));

    // An edit in api's folder rebuilds api only; web keeps its rev and its answer.
    point_source_at(&api_src, &guest("hello"));
    let changed = wait_line(&lines, &mut seen, "changed; rebuilding");
    assert!(changed.ends_with("rebuilding `api`"), "{changed}");
    wait_line(&lines, &mut seen, "swapped `api` to rev 3");
    assert_eq!(http_get(&api_addr), (200, "Hello, world!".to_string()));
    assert_eq!(http_get(&web_addr), (200, "Hello, world!".to_string()));

    // After the stop, every line the process wrote: web was built once, at start, and never
    // rebuilt.
    stop(&mut dev, &seen);
    seen.extend(lines.iter());
    assert!(
        !seen.iter().any(|line| line.contains("rebuilding `web`")),
        "{seen:#?}"
    );
    assert!(
        seen.iter()
            .any(|line| line.contains("initial build of `web`")),
        "{seen:#?}"
    );
}

/// A manifest of unsigned actors named `actors` (each runs hello, no links), in `dir`.
fn unsigned_actors(dir: &Path, actors: &[&str]) {
    let mut manifest = String::new();
    for actor in actors {
        manifest.push_str(&format!(
            "[[actor]]\nname = \"{actor}\"\npath = \"{actor}.wasm\"\n\n"
        ));
        std::fs::copy(guest("hello"), dir.join(format!("{actor}.wasm"))).unwrap();
    }
    std::fs::write(dir.join("caplet.toml"), manifest).unwrap();
}

/// Runs `caplet dev DIR --allow-unsigned --no-control` with `extra`, which must fail before
/// anything starts; returns its stderr.
fn dev_refused(dir: &Path, extra: &[&str]) -> String {
    let output = Command::new(CAPLET)
        .args([
            "dev",
            dir.to_str().unwrap(),
            "--allow-unsigned",
            "--no-control",
        ])
        .args(extra)
        .env("CAPLET_KEYS_DIR", dir.join("keys"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn dev_with_several_actors_needs_their_folders() {
    let dir = tempfile::tempdir().unwrap();
    unsigned_actors(dir.path(), &["web", "api"]);
    // No folder named after either actor: each is named with the flag that would watch it.
    let stderr = dev_refused(dir.path(), &[]);
    assert!(stderr.contains("not watching `web`"), "{stderr}");
    assert!(stderr.contains("--actor api=DIR"), "{stderr}");
    assert!(
        stderr.contains("cannot find the source of any of the 2 actors"),
        "{stderr}"
    );
    // `--source` is one folder; it cannot serve two actors.
    let stderr = dev_refused(dir.path(), &["--source", dir.path().to_str().unwrap()]);
    assert!(
        stderr.contains("--source names one actor's folder"),
        "{stderr}"
    );
    // An actor the manifest does not have.
    let stderr = dev_refused(dir.path(), &["--actor", "nope=."]);
    assert!(stderr.contains("has no actor `nope`"), "{stderr}");
}

#[test]
fn dev_explains_a_missing_source_folder() {
    let dir = tempfile::tempdir().unwrap();
    unsigned_actors(dir.path(), &["web"]);
    let stderr = dev_refused(dir.path(), &[]);
    assert!(
        stderr.contains("cannot find the source of actor `web`"),
        "{stderr}"
    );
    assert!(stderr.contains("--source"), "{stderr}");
}
