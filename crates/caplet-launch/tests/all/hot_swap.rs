//! Hot swap under load, the seeds' promise: while clients keep requesting (≥ 500 requests per
//! second for 30 s), the actor is swapped 50 times between two versions. No request may fail,
//! every response must come whole from one version, and the first request after each swap
//! must already see the new version.
//!
//! The versions are tiny WAT waPC actors that answer a pre-encoded `HttpResponse` whose body
//! is their version, so the response can only be "v1" or "v2" if nothing tore.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use caplet_claims::{ActorSpec, KeyKind, KeyPair, generate, sign};
use caplet_host::UpdateOptions;
use caplet_wire::contracts::HTTP_SERVER;
use caplet_wire::httpserver::HttpResponse;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::common::*;

/// How long the load runs, and how many swaps happen meanwhile.
const LOAD: Duration = Duration::from_secs(30);
const SWAPS: u32 = 50;
const CLIENTS: usize = 8;

/// An HTTP actor that answers 200 with body `version`, whatever the request.
fn http_actor(version: &str) -> Vec<u8> {
    let response =
        caplet_wire::encode(&HttpResponse::ok("text/plain", version.as_bytes())).unwrap();
    let data: String = response.iter().map(|b| format!("\\{b:02x}")).collect();
    wat::parse_str(format!(
        r#"(module
  (import "wapc" "__guest_response" (func $response (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "{data}")
  (func (export "__guest_call") (param i32 i32) (result i32)
    (call $response (i32.const 0) (i32.const {len}))
    (i32.const 1)))"#,
        len = response.len()
    ))
    .unwrap()
}

fn signed(account: &KeyPair, subject: &KeyPair, version: &str, rev: i32) -> Vec<u8> {
    let mut spec = ActorSpec::new("versioned");
    spec.caps = vec![HTTP_SERVER.to_string()];
    spec.rev = Some(rev);
    sign(&http_actor(version), &spec, account, subject)
        .unwrap()
        .module
}

/// A keep-alive HTTP/1.1 client: GET / and return the body.
struct Client {
    stream: BufReader<TcpStream>,
    request: Vec<u8>,
}

impl Client {
    async fn connect(addr: &str) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            stream: BufReader::new(stream),
            request: format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes(),
        }
    }

    async fn get(&mut self) -> Result<(u16, Vec<u8>), String> {
        self.stream
            .get_mut()
            .write_all(&self.request)
            .await
            .map_err(|e| e.to_string())?;
        let mut status = 0;
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            let read = self
                .stream
                .read_line(&mut line)
                .await
                .map_err(|e| e.to_string())?;
            if read == 0 {
                return Err("connection closed".into());
            }
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some(rest) = trimmed.strip_prefix("HTTP/1.1 ") {
                status = rest[..3].parse().unwrap_or(0);
            } else if let Some((name, value)) = trimmed.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.stream
            .read_exact(&mut body)
            .await
            .map_err(|e| e.to_string())?;
        Ok((status, body))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_swaps_under_load_drop_no_request_and_switch_versions() {
    let deployment = Deployment::new();
    let subject = generate(KeyKind::Module);
    std::fs::write(
        deployment.path().join("versioned.wasm"),
        signed(&deployment.account, &subject, "v1", 1),
    )
    .unwrap();
    let addr = free_addr();
    deployment.manifest(&format!(
        "[[actor]]\nname = \"versioned\"\npath = \"versioned.wasm\"\ninstances = 4\n\n\
         [[link]]\nactor = \"versioned\"\ncontract = \"wasmcloud:httpserver\"\n[link.values]\naddress = \"{addr}\"\n"
    ));
    let running = deployment.launch().await.unwrap();
    let host = running.host.clone();

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let (addr, stop, ok) = (addr.clone(), stop.clone(), ok.clone());
        clients.push(tokio::spawn(async move {
            let mut client = Client::connect(&addr).await;
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match client.get().await {
                    Ok((200, body)) if body == b"v1" || body == b"v2" => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    other => failures.push(format!("{other:?}")),
                }
            }
            failures
        }));
    }

    // Swap every LOAD / SWAPS; right after each swap, a fresh request sees the new version.
    let started = Instant::now();
    let mut probe = Client::connect(&addr).await;
    let interval = LOAD / SWAPS;
    for swap in 1..=SWAPS {
        tokio::time::sleep_until((started + interval * swap).into()).await;
        let version = if swap % 2 == 1 { "v2" } else { "v1" };
        let rev = i32::try_from(swap).unwrap() + 1;
        host.update_actor(
            "versioned",
            signed(&deployment.account, &subject, version, rev),
            None,
            UpdateOptions::default(),
        )
        .await
        .unwrap();
        let (status, body) = probe.get().await.unwrap();
        assert_eq!(status, 200);
        assert_eq!(body, version.as_bytes(), "swap {swap} did not take effect");
    }
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        let failures = client.await.unwrap();
        assert!(
            failures.is_empty(),
            "failed requests: {:?}",
            &failures[..failures.len().min(5)]
        );
    }
    let served = ok.load(Ordering::Relaxed);
    let rate = served as f64 / elapsed.as_secs_f64();
    eprintln!("{served} requests in {elapsed:?} ({rate:.0}/s) across {SWAPS} swaps, none failed");
    assert!(
        rate >= 500.0,
        "the load must be at least 500 requests/s, was {rate:.0}"
    );
    assert_eq!(
        host.actors()[0].revision,
        Some(i32::try_from(SWAPS).unwrap() + 1)
    );
    running.host.shutdown().await;
}

/// A forced identity change keeps the HTTP route: the listener hands the route to the new key
/// in place, so a keep-alive connection opened before the swap gets the new version, as does a
/// new one, and the link is listed under the new key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_new_identity_keeps_serving_http_on_the_same_listener() {
    let deployment = Deployment::new();
    let subject = generate(KeyKind::Module);
    std::fs::write(
        deployment.path().join("versioned.wasm"),
        signed(&deployment.account, &subject, "v1", 1),
    )
    .unwrap();
    let addr = free_addr();
    deployment.manifest(&format!(
        "[[actor]]\nname = \"versioned\"\npath = \"versioned.wasm\"\n\n\
         [[link]]\nactor = \"versioned\"\ncontract = \"wasmcloud:httpserver\"\n[link.values]\naddress = \"{addr}\"\n"
    ));
    let running = deployment.launch().await.unwrap();
    let host = running.host.clone();
    let mut before = Client::connect(&addr).await;
    assert_eq!(before.get().await.unwrap(), (200, b"v1".to_vec()));

    let stranger = generate(KeyKind::Module);
    let refused = host
        .update_actor(
            "versioned",
            signed(&deployment.account, &stranger, "v2", 2),
            None,
            UpdateOptions::default(),
        )
        .await;
    assert!(refused.is_err());
    assert_eq!(before.get().await.unwrap(), (200, b"v1".to_vec()));

    let report = host
        .update_actor(
            "versioned",
            signed(&deployment.account, &stranger, "v2", 2),
            None,
            UpdateOptions {
                force_new_identity: true,
                ..UpdateOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(before.get().await.unwrap(), (200, b"v2".to_vec()));
    let mut after = Client::connect(&addr).await;
    assert_eq!(after.get().await.unwrap(), (200, b"v2".to_vec()));
    let links = host.links();
    assert_eq!(links.len(), 1);
    assert_eq!(&*links[0].actor.id, stranger.public_key());
    assert!(host.health().await.is_healthy());
    running.host.shutdown().await;
}
