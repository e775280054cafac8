//! A deployment under test: signing, manifest writing, launching, and a tiny HTTP client.

use std::path::{Path, PathBuf};
use std::time::Duration;

use caplet_claims::{ActorSpec, KeyKind, KeyPair, generate, sign};
use caplet_launch::{LaunchError, Running, launch};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const KVCOUNTER: &[u8] = include_bytes!("../../../../guests/out/kvcounter.wasm");
pub const IOT_INGEST: &[u8] = include_bytes!("../../../../guests/out/iot_ingest.wasm");
pub const IOT_DASHBOARD: &[u8] = include_bytes!("../../../../guests/out/iot_dashboard.wasm");
pub const PROBE: &[u8] = include_bytes!("../../../../guests/out/probe.wasm");

/// A folder with a manifest and signed modules, and the account that signs them.
pub struct Deployment {
    pub dir: tempfile::TempDir,
    pub account: KeyPair,
}

impl Deployment {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            account: generate(KeyKind::Account),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `module` signed with `caps` as `<file>`.
    pub fn add_signed(&self, file: &str, module: &[u8], caps: &[&str]) {
        let mut spec = ActorSpec::new(file.trim_end_matches(".wasm"));
        spec.caps = caps.iter().map(|c| c.to_string()).collect();
        let signed = sign(module, &spec, &self.account, &generate(KeyKind::Module)).unwrap();
        std::fs::write(self.path().join(file), signed.module).unwrap();
    }

    /// Writes `module` as it is (unsigned).
    pub fn add_unsigned(&self, file: &str, module: &[u8]) {
        std::fs::write(self.path().join(file), module).unwrap();
    }

    /// Writes caplet.toml: a `[host]` trusting this deployment's account, then `body`.
    pub fn manifest(&self, body: &str) -> PathBuf {
        let text = format!(
            "[host]\nissuers = [\"{}\"]\n\n{body}",
            self.account.public_key()
        );
        let path = self.path().join("caplet.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Loads and launches the manifest.
    pub async fn launch(&self) -> Result<Running, LaunchError> {
        let manifest = caplet_manifest::load(self.path()).map_err(LaunchError::Manifest)?;
        launch(&manifest).await
    }
}

/// A free loopback address for an HTTP link.
pub fn free_addr() -> String {
    caplet_testkit::free_addr().to_string()
}

/// A response: status and body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// One HTTP/1.1 request with `Connection: close`, read to the end (5 s limit).
pub async fn http(method: &str, addr: &str, path: &str, body: &str) -> Reply {
    tokio::time::timeout(Duration::from_secs(5), async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8_lossy(&raw).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            dechunk(body)
        } else {
            body.to_string()
        };
        Reply { status, body }
    })
    .await
    .expect("the HTTP request timed out")
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

pub async fn get(addr: &str, path: &str) -> Reply {
    http("GET", addr, path, "").await
}
