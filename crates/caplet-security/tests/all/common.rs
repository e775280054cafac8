//! Shared set-up: signing, hosts with chosen engine limits, WAT waPC guests, provider doubles,
//! host RSS, and a lock so that the tests that measure process memory run alone.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use caplet_claims::{ActorSpec, KeyKind, KeyPair, generate, sign};
use caplet_host::{
    ActorRef, BoxFuture, Host, HostConfig, LinkDefinition, Provider, ProviderCall, ProviderError,
};
use caplet_runtime::{EngineLimits, Limits, Runtime, RuntimeConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The probe guest: echo, loop, alloc N, trap, recurse, panic, fail, log, host_call, version.
pub const PROBE: &[u8] = include_bytes!("../../../../guests/out/probe.wasm");

static MEMORY_LOCK: RwLock<()> = RwLock::const_new(());

/// Every test holds this; tests that measure host RSS hold [`exclusive`] instead, so no other
/// test allocates while they measure.
pub async fn shared() -> RwLockReadGuard<'static, ()> {
    MEMORY_LOCK.read().await
}

/// Held by the tests that measure host RSS.
pub async fn exclusive() -> RwLockWriteGuard<'static, ()> {
    MEMORY_LOCK.write().await
}

/// Resident set size of this process, in bytes (Linux `/proc/self/status`).
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib * 1024
}

/// A signing account and hosts that trust it.
pub struct Issuer {
    pub account: KeyPair,
}

impl Issuer {
    pub fn new() -> Self {
        Self {
            account: generate(KeyKind::Account),
        }
    }

    /// `module` signed with `caps` under a fresh module key; returns the bytes and that key.
    pub fn sign(&self, module: &[u8], name: &str, caps: &[&str]) -> (Vec<u8>, String) {
        let subject = generate(KeyKind::Module);
        let mut spec = ActorSpec::new(name);
        spec.caps = caps.iter().map(|c| c.to_string()).collect();
        (
            self.sign_spec(module, &spec, &subject),
            subject.public_key(),
        )
    }

    pub fn sign_spec(&self, module: &[u8], spec: &ActorSpec, subject: &KeyPair) -> Vec<u8> {
        sign(module, spec, &self.account, subject).unwrap().module
    }

    /// A host trusting this issuer, on an engine with default limits.
    pub fn host(&self) -> Host {
        self.host_on(EngineLimits::default())
    }

    /// A host trusting this issuer, on an engine with `engine` limits.
    pub fn host_on(&self, engine: EngineLimits) -> Host {
        Host::new(
            runtime(engine),
            HostConfig {
                issuers: vec![self.account.public_key()],
                ..HostConfig::default()
            },
        )
    }
}

pub fn runtime(limits: EngineLimits) -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: None,
        limits,
    })
    .unwrap()
}

/// Per-actor limits with this call deadline.
pub fn deadline(ms: u64) -> Limits {
    Limits {
        call_deadline: Duration::from_millis(ms),
        ..Limits::default()
    }
}

/// The probe's `host_call` payload.
pub fn host_call(binding: &str, namespace: &str, operation: &str, payload: &[u8]) -> Vec<u8> {
    let mut bytes = format!("{binding}\n{namespace}\n{operation}\n").into_bytes();
    bytes.extend_from_slice(payload);
    bytes
}

/// `bytes` as a WAT data string.
pub fn wat_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("\\{b:02x}")).collect()
}

/// A waPC module with every import a guest may use, `data` at address 0, and `body` as the
/// body of `__guest_call(op_len, req_len) -> i32` (locals `$i` and `$n` are free to use).
pub fn wapc(memory_pages: u32, data: &[u8], extra: &str, body: &str) -> Vec<u8> {
    let text = format!(
        r#"(module
  (import "wapc" "__guest_response" (func $response (param i32 i32)))
  (import "wapc" "__guest_request" (func $request (param i32 i32)))
  (import "wapc" "__console_log" (func $log (param i32 i32)))
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") {memory_pages})
  (data (i32.const 0) "{data}")
  {extra}
  (func (export "__guest_call") (param $op_len i32) (param $req_len i32) (result i32)
    (local $i i32) (local $n i32)
    {body}))"#,
        data = wat_bytes(data)
    );
    wat::parse_str(text).unwrap()
}

/// A waPC actor that answers `answer` to every operation.
pub fn answering(answer: &[u8]) -> Vec<u8> {
    wapc(
        1,
        answer,
        "",
        &format!(
            "(call $response (i32.const 0) (i32.const {})) (i32.const 1)",
            answer.len()
        ),
    )
}

