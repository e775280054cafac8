//! Shared fixtures: the built guests, a runtime with a private cache, recording host handlers.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use caplet_runtime::{
    ActorModule, BoxFuture, HostCall, HostCallError, HostCallHandler, Limits, Runtime,
    RuntimeConfig,
};

/// Bytes of a guest built by `scripts/build-guests.sh`. Fails loudly when it is missing.
pub fn guest(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../guests/out")
        .join(format!("{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "guest {} is missing ({e}): run scripts/build-guests.sh first",
            path.display()
        )
    })
}

/// A runtime with its compile cache in a fresh temporary folder.
pub fn runtime() -> (Runtime, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = RuntimeConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..RuntimeConfig::default()
    };
    (Runtime::new(config).unwrap(), dir)
}

/// Short deadlines so that hostile-guest tests finish quickly.
pub fn test_limits() -> Limits {
    Limits {
        call_deadline: Duration::from_millis(200),
        max_memory_bytes: 16 << 20,
        ..Limits::default()
    }
}

pub fn load(runtime: &Runtime, name: &str, limits: Limits) -> ActorModule {
    runtime.load_actor(name, &guest(name), limits).unwrap()
}

pub fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).unwrap()
}

/// A host call as a [`Recorder`] saw it (owned: [`HostCall`] borrows the instance).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub module: String,
    pub binding: String,
    pub namespace: String,
    pub operation: String,
    pub payload: Vec<u8>,
}

/// Records every host call and answers with a fixed result.
pub struct Recorder {
    pub calls: Mutex<Vec<Seen>>,
    pub answer: Result<Vec<u8>, HostCallError>,
}

impl Recorder {
    pub fn answering(answer: Result<Vec<u8>, HostCallError>) -> Arc<Self> {
        Arc::new(Self {
            calls: Mutex::new(Vec::new()),
            answer,
        })
    }
}

impl HostCallHandler for Recorder {
    fn host_call<'a>(
        &'a self,
        call: HostCall<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, HostCallError>> {
        self.calls.lock().unwrap().push(Seen {
            module: call.module.to_owned(),
            binding: call.binding.to_owned(),
            namespace: call.namespace.to_owned(),
            operation: call.operation.to_owned(),
            payload: call.payload.to_vec(),
        });
        let answer = self.answer.clone();
        Box::pin(async move { answer })
    }
}

/// A host call that never answers: a blackholed backend.
pub struct Hang;

impl HostCallHandler for Hang {
    fn host_call<'a>(
        &'a self,
        _call: HostCall<'a>,
    ) -> BoxFuture<'a, Result<Vec<u8>, HostCallError>> {
        Box::pin(std::future::pending())
    }
}
