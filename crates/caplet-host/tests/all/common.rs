//! Shared set-up: a runtime, signing keys, the probe guest, and a provider that records calls.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use caplet_claims::{ActorSpec, KeyKind, KeyPair, generate, sign};
use caplet_host::{
    ActorRef, BoxFuture, Host, HostConfig, LinkDefinition, Provider, ProviderCall, ProviderError,
};
use caplet_runtime::{Limits, Runtime, RuntimeConfig};

/// The probe guest (echo, loop, host_call "binding\nnamespace\noperation\npayload", ...).
pub const PROBE: &[u8] = include_bytes!("../../../../guests/out/probe.wasm");

/// A signing account and the host config trusting it.
pub struct Issuer {
    pub account: KeyPair,
}

impl Issuer {
    pub fn new() -> Self {
        Self {
            account: generate(KeyKind::Account),
        }
    }

    /// `module` signed by this account with `caps`, under a fresh module key.
    pub fn sign(&self, module: &[u8], name: &str, caps: &[&str]) -> (Vec<u8>, String) {
        let subject = generate(KeyKind::Module);
        let mut spec = ActorSpec::new(name);
        spec.caps = caps.iter().map(|c| c.to_string()).collect();
        let signed = sign(module, &spec, &self.account, &subject).unwrap();
        (signed.module, subject.public_key())
    }

    pub fn host(&self) -> Host {
        self.host_with(HostConfig {
            issuers: vec![self.account.public_key()],
            ..HostConfig::default()
        })
    }

    pub fn host_with(&self, config: HostConfig) -> Host {
        Host::new(runtime(), config)
    }
}

pub fn runtime() -> Runtime {
    Runtime::new(RuntimeConfig {
        cache_dir: None,
        ..RuntimeConfig::default()
    })
    .unwrap()
}

/// Per-actor limits for tests: a 2 s deadline keeps hung tests short.
pub fn limits() -> Limits {
    Limits {
        call_deadline: Duration::from_secs(2),
        ..Limits::default()
    }
}

/// The probe's `host_call` payload.
pub fn host_call(binding: &str, namespace: &str, operation: &str, payload: &[u8]) -> Vec<u8> {
    let mut bytes = format!("{binding}\n{namespace}\n{operation}\n").into_bytes();
    bytes.extend_from_slice(payload);
    bytes
}

/// One call a [`Recorder`] saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub actor: String,
    pub link_name: String,
    pub operation: String,
    pub payload: Vec<u8>,
}

/// A provider double for a contract: answers `reply` to every call and records it.
pub struct Recorder {
    pub contract: &'static str,
    pub reply: Result<Vec<u8>, ProviderError>,
    pub calls: Mutex<Vec<Seen>>,
    pub bound: Mutex<Vec<LinkDefinition>>,
    pub shut_down: Mutex<bool>,
}

impl Recorder {
    pub fn new(contract: &'static str, reply: Result<Vec<u8>, ProviderError>) -> Arc<Self> {
        Arc::new(Self {
            contract,
            reply,
            calls: Mutex::new(Vec::new()),
            bound: Mutex::new(Vec::new()),
            shut_down: Mutex::new(false),
        })
    }

    pub fn calls(&self) -> Vec<Seen> {
        self.calls.lock().unwrap().clone()
    }
}

impl Provider for Recorder {
    fn contract_id(&self) -> &str {
        self.contract
    }

    fn implementation(&self) -> &str {
        "recorder"
    }

    fn bind(&self, link: LinkDefinition) -> BoxFuture<'_, Result<(), ProviderError>> {
        self.bound.lock().unwrap().push(link);
        Box::pin(async { Ok(()) })
    }

    fn unbind<'a>(&'a self, actor: &'a ActorRef, link_name: &'a str) -> BoxFuture<'a, ()> {
        self.bound
            .lock()
            .unwrap()
            .retain(|l| !(l.actor == *actor && l.link_name == link_name));
        Box::pin(async {})
    }

    fn handle<'a>(
        &'a self,
        call: ProviderCall<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, ProviderError>> {
        self.calls.lock().unwrap().push(Seen {
            actor: call.actor.name.to_string(),
            link_name: call.link_name.to_owned(),
            operation: call.operation.to_owned(),
            payload: call.payload.to_vec(),
        });
        let reply = self.reply.clone();
        Box::pin(async move { reply })
    }

    fn health(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        *self.shut_down.lock().unwrap() = true;
        Box::pin(async {})
    }
}
