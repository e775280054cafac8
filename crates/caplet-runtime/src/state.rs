//! The per-instance store data: the five waPC slots, the current deadline and the memory guard.
//!
//! One `GuestState` lives in each wasmtime `Store`. The waPC imports read and write it; the
//! runtime resets it before every call so nothing leaks from one invocation into the next.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::{Memory, ResourceLimiter};

use crate::host::HostCallHandler;
use crate::limits::Limits;
use crate::parked::SlotHandle;
use crate::text::LineBudget;

/// Store data for one instance.
pub(crate) struct GuestState {
    /// The module's name, for errors and logs.
    pub module: Arc<str>,
    pub limits: Limits,
    /// The guest's `memory` export, looked up once after instantiation.
    pub memory: Option<Memory>,
    /// Operation of the current invocation (`__guest_request` writes it).
    pub operation: String,
    /// Payload of the current invocation.
    pub request: Vec<u8>,
    /// Whether an invocation is in progress; `__guest_request` writes nothing otherwise.
    pub has_request: bool,
    pub guest_response: Option<Vec<u8>>,
    pub guest_error: Option<String>,
    pub host_response: Option<Vec<u8>>,
    pub host_error: Option<String>,
    /// Reused for every `__host_call`: binding, namespace and operation, one after another.
    pub host_call_text: String,
    /// Reused for every `__host_call`: its payload.
    pub host_call_payload: Vec<u8>,
    /// Serves `__host_call` during the current invocation.
    pub host: Option<Arc<dyn HostCallHandler>>,
    /// When the current call (or initialisation) must end; checked at every epoch tick.
    pub deadline: Option<Instant>,
    /// Set when a host call was cut off at the deadline, so the trap reads as a deadline error.
    pub deadline_expired: bool,
    /// Where a host call that waits registers its deadline with the epoch ticker; `None` for
    /// plain modules, which make no host calls.
    pub parked: Option<SlotHandle>,
    pub guard: MemoryGuard,
    /// `__console_log` rate limit of this instance ([`crate::MAX_CONSOLE_LINES_PER_SECOND`]).
    pub console: LineBudget,
}

impl GuestState {
    pub fn new(module: Arc<str>, limits: Limits, max_table_elements: usize) -> Self {
        Self {
            module,
            limits,
            memory: None,
            operation: String::new(),
            request: Vec::new(),
            has_request: false,
            guest_response: None,
            guest_error: None,
            host_response: None,
            host_error: None,
            host_call_text: String::new(),
            host_call_payload: Vec::new(),
            host: None,
            deadline: None,
            deadline_expired: false,
            parked: None,
            guard: MemoryGuard {
                max_memory_bytes: limits.max_memory_bytes,
                max_table_elements,
                denied_memory: None,
            },
            console: LineBudget::default(),
        }
    }

    /// Clears all five waPC slots and installs the next invocation (wire-compat §1.3 step 1).
    #[inline]
    pub fn begin(&mut self, operation: &str, payload: &[u8], host: Arc<dyn HostCallHandler>) {
        self.operation.clear();
        self.operation.push_str(operation);
        self.request.clear();
        self.request.extend_from_slice(payload);
        self.has_request = true;
        self.guest_response = None;
        self.guest_error = None;
        self.host_response = None;
        self.host_error = None;
        self.host = Some(host);
        self.deadline_expired = false;
        self.guard.denied_memory = None;
    }

    /// Drops per-call references once the call is over, keeping buffers for reuse.
    #[inline]
    pub fn finish(&mut self) {
        self.has_request = false;
        self.host = None;
        self.deadline = None;
        self.host_response = None;
        self.host_error = None;
    }
}

/// Enforces [`Limits::max_memory_bytes`] and the table limit, and remembers a refused growth so
/// that the failure that follows can be reported as a memory-limit error rather than a bare trap.
pub(crate) struct MemoryGuard {
    pub max_memory_bytes: u64,
    pub max_table_elements: usize,
    /// The size (bytes) of the last refused memory growth in this call.
    pub denied_memory: Option<u64>,
}

impl ResourceLimiter for MemoryGuard {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let desired = u64::try_from(desired).unwrap_or(u64::MAX);
        if desired > self.max_memory_bytes {
            self.denied_memory = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.max_table_elements)
    }
}
