//! E. Artifacts, signing and policy: only signed modules from trusted issuers, with intact
//! code and a valid time window, load; malformed, oversized and precompiled bytes are refused
//! before compilation; capabilities need a claim and a link; egress is checked after DNS.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use caplet_claims::{ActorSpec, ClaimsError, KeyKind, generate};
use caplet_host::{DispatchError, Host, HostConfig, HostError};
use caplet_runtime::{EngineLimits, LoadError};
use caplet_wire::contracts::{HTTP_CLIENT, KEY_VALUE};
use caplet_wire::httpclient::HttpRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::common::*;

fn claims_error(error: HostError) -> ClaimsError {
    match error {
        HostError::Claims { source, .. } => source,
        other => panic!("expected a claims refusal, got {other:?}"),
    }
}

/// E1: an unsigned module is refused at load (deny by default) with a typed error.
#[tokio::test]
async fn unsigned_module_is_refused() {
    let _lock = shared().await;
    let host = Issuer::new().host();
    let error = host
        .start_actor("raw", PROBE.to_vec(), deadline(2000), 1)
        .await
        .unwrap_err();
    assert!(matches!(error, HostError::Unsigned { .. }), "{error:?}");
    assert!(host.actors().is_empty());
}

/// E2: a module signed by an account outside the allow-list is refused.
#[tokio::test]
async fn untrusted_issuer_is_refused() {
    let _lock = shared().await;
    let host = Issuer::new().host();
    let (module, _) = Issuer::new().sign(PROBE, "stranger", &[]);
    let error = host
        .start_actor("stranger", module, deadline(2000), 1)
        .await
        .unwrap_err();
    assert!(
        matches!(claims_error(error), ClaimsError::IssuerNotAllowed { .. }),
        "wrong refusal"
    );
}

/// E3: a valid signature with one code byte changed after signing (an `i32.const` operand)
/// is refused as a module hash mismatch.
#[tokio::test]
async fn code_byte_flipped_after_signing_is_refused() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    // i32.const 0x12345678 encodes as 41 f8 ac d1 91 01.
    let module = wapc(1, b"", "", "(drop (i32.const 0x12345678)) (i32.const 1)");
    let (mut signed, _) = issuer.sign(&module, "flipped", &[]);
    let needle = [0x41, 0xf8, 0xac, 0xd1, 0x91, 0x01];
    let at = signed
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the i32.const in the code section");
    signed[at + 1] ^= 0x01;
    let error = host
        .start_actor("flipped", signed, deadline(2000), 1)
        .await
        .unwrap_err();
    let source = claims_error(error);
    assert!(
        matches!(source, ClaimsError::HashMismatch { .. }),
        "{source:?}"
    );
}

/// E4: expired claims and claims not yet valid are refused, with distinct errors.
#[tokio::test]
async fn expired_and_not_yet_valid_claims_are_refused_distinctly() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut expired = ActorSpec::new("expired");
    expired.issued_at = Some(now - 7200);
    expired.expires = Some(now - 3600);
    let mut early = ActorSpec::new("early");
    early.not_before = Some(now + 3600);
    let expired = issuer.sign_spec(PROBE, &expired, &generate(KeyKind::Module));
    let early = issuer.sign_spec(PROBE, &early, &generate(KeyKind::Module));
    let error = host
        .start_actor("expired", expired, deadline(2000), 1)
        .await
        .unwrap_err();
    assert!(matches!(claims_error(error), ClaimsError::Expired { .. }));
    let error = host
        .start_actor("early", early, deadline(2000), 1)
        .await
        .unwrap_err();
    assert!(matches!(
        claims_error(error),
        ClaimsError::NotYetValid { .. }
    ));
}

/// E5: truncated and malformed modules, a malformed custom section and huge section lengths
/// are refused without a panic, each in well under a second (target < 100 ms), both by the
/// claims check (signed host) and by the loader (development host admitting unsigned).
/// OCI layers do not apply: Caplet loads modules from files, not registries.
#[tokio::test]
async fn malformed_modules_are_refused_quickly_without_panic() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let strict = issuer.host();
    let dev = Host::new(
        runtime(EngineLimits::default()),
        HostConfig {
            allow_unsigned: true,
            ..HostConfig::default()
        },
    );
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("magic only", b"\0asm".to_vec()),
        ("truncated", PROBE[..PROBE.len() / 2].to_vec()),
        ("bad version", b"\0asm\x02\0\0\0".to_vec()),
        // A custom section claiming 4 GiB of content.
        (
            "huge section",
            b"\0asm\x01\0\0\0\x00\xff\xff\xff\xff\x0f".to_vec(),
        ),
        // A code section claiming 2^32 - 1 functions.
        (
            "huge count",
            b"\0asm\x01\0\0\0\x0a\x05\xff\xff\xff\xff\x0f".to_vec(),
        ),
        // A custom section whose name length runs past the section.
        ("bad custom", b"\0asm\x01\0\0\0\x00\x03\x7fab".to_vec()),
        // An over-long LEB128.
        (
            "bad leb",
            b"\0asm\x01\0\0\0\x01\x80\x80\x80\x80\x80\x80\x01".to_vec(),
        ),
    ];
    let (signed, _) = issuer.sign(PROBE, "cut", &[]);
    cases.push(("signed, truncated", signed[..signed.len() - 10].to_vec()));
    for (name, bytes) in cases {
        for host in [&strict, &dev] {
            let started = Instant::now();
            let result = host
                .start_actor("bad", bytes.clone(), deadline(2000), 1)
                .await;
            let elapsed = started.elapsed();
            assert!(result.is_err(), "{name}: accepted");
            assert!(
                elapsed < Duration::from_secs(1),
                "{name}: refused after {elapsed:?}"
            );
        }
    }
    assert!(strict.actors().is_empty() && dev.actors().is_empty());
}

