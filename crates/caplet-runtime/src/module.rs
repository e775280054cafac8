//! A loaded actor module: checked, compiled (or taken from the cache), and pooled.
//!
//! Loading does every check that can be done without running guest code, so a bad module is
//! refused with a specific [`LoadError`] before anything starts: size, magic number, precompiled
//! artifacts, the waPC exports and their types, and imports the runtime does not provide.
//! Calls then take a warm instance from the module's pool, or instantiate a fresh one.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use sha2::{Digest, Sha256};
use wasmtime::{ExternType, FuncType, InstancePre, Module, ValType};

use crate::abi::{IMPORT_MODULES, IMPORT_NAMES};
use crate::engine::Runtime;
use crate::error::{CallError, LoadError};
use crate::host::HostCallHandler;
use crate::instance::WarmInstance;
use crate::limits::Limits;
use crate::state::GuestState;

/// A loaded waPC actor module. Cheap to clone; clones share the instance pool.
#[derive(Clone)]
pub struct ActorModule {
    inner: Arc<ModuleInner>,
}

struct ModuleInner {
    runtime: Runtime,
    name: Arc<str>,
    hash: String,
    limits: Limits,
    pre: InstancePre<GuestState>,
    idle: Mutex<Vec<WarmInstance>>,
}

impl Runtime {
    /// Checks and compiles a waPC module. `name` labels it in errors and logs.
    pub fn load_actor(
        &self,
        name: &str,
        bytes: &[u8],
        limits: Limits,
    ) -> Result<ActorModule, LoadError> {
        let module = self.compile(name, bytes, &limits)?;
        check_wapc_shape(name, &module)?;
        let pre = self
            .inner
            .linker
            .instantiate_pre(&module)
            .map_err(|e| LoadError::Invalid {
                module: name.to_string(),
                reason: format!("{e:#}"),
            })?;
        let inner = ModuleInner {
            runtime: self.clone(),
            name: Arc::from(name),
            hash: module_hash(bytes),
            limits,
            pre,
            idle: Mutex::new(Vec::new()),
        };
        Ok(ActorModule {
            inner: Arc::new(inner),
        })
    }

    /// Checks size, magic and limits, then compiles `bytes` or loads them from the cache.
    pub fn compile(&self, name: &str, bytes: &[u8], limits: &Limits) -> Result<Module, LoadError> {
        let module = name.to_string();
        check_limits(name, limits, self)?;
        if bytes.len() > limits.max_module_bytes {
            let limit = limits.max_module_bytes;
            return Err(LoadError::TooLarge {
                module,
                size: bytes.len(),
                limit,
            });
        }
        if wasmtime::Engine::detect_precompiled(bytes).is_some() {
            return Err(LoadError::Precompiled { module });
        }
        match bytes.get(..8) {
            Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => {}
            Some([0, b'a', b's', b'm', _, _, 1, 0]) => return Err(LoadError::Component { module }),
            _ => return Err(LoadError::NotWasm { module }),
        }
        let engine = &self.inner.engine;
        let code = crate::code::compiled_code(bytes);
        let hash = module_hash(&code);
        if let Some(cached) = self
            .inner
            .cache
            .as_ref()
            .and_then(|c| c.load(engine, &hash))
        {
            return Ok(cached);
        }
        let compiled = Module::from_binary(engine, &code).map_err(|e| LoadError::Invalid {
            module,
            reason: format!("{e:#}"),
        })?;
        if let Some(cache) = &self.inner.cache {
            cache.store(&compiled, &hash);
        }
        Ok(compiled)
    }
}

impl ActorModule {
    /// The name given at load.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Uppercase hex SHA-256 of the module bytes as loaded.
    pub fn hash(&self) -> &str {
        &self.inner.hash
    }

    /// The limits this module runs under.
    pub fn limits(&self) -> Limits {
        self.inner.limits
    }

