//! The one shared wasmtime `Engine` and everything built once with it.
//!
//! A process has one [`Runtime`]: one engine configured for hostile guests (pooling allocator,
//! epoch interruption, bounded stacks), one epoch ticker thread that drives every deadline, one
//! linker holding the waPC imports, and the on-disk compile cache. Cloning a `Runtime` is cheap
//! and shares all of it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::{
    Config, Enabled, Engine, EngineWeak, InstanceAllocationStrategy, Linker,
    PoolingAllocationConfig, ProfilingStrategy, WasmFeatures,
};

use crate::cache::ModuleCache;
use crate::error::LoadError;
use crate::limits::{ASYNC_STACK_BYTES, EngineLimits};
use crate::parked::ParkedCalls;
use crate::state::GuestState;

/// How much of a used fiber stack is zeroed with `memset` before reuse; the rest is reset by the
/// kernel. Zeroing stops one guest from reading another's stack (hostile-guests.md B6).
const ASYNC_STACK_KEEP_RESIDENT_BYTES: usize = 64 << 10;

/// How much of a freed instance's linear memory (bytes, default 1 MiB) is reset in place with
/// `memset` instead of being handed back to the kernel with `madvise`. On Linux 6.7 and later
/// `PAGEMAP_SCAN` finds the pages the guest dirtied, so only those are reset. Either way the
/// next instance in the slot sees only its module's initial image (hostile-guests.md B6); the
/// gain is that it does not page-fault its way back in, which halves a fresh instance's cost.
const LINEAR_MEMORY_KEEP_RESIDENT_BYTES: usize = 1 << 20;

/// The same as [`LINEAR_MEMORY_KEEP_RESIDENT_BYTES`] for tables (bytes, default 64 KiB).
const TABLE_KEEP_RESIDENT_BYTES: usize = 64 << 10;

/// Settings of a [`Runtime`].
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Engine-wide limits.
    pub limits: EngineLimits,
    /// Folder of the compile cache; `None` disables it. [`RuntimeConfig::default`] uses
    /// [`default_cache_dir`].
    pub cache_dir: Option<PathBuf>,
}

impl RuntimeConfig {
    /// The default configuration with the compile cache in [`default_cache_dir`].
    pub fn with_default_cache() -> Self {
        Self {
            limits: EngineLimits::default(),
            cache_dir: default_cache_dir(),
        }
    }
}

/// Where compiled modules are cached: `$CAPLET_CACHE_DIR`, else `~/.cache/caplet/modules`.
/// `CAPLET_CACHE_DIR` set to the empty string turns the cache off (every load compiles; the
/// swap benchmark uses it to measure swaps to code never compiled before).
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("CAPLET_CACHE_DIR") {
        return (!dir.is_empty()).then(|| PathBuf::from(dir));
    }
    dirs::cache_dir().map(|d| d.join("caplet").join("modules"))
}

/// The shared engine, linker and cache. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub engine: Engine,
    pub linker: Linker<GuestState>,
    pub cache: Option<ModuleCache>,
    pub limits: EngineLimits,
    /// Host calls waiting with a deadline; the epoch ticker ends those past it.
    pub parked: Arc<ParkedCalls>,
}

impl Runtime {
    /// Builds the engine and starts its epoch ticker.
    pub fn new(config: RuntimeConfig) -> Result<Self, LoadError> {
        let limits = config.limits;
        let engine = Engine::new(&engine_config(&limits))
            .map_err(|e| LoadError::Engine(format!("{e:#}")))?;
        let mut linker = Linker::new(&engine);
        crate::abi::define_imports(&mut linker)
            .map_err(|e| LoadError::Engine(format!("defining the waPC imports: {e:#}")))?;
        let cache = config.cache_dir.map(|dir| ModuleCache::new(dir, &engine));
        let parked = Arc::new(ParkedCalls::default());
        start_epoch_ticker(engine.weak(), limits.epoch_tick, parked.clone())
            .map_err(|e| LoadError::Engine(format!("starting the epoch ticker thread: {e}")))?;
        Ok(Self {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                cache,
                limits,
                parked,
            }),
        })
    }

    /// The engine-wide limits this runtime was built with.
    pub fn limits(&self) -> EngineLimits {
        self.inner.limits
    }

    /// The wasmtime engine, for callers that need plain (non-waPC) modules.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }
}

fn engine_config(limits: &EngineLimits) -> Config {
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(limits.max_instances)
        .total_memories(limits.max_instances)
        .total_tables(limits.max_instances)
        .total_stacks(limits.max_instances)
        .max_memory_size(usize::try_from(limits.max_memory_bytes).unwrap_or(usize::MAX))
        .table_elements(limits.max_table_elements)
        .async_stack_keep_resident(ASYNC_STACK_KEEP_RESIDENT_BYTES)
        .linear_memory_keep_resident(LINEAR_MEMORY_KEEP_RESIDENT_BYTES)
        .table_keep_resident(TABLE_KEEP_RESIDENT_BYTES)
        .pagemap_scan(Enabled::Auto);
    let mut config = Config::new();
    config
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .epoch_interruption(true)
        .max_wasm_stack(limits.max_wasm_stack_bytes)
        .async_stack_size(ASYNC_STACK_BYTES + limits.max_wasm_stack_bytes)
        .async_stack_zeroing(true)
        // Explicit bounds checks instead of guard pages. With guard pages, every instance that
        // grows its memory (every Rust guest: its allocator grows memory on first use, in
        // `wapc_init`) costs two `mprotect` calls and the TLB shoot-downs they send to the
        // other cores: one to grow, one to shrink the slot back when the instance is freed.
        // Without them a slot stays read/write up to what its guests used, so a fresh
        // instance makes no system call for its memory (26 → 9–15 µs), and each slot reserves
        // only `max_memory_bytes` of address space instead of 4 GiB + 32 MiB. The price is a
        // compare and branch on each guest memory access, too small to see in the waPC call
        // benchmark (docs/runtime.md, "Bounds checks").
        .signals_based_traps(false)
        .memory_guard_size(0)
        .memory_reservation(limits.max_memory_bytes)
        // Threads (shared memory) and components are not part of the waPC contract; switch them
        // off whatever wasmtime features other crates in the build happen to enable.
        .wasm_features(WasmFeatures::THREADS | WasmFeatures::COMPONENT_MODEL, false);
    if perf_map_requested() {
        // Best effort: a profiler that cannot start must not stop the host.
        config.profiler(ProfilingStrategy::PerfMap);
    }
    config
}

/// Environment variable that makes the engine write `/tmp/perf-<pid>.map`, so `perf report`
/// names the guest's functions instead of showing anonymous JIT addresses. Off unless set to
/// `1`: the map grows with every module compiled. See docs/runtime.md.
pub const PERF_MAP_ENV: &str = "CAPLET_PERF_MAP";

fn perf_map_requested() -> bool {
    std::env::var_os(PERF_MAP_ENV).is_some_and(|v| v == "1")
}

/// One thread per engine advances the epoch every `tick` (which stops guests running past
/// their deadline) and ends host calls waiting past theirs ([`ParkedCalls`]). It holds only a
/// weak reference to the engine, so it ends by itself once the engine is dropped.
fn start_epoch_ticker(
    engine: EngineWeak,
    tick: Duration,
    parked: Arc<ParkedCalls>,
) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("caplet-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(tick);
                match engine.upgrade() {
                    Some(engine) => engine.increment_epoch(),
                    None => return,
                }
                parked.expire(std::time::Instant::now());
            }
        })?;
    Ok(())
}
