//! Every limit the runtime enforces, each with one named default.
//!
//! A hostile guest must never take the host down, so every resource a guest can consume has a
//! finite default here. Engine-wide limits ([`EngineLimits`]) are fixed when the [`crate::Runtime`]
//! is built; per-actor limits ([`Limits`]) are chosen when a module is loaded. Hitting any limit
//! fails that one call (or that one load) with a typed error; the host and other calls go on.
//! docs/limits.md lists them all with the flags and manifest keys that change them.

use std::time::Duration;

/// Linear memory one instance may grow to.
///
/// Default: 64 MiB (bytes). When hit: `memory.grow` returns -1 to the guest; a guest that then
/// aborts fails the call with [`crate::CallError::MemoryLimit`]. A module whose *initial* memory
/// exceeds it fails to instantiate. Change: [`Limits::max_memory_bytes`], `caplet call
/// --max-memory-mib`. Cannot exceed [`EngineLimits::max_memory_bytes`].
pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 64 << 20;

/// Wall-clock time one waPC call (including its host calls) may take.
///
/// Default: 5 s. When hit: at the next epoch tick the guest is interrupted (or, while it waits
/// in a host call, the wait ends and the host call's future is dropped), the call fails with
/// [`crate::CallError::Deadline`] and the instance is discarded. Change:
/// [`Limits::call_deadline`], `caplet call --deadline-ms`.
pub const DEFAULT_CALL_DEADLINE: Duration = Duration::from_secs(5);

/// Time `_start` and `wapc_init` together may take when an instance is created.
///
/// Default: 1 s. When hit: the guest is interrupted at the next epoch tick and instantiation
/// fails with [`crate::CallError::Init`] ("initialisation exceeded its deadline of N ms"); the
/// instance is not pooled. Change: [`Limits::init_deadline`].
pub const DEFAULT_INIT_DEADLINE: Duration = Duration::from_secs(1);

/// Size of a module accepted for compilation.
///
/// Default: 50 MiB (bytes). When hit: loading fails with [`crate::LoadError::TooLarge`] before
/// anything is parsed or compiled. Change: [`Limits::max_module_bytes`].
pub const DEFAULT_MAX_MODULE_BYTES: usize = 50 << 20;

/// Size of the payload handed to a guest, and of the response it may return.
///
/// Default: 8 MiB (bytes) each way. When hit: an oversized request is refused before the guest
/// runs ([`crate::CallError::PayloadTooLarge`]); an oversized `__guest_response` traps the guest.
/// Change: [`Limits::max_payload_bytes`].
pub const DEFAULT_MAX_PAYLOAD_BYTES: usize = 8 << 20;

/// Size of one guest→host call: binding, namespace, operation and payload together, and the
/// host's response.
///
/// Default: 8 MiB (bytes). When hit: the host call returns 0 to the guest with an error text
/// that names the limit; nothing is forwarded. Change: [`Limits::max_host_call_bytes`].
pub const DEFAULT_MAX_HOST_CALL_BYTES: usize = 8 << 20;

/// How much of its host-call buffers an instance keeps for its next host call.
///
/// Default: 64 KiB (bytes) each, one for binding, namespace and operation, one for the payload.
/// An instance copies each host call's arguments into these buffers, so host calls allocate
/// nothing for them; a larger call's buffer is freed once it is answered, so an instance that
/// once passed a big payload does not keep that memory. Fixed; change the constant.
pub const HOST_CALL_BUFFER_KEEP_BYTES: usize = 64 << 10;

/// Size of the text a guest may pass to `__guest_error` or `__console_log`.
///
/// Default: 16 KiB (bytes). When hit: the text is truncated (a console line gets a
/// "[truncated]" marker); the call itself goes on. Change: [`Limits::max_guest_text_bytes`].
pub const DEFAULT_MAX_GUEST_TEXT_BYTES: usize = 16 << 10;

/// `__console_log` lines one instance may log per second.
///
/// Default: 20 lines. When hit: further lines in that second are dropped before they are read
/// (counted in [`crate::console_log_stats`]), and the next line logged says how many were
/// dropped. An actor logs at most `instances` × this per second. Change:
/// [`Limits::max_console_lines_per_second`].
pub const MAX_CONSOLE_LINES_PER_SECOND: u32 = 20;

/// Idle (warm) instances kept per module for reuse.
///
/// Default: 64 instances, so a module serving up to 64 calls at once (calls parked on Redis or
/// another actor each hold an instance) reuses its instances instead of creating and dropping
/// one per call. What an idle instance may hold is bounded by
/// [`DEFAULT_MAX_IDLE_INSTANCE_MEMORY_BYTES`]. When hit: an instance returned after a call is
/// dropped instead of kept. Change: [`Limits::max_idle_instances`] (`instances` in the
/// manifest raises it for that actor).
pub const DEFAULT_MAX_IDLE_INSTANCES: usize = 64;

/// Linear memory an instance may hold and still be kept warm after its call.
///
/// Default: 16 MiB (bytes). When hit: the instance is dropped after its call instead of pooled,
/// so a guest that grew its memory for one large request does not keep it while idle; the idle
/// pool of one module holds at most `max_idle_instances` × this. Change:
/// [`Limits::max_idle_memory_bytes`].
pub const DEFAULT_MAX_IDLE_INSTANCE_MEMORY_BYTES: usize = 16 << 20;