    /// Number of warm instances waiting in the pool.
    pub fn idle_instances(&self) -> usize {
        self.inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Creates up to `count` instances ahead of traffic, so the first calls find them warm.
    /// Fails if an instance cannot start (a trapping `wapc_init`, memory over the limit…).
    pub async fn warm(&self, count: usize) -> Result<(), CallError> {
        let wanted = count.min(self.inner.limits.max_idle_instances);
        let mut fresh = Vec::with_capacity(wanted);
        for _ in 0..wanted.saturating_sub(self.idle_instances()) {
            fresh.push(self.start_instance().await?);
        }
        self.inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(fresh);
        Ok(())
    }

    /// Drops every idle instance, freeing their slots. Calls in flight are not affected; their
    /// instances are dropped or pooled again when they finish.
    pub fn drain_idle(&self) {
        let drained = std::mem::take(
            &mut *self
                .inner
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        drop(drained);
    }

    /// Invokes `operation` with `payload`. Host calls made by the guest go to `host`.
    pub async fn call(
        &self,
        operation: &str,
        payload: &[u8],
        host: Arc<dyn HostCallHandler>,
    ) -> Result<Vec<u8>, CallError> {
        self.call_at(Instant::now(), operation, payload, host).await
    }

    /// [`ActorModule::call`] for a caller that has just read the clock: the call's deadline
    /// counts from `started` (when a warm instance is ready; a call that has to start a fresh
    /// one counts from when it is ready). The host times each call for its metrics anyway, and
    /// a clock read is a visible share of a warm call.
    pub async fn call_at(
        &self,
        started: Instant,
        operation: &str,
        payload: &[u8],
        host: Arc<dyn HostCallHandler>,
    ) -> Result<Vec<u8>, CallError> {
        let limit = self.inner.limits.max_payload_bytes;
        if payload.len() > limit {
            return Err(CallError::PayloadTooLarge {
                size: payload.len(),
                limit,
            });
        }
        let idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let (mut instance, started) = match idle {
            Some(instance) => (instance, started),
            // Boxed: instantiation's state machine is large and only this cold path needs it,
            // so the future of every warm call stays small.
            None => (Box::pin(self.start_instance()).await?, Instant::now()),
        };
        let result = instance.call(started, operation, payload, host).await;
        let reusable = match &result {
            Ok(_) => true,
            Err(error) => error.instance_reusable(),
        };
        if reusable {
            self.return_instance(instance);
        }
        result
    }

    /// Invokes `operation` on a new instance that is discarded afterwards, bypassing the pool.
    pub async fn call_fresh(
        &self,
        operation: &str,
        payload: &[u8],
        host: Arc<dyn HostCallHandler>,
    ) -> Result<Vec<u8>, CallError> {
        let mut instance = self.start_instance().await?;
        instance
            .call(Instant::now(), operation, payload, host)
            .await
    }

    async fn start_instance(&self) -> Result<WarmInstance, CallError> {
        let inner = &self.inner;
        let engine_limits = inner.runtime.limits();
        let mut state = GuestState::new(
            inner.name.clone(),
            inner.limits,
            engine_limits.max_table_elements,
        );
        state.parked = Some(inner.runtime.inner.parked.slot());
        WarmInstance::start(&inner.pre, state, engine_limits.max_instances).await
    }

    fn return_instance(&self, instance: WarmInstance) {
        if instance.memory_bytes() > self.inner.limits.max_idle_memory_bytes {
            return;
        }
        let mut idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if idle.len() < self.inner.limits.max_idle_instances {
            idle.push(instance);
        }
    }
}

/// Uppercase hex SHA-256 of `bytes`.
pub fn module_hash(bytes: &[u8]) -> String {
    hex::encode_upper(Sha256::digest(bytes))
}

fn check_limits(name: &str, limits: &Limits, runtime: &Runtime) -> Result<(), LoadError> {
    let engine = runtime.limits();
    let invalid = |reason: String| LoadError::InvalidLimits {
        module: name.to_string(),
        reason,
    };
    if limits.max_memory_bytes > engine.max_memory_bytes {
        return Err(invalid(format!(
            "max_memory_bytes {} is over the engine's ceiling of {} bytes",
            limits.max_memory_bytes, engine.max_memory_bytes
        )));
    }
    let i32_max = i32::MAX as usize;
    if limits.max_payload_bytes > i32_max || limits.max_host_call_bytes > i32_max {
        return Err(invalid(
            "payload limits must fit in a wasm32 length (2 GiB)".to_string(),
        ));
    }
    if limits.call_deadline.is_zero() || limits.init_deadline.is_zero() {
        return Err(invalid("deadlines must be longer than zero".to_string()));
    }
    Ok(())
}

/// Checks the exports and imports a waPC guest must (and may) have (wire-compat.md §1.1–1.2).
fn check_wapc_shape(name: &str, module: &Module) -> Result<(), LoadError> {
    let module_name = || name.to_string();
    let guest_call = module
        .get_export("__guest_call")
        .ok_or_else(|| LoadError::MissingExport {
            module: module_name(),
            export: "__guest_call",
            hint: "build it with a waPC guest SDK such as caplet-guest or wapc-guest",
        })?;
    expect_func(
        name,
        "__guest_call",
        &guest_call,
        &[ValType::I32, ValType::I32],
        &[ValType::I32],
    )?;
    match module.get_export("memory") {
        Some(ExternType::Memory(_)) => {}
        Some(other) => {
            return Err(LoadError::WrongExportType {
                module: module_name(),
                export: "memory",
                expected: "a memory",
                found: describe(&other),
            });
        }
        None => {
            return Err(LoadError::MissingExport {
                module: module_name(),
                export: "memory",
                hint: "the host exchanges payloads through the exported memory",
            });
        }
    }
    for start in ["_start", "wapc_init"] {
        if let Some(export) = module.get_export(start) {
            expect_func(name, start, &export, &[], &[])?;
        }
    }
    for import in module.imports() {
        let served =
            IMPORT_MODULES.contains(&import.module()) && IMPORT_NAMES.contains(&import.name());
        if !served {
            return Err(LoadError::UnsupportedImport {
                module: module_name(),
                import_module: import.module().to_string(),
                name: import.name().to_string(),
            });
        }
    }
    Ok(())
}

fn expect_func(
    name: &str,
    export: &'static str,
    found: &ExternType,
    params: &[ValType],
    results: &[ValType],
) -> Result<(), LoadError> {
    let matches = |ty: &FuncType| {
        ty.params().len() == params.len()
            && ty.results().len() == results.len()
            && ty.params().zip(params).all(|(a, b)| ValType::eq(&a, b))
            && ty.results().zip(results).all(|(a, b)| ValType::eq(&a, b))
    };
    match found {
        ExternType::Func(ty) if matches(ty) => Ok(()),
        other => Err(LoadError::WrongExportType {
            module: name.to_string(),
            export,
            expected: if params.is_empty() {
                "func () -> ()"
            } else {
                "func (i32, i32) -> i32"
            },
            found: describe(other),
        }),
    }
}

fn describe(ty: &ExternType) -> String {
    match ty {
        ExternType::Func(f) => format!("{f}"),
        ExternType::Memory(_) => "a memory".to_string(),
        ExternType::Table(_) => "a table".to_string(),
        ExternType::Global(_) => "a global".to_string(),
        ExternType::Tag(_) => "a tag".to_string(),
    }
}
