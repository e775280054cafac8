#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! `caplet keys` and `caplet claims` from the outside: the commands a person or a CI job runs.
//!
//! Scripts branch on `caplet claims verify`'s exit code, so each failure must keep its own
//! documented code; seeds are secrets, so `keys gen` must write them private and never overwrite
//! one by accident; and `sign` must find its keys where docs/claims.md says it does. Every test
//! runs the real binary with its own HOME and keys directory.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use caplet_claims::{KeyKind, generate};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Self {
        Env {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn keys_dir(&self) -> PathBuf {
        self.path("keys")
    }

    /// Runs caplet with HOME and CAPLET_KEYS_DIR inside the temp dir and no other CAPLET_ vars.
    fn run_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_caplet"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("HOME", self.dir.path())
            .env("CAPLET_KEYS_DIR", self.keys_dir())
            .env_remove("CAPLET_ISSUER_KEY")
            .env_remove("CAPLET_MODULE_KEY");
        for (key, value) in vars {
            cmd.env(key, value);
        }
        cmd.output().unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[])
    }

    /// Writes a small module and returns its path.
    fn module(&self, name: &str) -> PathBuf {
        let bytes =
            wat::parse_str(r#"(module (func (export "answer") (result i32) i32.const 42))"#)
                .unwrap();
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// `keys gen account` into the keys dir; returns the public key.
    fn account(&self) -> String {
        let out = self.run(&["keys", "gen", "account"]);
        assert_success(&out);
        stdout(&out).trim().to_string()
    }

    fn sign(&self, input: &Path, output: &str, extra: &[&str]) -> Output {
        let mut args = vec!["claims", "sign", input.to_str().unwrap(), "-o", output];
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_success(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
}

fn assert_exit(out: &Output, code: i32, stderr_contains: &str) {
    assert_eq!(out.status.code(), Some(code), "stderr: {}", stderr(out));
    assert!(
        stderr(out).contains(stderr_contains),
        "stderr lacks {stderr_contains:?}: {}",
        stderr(out)
    );
}

#[test]
fn keys_gen_writes_a_private_seed_per_kind_and_prints_the_public_key() {
    let env = Env::new();
    for (kind, prefix) in [
        ("operator", 'O'),
        ("account", 'A'),
        ("module", 'M'),
        ("provider", 'V'),
        ("host", 'N'),
    ] {
        let out = env.run(&["keys", "gen", kind, "--name", "t"]);
        assert_success(&out);
        let public = stdout(&out).trim().to_string();
        assert_eq!(public.len(), 56);
        assert!(public.starts_with(prefix), "{kind}: {public}");
        let canonical = kind.parse::<KeyKind>().unwrap().name();
        let file = env.keys_dir().join(format!("t_{canonical}.nk"));
        let seed = std::fs::read_to_string(&file).unwrap();
        let key = caplet_claims::parse_seed(&seed, None).unwrap();
        assert_eq!(key.public_key(), public);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        }
    }
}

#[test]
fn keys_gen_never_overwrites_without_force_and_stdout_writes_no_file() {
    let env = Env::new();
    let first = env.account();
    let again = env.run(&["keys", "gen", "account"]);
    assert_exit(&again, 1, "already exists");
    let path = env.keys_dir().join("default_account.nk");
    let kept = caplet_claims::read_seed_file(&path, None).unwrap();
    assert_eq!(kept.public_key(), first);
    assert_success(&env.run(&["keys", "gen", "account", "--force"]));
    let replaced = caplet_claims::read_seed_file(&path, None).unwrap();
    assert_ne!(replaced.public_key(), first);

    let out = env.run(&["keys", "gen", "module", "--stdout", "--name", "printed"]);
    assert_success(&out);
    assert!(stdout(&out).contains("Seed:       SM"));
    assert!(!env.keys_dir().join("printed_module.nk").exists());

    let show = env.run(&["keys", "show", path.to_str().unwrap()]);
    assert_success(&show);
    assert_eq!(
        stdout(&show).trim(),
        format!("account {}", replaced.public_key())
    );
}

#[test]
fn sign_inspect_verify_round_trip_with_the_short_capability_flags() {
    let env = Env::new();
    let account = env.account();
    let input = env.module("echo.wasm");
    let out = env.sign(
        &input,
        "echo_s.wasm",
        &[
            "--name",
            "Echo",
            "-k",
            "-q",
            "-g",
            "-c",
            "-l",
            "-b",
            "--cap",
            "acme:custom",
            "-t",
            "web",
            "--tag",
            "demo",
            "--rev",
            "4",
            "--ver",
            "1.0.0",
            "--call-alias",
            "Echo-Svc",
            "--expires-in",
            "30d",
        ],
    );
    assert_success(&out);
    let module_key = caplet_claims::read_seed_file(&env.keys_dir().join("echo_module.nk"), None)
        .unwrap()
        .public_key();

    let inspect = env.run(&["claims", "inspect", "echo_s.wasm", "--json"]);
    assert_success(&inspect);
    let json: serde_json::Value = serde_json::from_str(&stdout(&inspect)).unwrap();
    assert_eq!(json["section"], "wasmcloud_jwt");
    assert_eq!(json["hash_matches"], true);
    assert_eq!(json["signature_valid"], true);
    let claims = &json["claims"];
    assert_eq!(claims["iss"], account.as_str());
    assert_eq!(claims["sub"], module_key.as_str());
    assert_eq!(claims["wascap_revision"], 3);
    let meta = &claims["wascap"];
    assert_eq!(meta["name"], "Echo");
    assert_eq!(
        meta["caps"],
        serde_json::json!([
            "wasmcloud:keyvalue",
            "wasmcloud:httpserver",
            "wasmcloud:messaging",
            "wasmcloud:httpclient",
            "wasmcloud:builtin:logging",
            "wasmcloud:blobstore",
            "acme:custom"
        ])
    );
    assert_eq!(meta["tags"], serde_json::json!(["web", "demo"]));
    assert_eq!(meta["rev"], 4);
    assert_eq!(meta["ver"], "1.0.0");
    assert_eq!(meta["call_alias"], "echo_svc");
    let exp = claims["exp"].as_u64().unwrap();
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(exp - iat, 30 * 86_400);

    let human = env.run(&["claims", "inspect", "echo_s.wasm"]);
    assert_success(&human);
    for expected in [
        "Name:         Echo",
        "K/V Store (wasmcloud:keyvalue)",
        "Tags:         web, demo",
        "Version:      1.0.0 (rev 4)",
        "(in 30 days)",
        "Not before:   immediately",
        "Signature:    valid for the issuer",
    ] {
        assert!(
            stdout(&human).contains(expected),
            "{expected:?} in {}",
            stdout(&human)
        );
    }

    let raw = env.run(&["claims", "inspect", "echo_s.wasm", "--raw"]);
    assert_success(&raw);
    assert_eq!(stdout(&raw).trim().split('.').count(), 3);

    let verify = env.run(&[
        "claims",
        "verify",
        "echo_s.wasm",
        "--issuer",
        &account,
        "--json",
    ]);
    assert_success(&verify);
    let json: serde_json::Value = serde_json::from_str(&stdout(&verify)).unwrap();
    assert_eq!(json["verified"], true);
    assert_eq!(json["claims"]["subject"], module_key.as_str());
    assert_eq!(json["claims"]["call_alias"], "echo_svc");
}

#[test]
fn verify_exit_codes_distinguish_each_failure() {
    let env = Env::new();
    env.account();
    let input = env.module("m.wasm");
    assert_success(&env.sign(&input, "ok.wasm", &["--name", "m", "--expires-in", "1d"]));
    let signed = std::fs::read(env.path("ok.wasm")).unwrap();
    let verify = |file: &str, extra: &[&str]| {
        let mut args = vec!["claims", "verify", file];
        args.extend_from_slice(extra);
        env.run(&args)
    };
    assert_success(&verify("ok.wasm", &[]));

    assert_exit(&verify("m.wasm", &[]), 10, "unsigned");

    let token = caplet_claims::inspect(&signed)
        .unwrap()
        .token()
        .as_str()
        .to_string();
    let mut doubled = signed.clone();
    append_custom(&mut doubled, "jwt", token.as_bytes());
    std::fs::write(env.path("doubled.wasm"), &doubled).unwrap();
    assert_exit(&verify("doubled.wasm", &[]), 11, "2 claims sections");

    let mut empty = std::fs::read(&input).unwrap();
    append_custom(&mut empty, "wasmcloud_jwt", b"");
    std::fs::write(env.path("empty.wasm"), &empty).unwrap();
    assert_exit(&verify("empty.wasm", &[]), 12, "is empty");

    let mut garbage = std::fs::read(&input).unwrap();
    append_custom(&mut garbage, "jwt", b"\x00\x01 not a token");
    std::fs::write(env.path("garbage.wasm"), &garbage).unwrap();
    assert_exit(&verify("garbage.wasm", &[]), 13, "malformed");

    // Swap in the claims of another token signed by a different account: bad signature.
    let other = caplet_claims::sign(
        &std::fs::read(&input).unwrap(),
        &caplet_claims::ActorSpec::new("m"),
        &generate(KeyKind::Account),
        &generate(KeyKind::Module),
    )
    .unwrap();
    let theirs: Vec<&str> = other.token.as_str().split('.').collect();
    let ours: Vec<&str> = token.split('.').collect();
    let forged = format!("{}.{}.{}", ours[0], theirs[1], ours[2]);
    let forged = caplet_claims::embed_token(&signed, &forged).unwrap();
    std::fs::write(env.path("forged.wasm"), &forged).unwrap();
    assert_exit(&verify("forged.wasm", &[]), 15, "signature is not valid");

    let mut flipped = signed.clone();
    let at = flipped
        .windows(3)
        .position(|w| w == [0x41, 42, 0x0b])
        .unwrap();
    flipped[at + 1] = 43;
    std::fs::write(env.path("flipped.wasm"), &flipped).unwrap();
    assert_exit(&verify("flipped.wasm", &[]), 16, "hash mismatch");

    assert_exit(&verify("ok.wasm", &["--at", "2d"]), 17, "expired");

    assert_success(&env.sign(&input, "later.wasm", &["--name", "m", "--not-before", "1d"]));
    assert_exit(&verify("later.wasm", &[]), 18, "not valid before");
    assert_success(&verify("later.wasm", &["--at", "2d"]));

    let stranger = generate(KeyKind::Account).public_key();
    assert_exit(
        &verify("ok.wasm", &["--issuer", &stranger]),
        19,
        "allow-list",
    );

    std::fs::write(env.path("cut.wasm"), &signed[..signed.len() - 20]).unwrap();
    assert_exit(&verify("cut.wasm", &[]), 20, "ends early");

    assert_exit(&verify("missing.wasm", &[]), 1, "cannot read");
    let module_key = generate(KeyKind::Module).public_key();
    assert_exit(
        &verify("ok.wasm", &["--issuer", &module_key]),
        2,
        "expected account key",
    );
}

#[test]
fn verify_help_lists_every_exit_code() {
    let env = Env::new();
    let out = env.run(&["claims", "verify", "--help"]);
    assert_success(&out);
    let help = stdout(&out);
    for code in [
        "0  verified",
        "10  unsigned",
        "11  multiple_tokens",
        "12  empty_token",
        "13  malformed_token",
        "14  invalid_key_claim",
        "15  invalid_signature",
        "16  hash_mismatch",
        "17  expired",
        "18  not_yet_valid",
        "19  issuer_not_allowed",
        "20  malformed_module",
    ] {
        assert!(help.contains(code), "{code:?} missing from:\n{help}");
    }
}

#[test]
fn sign_finds_keys_by_flag_environment_and_keys_dir() {
    let env = Env::new();
    let input = env.module("svc.wasm");

    let missing = env.sign(&input, "a.wasm", &["--name", "svc"]);
    assert_exit(&missing, 1, "caplet keys gen account");

    // Environment variables hold seeds.
    let account = generate(KeyKind::Account);
    let module = generate(KeyKind::Module);
    let out = env.run_with(
        &[
            "claims", "sign", "svc.wasm", "-o", "env.wasm", "--name", "svc",
        ],
        &[
            ("CAPLET_ISSUER_KEY", &account.seed().unwrap()),
            ("CAPLET_MODULE_KEY", &module.seed().unwrap()),
        ],
    );
    assert_success(&out);
    let claims = caplet_claims::inspect(&std::fs::read(env.path("env.wasm")).unwrap()).unwrap();
    assert_eq!(claims.claims().issuer, account.public_key());
    assert_eq!(claims.claims().subject, module.public_key());
    assert!(!env.keys_dir().join("svc_module.nk").exists());

    // Flags take paths; a key of the wrong kind is refused.
    let issuer_file = env.path("issuer.nk");
    caplet_claims::write_seed_file(&issuer_file, &account, false).unwrap();
    let module_file = env.path("module.nk");
    caplet_claims::write_seed_file(&module_file, &module, false).unwrap();
    let wrong = env.sign(
        &input,
        "x.wasm",
        &[
            "--name",
            "svc",
            "--issuer-key",
            module_file.to_str().unwrap(),
        ],
    );
    assert_exit(&wrong, 1, "expected account key");

    // The keys dir: the issuer is default_account.nk; the module key is made once, then reused.
    let issuer = env.account();
    assert_success(&env.sign(&input, "one.wasm", &["--name", "svc"]));
    assert!(env.keys_dir().join("svc_module.nk").exists());
    assert_success(&env.sign(&env.path("one.wasm"), "two.wasm", &["--name", "svc v2"]));
    let one = caplet_claims::inspect(&std::fs::read(env.path("one.wasm")).unwrap()).unwrap();
    let two_bytes = std::fs::read(env.path("two.wasm")).unwrap();
    let two = caplet_claims::inspect(&two_bytes).unwrap();
    assert_eq!(one.claims().issuer, issuer);
    assert_eq!(one.claims().subject, two.claims().subject);
    assert!(
        !env.keys_dir().join("one_module.nk").exists(),
        "the signed module kept its key"
    );
    assert_eq!(two.claims().metadata.name.as_deref(), Some("svc v2"));
    assert_eq!(
        caplet_claims::scan(&two_bytes).unwrap().token_count,
        1,
        "re-signing replaces"
    );
}

#[test]
fn sign_accepts_wat_and_writes_beside_the_input_by_default() {
    let env = Env::new();
    env.account();
    std::fs::write(env.path("tiny.wat"), "(module)").unwrap();
    let out = env.run(&["claims", "sign", "tiny.wat", "--name", "tiny"]);
    assert_success(&out);
    let signed = std::fs::read(env.path("tiny_s.wasm")).unwrap();
    assert!(caplet_claims::verify(&signed, &caplet_claims::Policy::default()).is_ok());
}

fn append_custom(module: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut payload = vec![u8::try_from(name.len()).unwrap()];
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    module.push(0);
    let mut size = payload.len();
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        if size == 0 {
            module.push(byte);
            break;
        }
        module.push(byte | 0x80);
    }
    module.extend_from_slice(&payload);
}
