//! Typed errors, split by who must act.
//!
//! [`LoadError`] means the module itself is unusable (the author or operator must fix it);
//! [`CallError`] means one call failed and says why, so the host can answer a request (a
//! deadline is a 504, a guest error a 500, capacity a 503) without parsing strings.

use std::time::Duration;

/// Why a module could not be loaded. Nothing was started; nothing else was affected.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The module is larger than [`crate::Limits::max_module_bytes`].
    #[error(
        "module `{module}` is {size} bytes, over the limit of {limit} bytes (raise max_module_bytes to accept it)"
    )]
    TooLarge {
        module: String,
        size: usize,
        limit: usize,
    },
    /// The bytes do not start with the Wasm magic number.
    #[error(
        "`{module}` is not a WebAssembly module: it does not start with \\0asm (is it the right file?)"
    )]
    NotWasm { module: String },
    /// The bytes are a precompiled wasmtime artifact, which is only ever read from the local cache.
    #[error(
        "`{module}` is a precompiled wasmtime artifact; Caplet only accepts original .wasm bytes and compiles them itself"
    )]
    Precompiled { module: String },
    /// The bytes are a component, not a core module.
    #[error("`{module}` is a WebAssembly component; this runtime runs core waPC modules")]
    Component { module: String },
    /// wasmtime rejected the module (truncated, malformed or invalid code).
    #[error("`{module}` is not a valid WebAssembly module: {reason}")]
    Invalid { module: String, reason: String },
    /// A required export is missing.
    #[error("`{module}` does not export `{export}`, which a waPC actor must export ({hint})")]
    MissingExport {
        module: String,
        export: &'static str,
        hint: &'static str,
    },
    /// A required export has the wrong type.
    #[error(
        "`{module}` exports `{export}` with the wrong type: expected {expected}, found {found}"
    )]
    WrongExportType {
        module: String,
        export: &'static str,
        expected: &'static str,
        found: String,
    },
    /// The module imports something the runtime does not provide.
    #[error(
        "`{module}` imports `{import_module}::{name}`, which Caplet does not provide (waPC actors import only from `wapc` or `wasmbus`)"
    )]
    UnsupportedImport {
        module: String,
        import_module: String,
        name: String,
    },
    /// The limits asked for cannot be honoured by this engine.
    #[error("invalid limits for `{module}`: {reason}")]
    InvalidLimits { module: String, reason: String },
    /// The engine could not be built (a configuration error in the host, not the module).
    #[error("could not build the wasmtime engine: {0}")]
    Engine(String),
}

/// Why one call failed. The instance that failed is discarded; the module keeps serving.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The guest returned failure with this message (`__guest_error`), or had no handler.
    #[error("{message}")]
    Guest { message: String },
    /// The guest ran past its deadline and was interrupted.
    #[error("`{module}` exceeded its deadline of {} ms in operation `{operation}`: guest code interrupted, execution deadline exceeded", deadline.as_millis())]
    Deadline {
        module: String,
        operation: String,
        deadline: Duration,
    },
    /// The guest tried to grow its memory beyond its limit, then failed.
    #[error(
        "`{module}` exceeded its memory limit of {limit} bytes in operation `{operation}` (it asked for {requested} bytes)"
    )]
    MemoryLimit {
        module: String,
        operation: String,
        limit: u64,
        requested: u64,
    },
    /// The guest overflowed the wasm stack.
    #[error("`{module}` overflowed its stack in operation `{operation}` (infinite recursion?)")]
    StackOverflow { module: String, operation: String },
    /// The guest trapped (`unreachable`, a panic, an out-of-bounds access, …).
    #[error("`{module}` trapped in operation `{operation}`: {trap}")]
    Trap {
        module: String,
        operation: String,
        trap: String,
    },
    /// A new instance could not be created or initialised (`_start` / `wapc_init` failed).
    #[error("could not start an instance of `{module}`: {reason}")]
    Init { module: String, reason: String },
    /// Every instance slot of the engine is in use.
    #[error(
        "no capacity: all {limit} instance slots are in use; try again later or raise max_instances"
    )]
    Capacity { limit: u32 },
    /// The request payload is larger than [`crate::Limits::max_payload_bytes`].
    #[error("payload of {size} bytes is over the limit of {limit} bytes")]
    PayloadTooLarge { size: usize, limit: usize },
}

impl CallError {
    /// True when the failure came from the guest's own logic rather than a broken instance.
    /// Such instances are healthy and go back to the pool.
    pub fn instance_reusable(&self) -> bool {
        matches!(
            self,
            CallError::Guest { .. } | CallError::PayloadTooLarge { .. }
        )
    }
}
