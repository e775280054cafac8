//! Shared fixtures: a temporary folder with module files, an account key, a fixed environment.
#![allow(dead_code)]

use std::path::Path;

use caplet_claims::{KeyKind, generate};
use caplet_manifest::{Manifest, ManifestError, ManifestErrors, parse};
use tempfile::TempDir;

/// The full example from docs/manifest.md; `ISSUER` is replaced by a real account key.
pub const FULL: &str = r#"# examples/kvcounter/caplet.toml
[host]
issuers = ["ISSUER"]
allow_unsigned = false
control_api = "127.0.0.1:7171"
control_token_file = "secrets/token"

[host.limits]
max_memory_mib = 64
deadline_ms = 2000
max_payload_kib = 1024
max_stack_kib = 512
max_host_call_payload_kib = 1024

[[actor]]
name = "kvcounter"
path = "kvcounter.wasm"
instances = 4

[actor.limits]
deadline_ms = 500

[[actor]]
name = "echo"
path = "build/echo.wasm"

[[provider]]
contract = "wasmcloud:keyvalue"
implementation = "redis"

[provider.config]
url = "${REDIS_URL:-redis://127.0.0.1:6379/}"
pool = 8
ratio = 0.5
tls = false

[[link]]
actor = "kvcounter"
contract = "wasmcloud:httpserver"

[link.values]
address = "127.0.0.1:8080"

[[link]]
actor = "kvcounter"
contract = "wascc:keyvalue"

[[link]]
actor = "echo"
contract = "wasmcloud:httpserver"
link_name = "admin"

[link.values]
address = "127.0.0.1:${ADMIN_PORT}"
"#;

pub struct Fixture {
    pub dir: TempDir,
    pub issuer: String,
}

impl Fixture {
    /// A folder with kvcounter.wasm and build/echo.wasm.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kvcounter.wasm"), b"\0asm\x01\0\0\0").unwrap();
        std::fs::create_dir(dir.path().join("build")).unwrap();
        std::fs::write(dir.path().join("build/echo.wasm"), b"\0asm\x01\0\0\0").unwrap();
        Fixture {
            dir,
            issuer: generate(KeyKind::Account).public_key(),
        }
    }

    pub fn base(&self) -> &Path {
        self.dir.path()
    }

    /// `text` with ISSUER replaced by this fixture's account key.
    pub fn text(&self, text: &str) -> String {
        text.replace("ISSUER", &self.issuer)
    }

    /// Parses `text` (ISSUER replaced) with [`env`] as the environment.
    pub fn parse(&self, text: &str) -> Result<Manifest, ManifestErrors> {
        parse(
            &self.text(text),
            Path::new("caplet.toml"),
            self.base(),
            &env,
        )
    }

    /// The errors for `text`; panics when it parses.
    pub fn errors(&self, text: &str) -> Vec<ManifestError> {
        match self.parse(text) {
            Ok(manifest) => panic!("expected errors, parsed {manifest:#?}"),
            Err(errors) => errors.into_vec(),
        }
    }

    /// The single error for `text`, with its Display form printed on failure.
    pub fn error(&self, text: &str) -> ManifestError {
        let errors = self.errors(text);
        assert_eq!(
            errors.len(),
            1,
            "expected one error, got:\n{}",
            ManifestErrors::from(errors.clone())
        );
        errors.into_iter().next().unwrap()
    }
}

/// The test environment: ADMIN_PORT=9090, EMPTY="", nothing else.
pub fn env(name: &str) -> Option<String> {
    match name {
        "ADMIN_PORT" => Some("9090".to_string()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

/// A minimal valid manifest header: one issuer, one actor; append more sections to it.
pub const MINIMAL: &str = r#"[host]
issuers = ["ISSUER"]

[[actor]]
name = "kvcounter"
path = "kvcounter.wasm"
"#;