/// A waPC actor that spins forever in a bare `(loop br 0)`.
pub fn spinner() -> Vec<u8> {
    wapc(1, b"", "", "(loop $spin (br $spin)) (i32.const 1)")
}

/// An HTTP actor answering 200 with `body` to every request (a pre-encoded HttpResponse).
pub fn http_actor(body: &str) -> Vec<u8> {
    let response = caplet_wire::encode(&caplet_wire::httpserver::HttpResponse::ok(
        "text/plain",
        body.as_bytes(),
    ))
    .unwrap();
    answering(&response)
}

/// Sets a flag when dropped: proves a provider's future was dropped, not left running.
pub struct DropFlag(pub Arc<AtomicUsize>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A provider double: after `delay` it answers `reply`; it counts calls started and call
/// futures dropped (completed or cancelled), and records payloads.
pub struct Slow {
    pub contract: &'static str,
    pub delay: Duration,
    pub reply: Result<Vec<u8>, ProviderError>,
    pub started: Arc<AtomicUsize>,
    pub dropped: Arc<AtomicUsize>,
    pub payloads: Mutex<Vec<Vec<u8>>>,
}

impl Slow {
    pub fn new(
        contract: &'static str,
        delay: Duration,
        reply: Result<Vec<u8>, ProviderError>,
    ) -> Arc<Self> {
        Arc::new(Self {
            contract,
            delay,
            reply,
            started: Arc::new(AtomicUsize::new(0)),
            dropped: Arc::new(AtomicUsize::new(0)),
            payloads: Mutex::new(Vec::new()),
        })
    }

    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

impl Provider for Slow {
    fn contract_id(&self) -> &str {
        self.contract
    }

    fn implementation(&self) -> &str {
        "slow-double"
    }

    fn bind(&self, _: LinkDefinition) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(async { Ok(()) })
    }

    fn unbind<'a>(&'a self, _: &'a ActorRef, _: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }

    fn handle<'a>(
        &'a self,
        call: ProviderCall<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>> {
        self.started.fetch_add(1, Ordering::SeqCst);
        self.payloads.lock().unwrap().push(call.payload.to_vec());
        let guard = DropFlag(self.dropped.clone());
        let (delay, reply) = (self.delay, self.reply.clone());
        Box::pin(async move {
            let _guard = guard;
            tokio::time::sleep(delay).await;
            reply
        })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
}

/// A folder with a manifest and signed modules, launched the way `caplet up` does.
pub struct Deployment {
    pub dir: tempfile::TempDir,
    pub issuer: Issuer,
}

impl Deployment {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            issuer: Issuer::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `module` signed with `caps` as `<name>.wasm`.
    pub fn add(&self, name: &str, module: &[u8], caps: &[&str]) {
        let (signed, _) = self.issuer.sign(module, name, caps);
        std::fs::write(self.path().join(format!("{name}.wasm")), signed).unwrap();
    }

    /// Writes caplet.toml trusting this deployment's issuer, then `body`.
    pub fn manifest(&self, body: &str) {
        let text = format!(
            "[host]\nissuers = [\"{}\"]\n\n{body}",
            self.issuer.account.public_key()
        );
        std::fs::write(self.path().join("caplet.toml"), text).unwrap();
    }

    pub async fn launch(&self) -> caplet_launch::Running {
        let manifest = caplet_manifest::load(self.path()).unwrap();
        caplet_launch::launch(&manifest).await.unwrap()
    }
}

/// `[[actor]]` + HTTP `[[link]]` manifest text for an HTTP actor `name` on `addr`.
pub fn http_actor_manifest(name: &str, addr: &str, deadline_ms: u64) -> String {
    format!(
        "[[actor]]\nname = \"{name}\"\npath = \"{name}.wasm\"\n[actor.limits]\ndeadline_ms = {deadline_ms}\n\n\
         [[link]]\nactor = \"{name}\"\ncontract = \"wasmcloud:httpserver\"\n[link.values]\naddress = \"{addr}\"\n\n"
    )
}

pub fn free_addr() -> String {
    caplet_testkit::free_addr().to_string()
}

/// One `GET path` with `Connection: close`; returns the status (0 when the connection failed
/// or closed without a status line) and the raw text.
pub async fn get(addr: &str, path: &str) -> (u16, String) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    raw_request(addr, request.as_bytes()).await
}

/// Sends `request` as it is and reads the answer to the end (10 s limit).
pub async fn raw_request(addr: &str, request: &[u8]) -> (u16, String) {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        // The server may answer (and close) before it has read everything: ignore write errors.
        let _ = stream.write_all(request).await;
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw).await;
        let text = String::from_utf8_lossy(&raw).to_string();
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Some((status, text))
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("the HTTP exchange timed out")
        .unwrap_or((0, String::new()))
}