/// E6: an artifact over the size limit (50 MiB default, `DEFAULT_MAX_MODULE_BYTES`) is
/// refused as too large before anything is parsed or compiled: its garbage body would
/// otherwise be reported as invalid.
#[tokio::test]
async fn oversized_artifact_is_refused_before_compilation() {
    let _lock = shared().await;
    let dev = Host::new(
        runtime(EngineLimits::default()),
        HostConfig {
            allow_unsigned: true,
            ..HostConfig::default()
        },
    );
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    bytes.resize(caplet_runtime::DEFAULT_MAX_MODULE_BYTES + 1, 0xff);
    let started = Instant::now();
    let error = dev
        .start_actor("huge", bytes, deadline(2000), 1)
        .await
        .unwrap_err();
    assert!(
        matches!(error, HostError::Load(LoadError::TooLarge { .. })),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// E7 (the part that applies; there is no lattice yet): a precompiled wasmtime artifact
/// offered as a module is refused; only original Wasm is compiled, `deserialize` is used
/// only on the local compile cache.
#[tokio::test]
async fn precompiled_artifact_is_refused() {
    let _lock = shared().await;
    let dev = Host::new(
        runtime(EngineLimits::default()),
        HostConfig {
            allow_unsigned: true,
            ..HostConfig::default()
        },
    );
    let cwasm = dev.runtime().engine().precompile_module(PROBE).unwrap();
    let error = dev
        .start_actor("cwasm", cwasm, deadline(2000), 1)
        .await
        .unwrap_err();
    // Refused either by the claims reader (a .cwasm is not a Wasm module) or, past it, by the
    // loader that never deserializes outside input: both before anything is compiled or run.
    assert!(
        matches!(
            error,
            HostError::Load(LoadError::Precompiled { .. }) | HostError::Claims { .. }
        ),
        "{error:?}"
    );
}

/// E8 (the part that applies: Caplet has no external policy service, so "fail closed" is
/// the built-in policy): a host with no policy configured (no issuers, unsigned not allowed)
/// admits nothing, signed or not. It never defaults to allow-all.
#[tokio::test]
async fn host_without_policy_configured_denies_everything() {
    let _lock = shared().await;
    let host = Host::new(runtime(EngineLimits::default()), HostConfig::default());
    let (signed, _) = Issuer::new().sign(PROBE, "signed", &[]);
    let error = host
        .start_actor("signed", signed, deadline(2000), 1)
        .await
        .unwrap_err();
    assert!(
        matches!(error, HostError::NoTrustedIssuers { .. }),
        "{error:?}"
    );
    let error = host
        .start_actor("raw", PROBE.to_vec(), deadline(2000), 1)
        .await
        .unwrap_err();
    assert!(matches!(error, HostError::Unsigned { .. }), "{error:?}");
}

/// E9: a guest calling key-value without the claim is "not authorized"; with the claim but
/// no link it is "unavailable" (503). Neither contacts the provider.
#[tokio::test]
async fn capability_without_claim_or_link_is_refused_before_the_provider() {
    let _lock = shared().await;
    let issuer = Issuer::new();
    let host = issuer.host();
    let (no_claim, _) = issuer.sign(PROBE, "no-claim", &[]);
    let (no_link, _) = issuer.sign(PROBE, "no-link", &[KEY_VALUE]);
    host.start_actor("no-claim", no_claim, deadline(2000), 1)
        .await
        .unwrap();
    host.start_actor("no-link", no_link, deadline(2000), 1)
        .await
        .unwrap();
    let kv = Slow::new(KEY_VALUE, Duration::ZERO, Ok(b"v".to_vec()));
    host.add_provider("default", kv.clone()).await.unwrap();
    let get = host_call("default", KEY_VALUE, "KeyValue.Get", b"k");
    let error = host
        .call_actor("no-claim", "host_call", &get)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("not authorized"), "{error}");
    let error = host
        .call_actor("no-link", "host_call", &get)
        .await
        .unwrap_err();
    assert!(
        matches!(error, DispatchError::CapabilityUnavailable(_)),
        "{error:?}"
    );
    assert_eq!(error.http_status(), 503);
    assert_eq!(kv.started(), 0, "no provider may be contacted");
}

fn client_request(url: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut request = HttpRequest {
        method: "GET".into(),
        url: url.into(),
        ..HttpRequest::default()
    };
    for (name, value) in headers {
        request.headers.append(*name, *value);
    }
    host_call(
        "default",
        HTTP_CLIENT,
        "HttpClient.Request",
        &caplet_wire::encode(&request).unwrap(),
    )
}

/// A local HTTP server answering 200 "ok" to every request; counts the connections it
/// accepted.
async fn counting_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    (port, accepted)
}

