//! A host with the control API on a free loopback port, signing helpers and the guests.

use caplet_claims::{ActorSpec, KeyKind, KeyPair, generate, sign};
use caplet_control::{Client, ControlOptions, ControlServer, Reply, Token};
use caplet_host::{Host, HostConfig};
use caplet_runtime::{Limits, Runtime, RuntimeConfig};
use serde::Serialize;

pub const PROBE: &[u8] = include_bytes!("../../../../guests/out/probe.wasm");
pub const KVCOUNTER: &[u8] = include_bytes!("../../../../guests/out/kvcounter.wasm");

/// A host, its control API, a client holding the right token, and the signing account.
pub struct Rig {
    pub host: Host,
    pub server: Option<ControlServer>,
    pub client: Client,
    pub token: Token,
    pub account: KeyPair,
    pub dir: tempfile::TempDir,
}

impl Rig {
    pub async fn new() -> Self {
        let account = generate(KeyKind::Account);
        let runtime = Runtime::new(RuntimeConfig {
            cache_dir: None,
            ..RuntimeConfig::default()
        })
        .unwrap();
        let host = Host::new(
            runtime,
            HostConfig {
                issuers: vec![account.public_key()],
                ..HostConfig::default()
            },
        );
        let token = Token::generate().unwrap();
        let server = ControlServer::start(
            "127.0.0.1:0".parse().unwrap(),
            host.clone(),
            ControlOptions {
                token: token.clone(),
                default_limits: Limits::default(),
            },
        )
        .await
        .unwrap();
        let client = Client::new(
            server.local_addr().to_string(),
            Some(token.as_str().to_string()),
        );
        Self {
            host,
            server: Some(server),
            client,
            token,
            account,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A client for the same API with another token (or none).
    pub fn client_with(&self, token: Option<&str>) -> Client {
        let addr = self.server.as_ref().unwrap().local_addr().to_string();
        Client::new(addr, token.map(str::to_string))
    }

    /// `module` signed by this rig's account under `subject`.
    pub fn sign(
        &self,
        module: &[u8],
        subject: &KeyPair,
        name: &str,
        caps: &[&str],
        rev: i32,
    ) -> Vec<u8> {
        let mut spec = ActorSpec::new(name);
        spec.caps = caps.iter().map(|c| c.to_string()).collect();
        spec.rev = Some(rev);
        spec.ver = Some(format!("{rev}.0.0"));
        sign(module, &spec, &self.account, subject).unwrap().module
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.client.send::<()>("GET", path, None).await.unwrap()
    }

    pub async fn send(&self, method: &str, path: &str, body: &impl Serialize) -> Reply {
        self.client.send(method, path, Some(body)).await.unwrap()
    }

    /// Status of a hand-written request `line` (e.g. `GET /v1/inventory`) with one `header`.
    pub async fn raw_status(&self, line: &str, header: &str) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.server.as_ref().unwrap().local_addr();
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request =
            format!("{line} HTTP/1.1\r\nHost: {addr}\r\n{header}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8_lossy(&raw);
        text.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    pub async fn inventory(&self) -> serde_json::Value {
        let reply = self.get("/v1/inventory").await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json().unwrap()
    }
}

/// A fresh module key.
pub fn module_key() -> KeyPair {
    generate(KeyKind::Module)
}

/// `bytes` as standard padded base64.
pub fn base64(bytes: &[u8]) -> String {
    data_encoding::BASE64.encode(bytes)
}