/// Waits until `addr` accepts connections (the HTTP provider binds asynchronously).
pub async fn wait_listening(addr: &str) {
    for _ in 0..200 {
        if TcpStream::connect(addr).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{addr} never started listening");
}

/// What the test binary logged while at least one [`LogCapture`] was alive.
struct LogSink {
    active: usize,
    bytes: Vec<u8>,
}

static LOG_SINK: Mutex<LogSink> = Mutex::new(LogSink {
    active: 0,
    bytes: Vec::new(),
});

/// The global subscriber's writer: appends to [`LOG_SINK`] while a capture is alive.
#[derive(Clone, Copy)]
struct SinkWriter;

impl std::io::Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut sink = LOG_SINK.lock().unwrap_or_else(|e| e.into_inner());
        if sink.active > 0 {
            sink.bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for SinkWriter {
    type Writer = SinkWriter;
    fn make_writer(&'a self) -> Self::Writer {
        *self
    }
}

/// Captures the log (INFO and above, no ANSI colours) from every thread while alive.
///
/// The subscriber is the test binary's *global* default, installed once. A scoped
/// `tracing::subscriber::set_default` does not work here: tracing-core caches each callsite's
/// interest when the callsite is first hit, and while only one dispatcher is registered (the
/// scoped one) it asks only the dispatcher of the thread that hits it first. When another test
/// (C3, B4: no subscriber on their threads) reaches the guest `console_log` callsite first,
/// its interest is cached as "never" and the scoped subscriber sees none of those events. A
/// global default is the one every thread asks.
pub struct LogCapture {
    start: usize,
}

impl LogCapture {
    pub fn start() -> Self {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(SinkWriter)
                .with_ansi(false)
                .with_max_level(tracing::Level::INFO)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in this test binary");
        });
        let mut sink = LOG_SINK.lock().unwrap();
        sink.active += 1;
        Self {
            start: sink.bytes.len(),
        }
    }

    /// Everything logged (by any test) since this capture started.
    pub fn bytes(&self) -> Vec<u8> {
        let sink = LOG_SINK.lock().unwrap();
        sink.bytes.get(self.start..).unwrap_or_default().to_vec()
    }

    /// The lines logged since this capture started that contain `needle`.
    pub fn lines(&self, needle: &str) -> Vec<String> {
        String::from_utf8_lossy(&self.bytes())
            .lines()
            .filter(|line| line.contains(needle))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        let mut sink = LOG_SINK.lock().unwrap_or_else(|e| e.into_inner());
        sink.active -= 1;
        if sink.active == 0 {
            sink.bytes = Vec::new();
        }
    }
}

/// One HTTP/1.1 keep-alive connection for load tests: `GET path`, status and body length.
pub struct KeepAlive {
    addr: String,
    stream: Option<tokio::io::BufReader<TcpStream>>,
}

impl KeepAlive {
    pub fn new(addr: &str) -> Self {
        Self {
            addr: addr.to_string(),
            stream: None,
        }
    }

    /// The status of one `GET path` (0 when the exchange failed; the next call reconnects).
    pub async fn get(&mut self, path: &str) -> u16 {
        match tokio::time::timeout(Duration::from_secs(10), self.exchange(path)).await {
            Ok(Ok(status)) => status,
            _ => {
                self.stream = None;
                0
            }
        }
    }

    async fn exchange(&mut self, path: &str) -> std::io::Result<u16> {
        use tokio::io::AsyncBufReadExt;
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.addr).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(tokio::io::BufReader::new(stream));
        }
        let stream = self.stream.as_mut().unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr);
        stream.get_mut().write_all(request.as_bytes()).await?;
        let mut line = String::new();
        stream.read_line(&mut line).await?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (mut length, mut close) = (0usize, false);
        loop {
            line.clear();
            if stream.read_line(&mut line).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let header = line.trim_end().to_ascii_lowercase();
            if header.is_empty() {
                break;
            }
            if let Some(value) = header.strip_prefix("content-length:") {
                length = value.trim().parse().unwrap_or(0);
            }
            if header == "connection: close" {
                close = true;
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await?;
        if close {
            self.stream = None;
        }
        Ok(status)
    }
}