/// E10: egress to internal addresses is denied after resolution, even when the allow-list
/// names them: with `localhost`, `169.254.169.254`, `169.254.0.0/16`,
/// `[::ffff:169.254.169.254]` and `*.example.com` listed, `http://127.0.0.1`,
/// `http://[::ffff:127.0.0.1]` (the same address), `http://localhost` (a listed *name*
/// resolving to loopback: a name opens public addresses only) and the metadata endpoint in
/// both forms (never reachable, whatever the list says) are all denied, each within 1 s and
/// without the local server seeing a connection. Listing the loopback address itself (by IP)
/// reaches that server, so the denials are the policy, not a dead target.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn egress_to_internal_addresses_is_denied_after_resolution() {
    let _lock = shared().await;
    let (port, accepted) = counting_server().await;
    let deployment = Deployment::new();
    deployment.add("probe", PROBE, &[HTTP_CLIENT]);
    deployment.manifest(
        "[[actor]]\nname = \"probe\"\npath = \"probe.wasm\"\n[[link]]\nactor = \"probe\"\n\
         contract = \"wasmcloud:httpclient\"\n[link.values]\n\
         allowed_hosts = \"localhost,169.254.169.254,169.254.0.0/16,[::ffff:169.254.169.254],\
         *.example.com\"\n",
    );
    let running = deployment.launch().await;
    let call = |url: String| {
        let host = running.host.clone();
        async move {
            host.call_actor("probe", "host_call", &client_request(&url, &[]))
                .await
        }
    };
    for (url, expected) in [
        (
            format!("http://127.0.0.1:{port}/"),
            format!("host 127.0.0.1 (port {port}) is not in allowed_hosts"),
        ),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/"),
            format!("host 127.0.0.1 (port {port}) is not in allowed_hosts"),
        ),
        (
            format!("http://localhost:{port}/"),
            "host localhost resolves to".to_string(),
        ),
        (
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "host 169.254.169.254 is a cloud metadata endpoint".to_string(),
        ),
        (
            "http://[::ffff:169.254.169.254]/latest/meta-data/".to_string(),
            "host 169.254.169.254 is a cloud metadata endpoint".to_string(),
        ),
    ] {
        let started = Instant::now();
        let error = call(url.clone()).await.unwrap_err().to_string();
        assert!(started.elapsed() < Duration::from_secs(1), "{url}: slow");
        assert!(error.contains("denied"), "{url}: {error}");
        assert!(error.contains(&expected), "{url}: {error}");
        if url.contains("localhost") {
            assert!(error.contains("a loopback address"), "{url}: {error}");
        }
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "a denied request connected"
    );

    // Listed by IP, the same server is reachable, under both spellings of the address, and
    // `localhost` too once its loopback addresses are listed.
    running
        .host
        .put_link(
            "probe",
            HTTP_CLIENT,
            "default",
            [(
                "allowed_hosts".to_string(),
                "localhost, 127.0.0.1, ::1".to_string(),
            )]
            .into(),
        )
        .await
        .unwrap();
    for url in [
        format!("http://127.0.0.1:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://localhost:{port}/"),
    ] {
        let reply = call(url.clone()).await.unwrap();
        let response: caplet_wire::httpclient::HttpResponse = caplet_wire::decode(&reply).unwrap();
        assert_eq!(response.status_code, 200, "{url}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    running.host.shutdown().await;
}

/// E11: the target of an outgoing request is never derived from a `Host` header: an actor
/// that sends `Host: 169.254.169.254` to an allowed address reaches that address only, and
/// the header the server sees names the URL's host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outgoing_target_is_never_taken_from_the_host_header() {
    let _lock = shared().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            .await
            .unwrap();
        String::from_utf8_lossy(&head).to_string()
    });
    let deployment = Deployment::new();
    deployment.add("probe", PROBE, &[HTTP_CLIENT]);
    deployment.manifest(
        "[[actor]]\nname = \"probe\"\npath = \"probe.wasm\"\n[[link]]\nactor = \"probe\"\n\
         contract = \"wasmcloud:httpclient\"\n[link.values]\nallowed_hosts = \"127.0.0.1\"\n",
    );
    let running = deployment.launch().await;
    let url = format!("http://{target}/self");
    let reply = running
        .host
        .call_actor(
            "probe",
            "host_call",
            &client_request(&url, &[("Host", "169.254.169.254")]),
        )
        .await
        .unwrap();
    let response: caplet_wire::httpclient::HttpResponse = caplet_wire::decode(&reply).unwrap();
    assert_eq!(response.status_code, 200);
    let head = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap()
        .to_ascii_lowercase();
    let hosts: Vec<&str> = head.lines().filter(|l| l.starts_with("host:")).collect();
    assert_eq!(hosts, [format!("host: {target}").as_str()], "{head}");
    running.host.shutdown().await;
}