/// Table elements one instance may grow its tables to.
///
/// Default: 20 000 elements. When hit: `table.grow` returns -1 (hostile-guests.md B5). Change:
/// [`EngineLimits::max_table_elements`].
pub const DEFAULT_MAX_TABLE_ELEMENTS: usize = 20_000;

/// Ceiling on any actor's linear memory; sizes the pooling allocator's memory slots.
///
/// Default: 256 MiB (bytes). When hit: loading an actor whose [`Limits::max_memory_bytes`] is
/// larger fails with [`crate::LoadError::InvalidLimits`]. Change:
/// [`EngineLimits::max_memory_bytes`].
pub const DEFAULT_ENGINE_MAX_MEMORY_BYTES: u64 = 256 << 20;

/// Instances alive at once across the whole engine (pooling allocator slots).
///
/// Default: 1 000 instances. When hit: instantiation fails fast with
/// [`crate::CallError::Capacity`] instead of exhausting host memory (hostile-guests.md B3).
/// Change: [`EngineLimits::max_instances`].
pub const DEFAULT_MAX_INSTANCES: u32 = 1_000;

/// Native stack that wasm code may use.
///
/// Default: 512 KiB (bytes). When hit: the call traps with [`crate::CallError::StackOverflow`].
/// Change: [`EngineLimits::max_wasm_stack_bytes`]. Always kept well below
/// [`ASYNC_STACK_BYTES`] so host functions keep headroom (hostile-guests.md C3).
pub const DEFAULT_MAX_WASM_STACK_BYTES: usize = 512 << 10;

/// Size of each fiber stack a call runs on: the wasm stack plus headroom for host functions.
///
/// Fixed at 2 MiB (bytes) plus [`EngineLimits::max_wasm_stack_bytes`].
pub const ASYNC_STACK_BYTES: usize = 2 << 20;

/// Interval of the engine's epoch ticker: the granularity of every deadline.
///
/// Default: 10 ms. A spinning guest is interrupted at most one tick after its deadline.
/// Change: [`EngineLimits::epoch_tick`].
pub const DEFAULT_EPOCH_TICK: Duration = Duration::from_millis(10);

/// Per-actor limits, chosen when a module is loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// See [`DEFAULT_MAX_MEMORY_BYTES`].
    pub max_memory_bytes: u64,
    /// See [`DEFAULT_CALL_DEADLINE`].
    pub call_deadline: Duration,
    /// See [`DEFAULT_INIT_DEADLINE`].
    pub init_deadline: Duration,
    /// See [`DEFAULT_MAX_MODULE_BYTES`].
    pub max_module_bytes: usize,
    /// See [`DEFAULT_MAX_PAYLOAD_BYTES`].
    pub max_payload_bytes: usize,
    /// See [`DEFAULT_MAX_HOST_CALL_BYTES`].
    pub max_host_call_bytes: usize,
    /// See [`DEFAULT_MAX_GUEST_TEXT_BYTES`].
    pub max_guest_text_bytes: usize,
    /// See [`DEFAULT_MAX_IDLE_INSTANCES`].
    pub max_idle_instances: usize,
    /// See [`DEFAULT_MAX_IDLE_INSTANCE_MEMORY_BYTES`].
    pub max_idle_memory_bytes: usize,
    /// See [`MAX_CONSOLE_LINES_PER_SECOND`].
    pub max_console_lines_per_second: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_memory_bytes: DEFAULT_MAX_MEMORY_BYTES,
            call_deadline: DEFAULT_CALL_DEADLINE,
            init_deadline: DEFAULT_INIT_DEADLINE,
            max_module_bytes: DEFAULT_MAX_MODULE_BYTES,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            max_host_call_bytes: DEFAULT_MAX_HOST_CALL_BYTES,
            max_guest_text_bytes: DEFAULT_MAX_GUEST_TEXT_BYTES,
            max_idle_instances: DEFAULT_MAX_IDLE_INSTANCES,
            max_idle_memory_bytes: DEFAULT_MAX_IDLE_INSTANCE_MEMORY_BYTES,
            max_console_lines_per_second: MAX_CONSOLE_LINES_PER_SECOND,
        }
    }
}

/// Engine-wide limits, fixed when the [`crate::Runtime`] is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineLimits {
    /// See [`DEFAULT_ENGINE_MAX_MEMORY_BYTES`].
    pub max_memory_bytes: u64,
    /// See [`DEFAULT_MAX_INSTANCES`].
    pub max_instances: u32,
    /// See [`DEFAULT_MAX_WASM_STACK_BYTES`].
    pub max_wasm_stack_bytes: usize,
    /// See [`DEFAULT_MAX_TABLE_ELEMENTS`].
    pub max_table_elements: usize,
    /// See [`DEFAULT_EPOCH_TICK`].
    pub epoch_tick: Duration,
}

impl Default for EngineLimits {
    fn default() -> Self {
        Self {
            max_memory_bytes: DEFAULT_ENGINE_MAX_MEMORY_BYTES,
            max_instances: DEFAULT_MAX_INSTANCES,
            max_wasm_stack_bytes: DEFAULT_MAX_WASM_STACK_BYTES,
            max_table_elements: DEFAULT_MAX_TABLE_ELEMENTS,
            epoch_tick: DEFAULT_EPOCH_TICK,
        }
    }
}
