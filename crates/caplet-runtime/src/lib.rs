//! Caplet's runtime: wasmtime configured for hostile guests, speaking waPC.
//!
//! One [`Runtime`] per process holds the engine (pooling allocator, epoch interruption, bounded
//! stacks), its epoch ticker thread, the waPC imports and the compile cache. [`Runtime::load_actor`]
//! checks and compiles a module into an [`ActorModule`], whose [`ActorModule::call`] runs one
//! waPC operation on a pooled instance under the module's [`Limits`]. Guest→host calls go to
//! the [`HostCallHandler`] the caller passes in; the runtime knows nothing of providers, links
//! or claims. A trap, a deadline or a memory limit fails that call only, and the instance that
//! failed is discarded, never reused.

mod abi;
mod cache;
mod code;
mod engine;
mod error;
mod host;
mod instance;
mod limits;
mod module;
mod parked;
pub mod plain;
mod state;
pub mod text;

pub use abi::{ConsoleLogStats, IMPORT_MODULES, IMPORT_NAMES, console_log_stats};
pub use engine::{PERF_MAP_ENV, Runtime, RuntimeConfig, default_cache_dir};
pub use error::{CallError, LoadError};
pub use host::{BoxFuture, DEFAULT_BINDING, HostCall, HostCallError, HostCallHandler, NoHost};
pub use limits::*;
pub use module::{ActorModule, module_hash};
