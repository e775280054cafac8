//! `caplet ctl` against the real `caplet up`: the host writes its token file where the manifest
//! says, prints the control address, and `caplet ctl` reads the inventory and health through it;
//! a wrong token is refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use caplet_claims::{ActorSpec, KeyKind, KeyPair, generate, sign};

use common::{CAPLET, KillOnDrop, free_addr, stderr_lines, wait_for};

mod common;

/// What `caplet up` prints once it serves.
const SERVING: &str = "serving; press Ctrl-C to stop";

/// A signed kvcounter and a manifest with its control API on `control`; the token goes to
/// `<dir>/secrets/control.token`.
fn deploy(dir: &Path, control: &str) -> KeyPair {
    let account = generate(KeyKind::Account);
    std::fs::write(
        dir.join("kvcounter.wasm"),
        kvcounter(&account, &generate(KeyKind::Module), 3),
    )
    .unwrap();
    std::fs::write(
        dir.join("caplet.toml"),
        format!(
            "[host]\nissuers = [\"{}\"]\ncontrol_api = \"{control}\"\ncontrol_token_file = \"secrets/control.token\"\n\n\
             [[actor]]\nname = \"kvcounter\"\npath = \"kvcounter.wasm\"\n\n\
             [[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:httpserver\"\n[link.values]\naddress = \"{}\"\n\n\
             [[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:keyvalue\"\n",
            account.public_key(),
            free_addr()
        ),
    )
    .unwrap();
    account
}

/// kvcounter signed by `account` under `subject` with `rev`.
fn kvcounter(account: &KeyPair, subject: &KeyPair, rev: i32) -> Vec<u8> {
    let module = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../guests/out/kvcounter.wasm");
    let module = std::fs::read(&module).unwrap();
    let mut spec = ActorSpec::new("kvcounter");
    spec.caps = vec!["wasmcloud:httpserver".into(), "wasmcloud:keyvalue".into()];
    spec.rev = Some(rev);
    sign(&module, &spec, account, subject).unwrap().module
}

/// A `caplet up` process, killed if the test fails before it stops it.
/// Starts `caplet up` and returns it with its stderr lines up to "serving".
fn caplet_up(dir: &Path) -> (KillOnDrop, mpsc::Receiver<String>, Vec<String>) {
    let mut up = KillOnDrop(
        Command::new(CAPLET)
            .args(["up", dir.to_str().unwrap()])
            .env("CAPLET_CACHE_DIR", dir.join("cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let lines = stderr_lines(&mut up.0);
    let mut seen = Vec::new();
    wait_for(&lines, &mut seen, SERVING, Duration::from_secs(120));
    (up, lines, seen)
}

fn ctl(control: &str, token_file: &Path, args: &[&str]) -> Output {
    Command::new(CAPLET)
        .args([
            "ctl",
            "--addr",
            control,
            "--token-file",
            token_file.to_str().unwrap(),
        ])
        .args(args)
        .env_remove("CAPLET_CONTROL_ADDR")
        .env_remove("CAPLET_CONTROL_TOKEN_FILE")
        .output()
        .unwrap()
}

#[test]
fn ctl_reads_inventory_and_health_from_a_running_host() {
    let dir = tempfile::tempdir().unwrap();
    let control = free_addr();
    let account = deploy(dir.path(), &control);
    let (mut up, lines, seen) = caplet_up(dir.path());
    let token_file = dir.path().join("secrets/control.token");
    assert!(
        seen.iter()
            .any(|l| l.contains(&format!("control http://{control}/"))
                && l.contains("control.token")),
        "{seen:#?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the token file must be private");
    }

    let inventory = ctl(&control, &token_file, &["inventory", "--json"]);
    let stdout = String::from_utf8_lossy(&inventory.stdout);
    assert!(
        inventory.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&inventory.stderr)
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["actors"][0]["name"], "kvcounter");
    assert_eq!(json["actors"][0]["rev"], 3);
    assert_eq!(json["links"].as_array().unwrap().len(), 2, "{json}");
    let contracts: Vec<&str> = json["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["contract"].as_str().unwrap())
        .collect();
    assert!(contracts.contains(&"wasmcloud:keyvalue"), "{json}");
    assert!(contracts.contains(&"wasmcloud:httpserver"), "{json}");

    let human = ctl(&control, &token_file, &["inventory"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(human.status.success());
    assert!(
        text.contains("kvcounter") && text.contains("memory"),
        "{text}"
    );

    let health = ctl(&control, &token_file, &["health"]);
    let text = String::from_utf8_lossy(&health.stdout);
    assert!(
        health.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&health.stderr)
    );
    assert_eq!(text.trim(), "healthy");

    // Updates: another module key needs --force-new-identity, a lower rev needs --force.
    let stranger = generate(KeyKind::Module);
    let renamed = dir.path().join("renamed.wasm");
    std::fs::write(&renamed, kvcounter(&account, &stranger, 5)).unwrap();
    let renamed = renamed.to_str().unwrap();
    let refused = ctl(
        &control,
        &token_file,
        &["actor", "update", "kvcounter", renamed],
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--force-new-identity"), "{stderr}");
    let forced = ctl(
        &control,
        &token_file,
        &[
            "actor",
            "update",
            "kvcounter",
            renamed,
            "--force-new-identity",
        ],
    );
    let stdout = String::from_utf8_lossy(&forced.stdout);
    assert!(
        forced.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert!(stdout.contains("rev 3 -> 5"), "{stdout}");
    assert!(
        stdout.contains("new identity: ") && stdout.contains(&stranger.public_key()),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&ctl(&control, &token_file, &["inventory", "--json"]).stdout)
            .unwrap();
    assert_eq!(json["actors"][0]["id"], stranger.public_key());
    assert!(
        json["links"]
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["actor_id"] == stranger.public_key()),
        "{json}"
    );
    let rollback = dir.path().join("rollback.wasm");
    std::fs::write(&rollback, kvcounter(&account, &stranger, 4)).unwrap();
    let rollback = rollback.to_str().unwrap();
    let refused = ctl(
        &control,
        &token_file,
        &["actor", "update", "kvcounter", rollback],
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not higher"), "{stderr}");
    let forced = ctl(
        &control,
        &token_file,
        &["actor", "update", "kvcounter", rollback, "--force"],
    );
    assert!(
        forced.status.success(),
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    let health = ctl(&control, &token_file, &["health"]);
    assert!(
        health.status.success(),
        "{}",
        String::from_utf8_lossy(&health.stdout)
    );

    let wrong = dir.path().join("wrong.token");
    std::fs::write(&wrong, "0123456789abcdef0123456789abcdef\n").unwrap();
    let refused = ctl(&control, &wrong, &["health"]);
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("bearer token"), "{stderr}");

    Command::new("kill")
        .args(["-INT", &up.0.id().to_string()])
        .status()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = up.0.try_wait().unwrap() {
            break exit;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "caplet up did not stop within 30 s of Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let rest: Vec<String> = lines.try_iter().collect();
    assert!(exit.success(), "exit {exit:?}: {rest:#?}");
    assert!(
        std::net::TcpStream::connect(&control).is_err(),
        "the control port must be closed"
    );
}
