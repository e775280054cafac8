//! One live instance of an actor and the waPC call protocol on it.
//!
//! A `WarmInstance` owns its `Store`; it is created from the module's `InstancePre` (a pooling
//! allocator slot, no linking work), initialised once (`_start`, then `wapc_init`), and then
//! serves calls one at a time. Each call resets the waPC slots, arms the deadline, runs
//! `__guest_call` on a fiber and reads the result by the rules of wire-compat.md §1.3.

use std::sync::Arc;
use std::time::Instant;

use wasmtime::{InstancePre, Store, Trap, TypedFunc, UpdateDeadline};

use crate::error::CallError;
use crate::host::HostCallHandler;
use crate::state::GuestState;

/// An initialised instance, ready for calls.
pub(crate) struct WarmInstance {
    store: Store<GuestState>,
    guest_call: TypedFunc<(i32, i32), i32>,
}

/// Text the waPC host returns when a guest fails without setting an error (§1.3).
const NO_ERROR_SET: &str = "No error message set for call failure";
/// Text the waPC host returns when a guest succeeds without setting a response or error.
const NO_RESPONSE_SET: &str = "No error message OR response set for call success";

impl WarmInstance {
    /// Instantiates and initialises a fresh instance under the init deadline.
    pub async fn start(
        pre: &InstancePre<GuestState>,
        state: GuestState,
        max_instances: u32,
    ) -> Result<Self, CallError> {
        let module = state.module.to_string();
        let init_deadline = state.limits.init_deadline;
        let mut store = Store::new(pre.module().engine(), state);
        store.limiter(|state| &mut state.guard);
        // At each epoch tick a running guest yields through tokio's `yield_now`, not a bare
        // self-wake: tokio then polls its timer and I/O drivers before resuming the guest, so
        // guests spinning on every worker do not hold back timers and sockets until their
        // deadline (hostile-guests.md A2).
        store.epoch_deadline_callback(|ctx| match ctx.data().deadline {
            Some(deadline) if Instant::now() < deadline => Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(tokio::task::yield_now()),
            )),
            _ => Ok(UpdateDeadline::Interrupt),
        });
        store.set_epoch_deadline(1);
        store.data_mut().deadline = Some(Instant::now() + init_deadline);
        // No timer wraps initialisation either: the epoch callback stops guest code (the start
        // function, `_start`, `wapc_init`) at the deadline, and a host call cannot wait during
        // it (no host handler is installed until the first call). A timer would cost a
        // timer-wheel entry on every fresh instance for nothing.
        let init = async {
            let instance = pre.instantiate_async(&mut store).await?;
            let memory = instance.get_memory(&mut store, "memory");
            store.data_mut().memory = memory;
            for name in ["_start", "wapc_init"] {
                if let Some(func) = instance.get_func(&mut store, name) {
                    func.typed::<(), ()>(&store)?
                        .call_async(&mut store, ())
                        .await?;
                }
            }
            instance.get_typed_func::<(i32, i32), i32>(&mut store, "__guest_call")
        };
        let guest_call = match init.await {
            Ok(func) => func,
            Err(error) => {
                return Err(init_error(&module, store.data(), error, max_instances));
            }
        };
        store.data_mut().finish();
        Ok(Self { store, guest_call })
    }

    /// Runs one waPC call, its deadline counted from `started`. On `Err`,
    /// [`CallError::instance_reusable`] says whether this instance may serve again.
    pub async fn call(
        &mut self,
        started: Instant,
        operation: &str,
        payload: &[u8],
        host: Arc<dyn HostCallHandler>,
    ) -> Result<Vec<u8>, CallError> {
        let deadline = self.store.data().limits.call_deadline;
        let state = self.store.data_mut();
        state.begin(operation, payload, host);
        state.deadline = Some(started + deadline);
        self.store.set_epoch_deadline(1);
        let args = (len_i32(operation.len()), len_i32(payload.len()));
        // No timer wraps the call: guest code is stopped by the epoch callback, and the time a
        // guest spends parked in a host call is bounded by the epoch ticker too (`parked.rs`).
        // A timer per call would cost a clock read and a timer-wheel entry on every call.
        let outcome = self.guest_call.call_async(&mut self.store, args).await;
        let result = match outcome {
            Ok(code) => self.read_result(code),
            Err(error) => Err(self.trap_error(operation, error)),
        };
        self.store.data_mut().finish();
        result
    }

    /// Size of the instance's linear memory, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.store
            .data()
            .memory
            .map_or(0, |memory| memory.data_size(&self.store))
    }

    /// Interprets `__guest_call`'s return value (wire-compat.md §1.3 steps 3 and 4).
    fn read_result(&mut self, code: i32) -> Result<Vec<u8>, CallError> {
        let state = self.store.data_mut();
        let response = state.guest_response.take();
        let error = state.guest_error.take();
        match (code, response, error) {
            (0, _, Some(message)) => Err(CallError::Guest { message }),
            (0, _, None) => Err(CallError::Guest {
                message: NO_ERROR_SET.to_string(),
            }),
            (_, Some(response), _) => Ok(response),
            (_, None, Some(message)) => Err(CallError::Guest { message }),
            (_, None, None) => Err(CallError::Guest {
                message: NO_RESPONSE_SET.to_string(),
            }),
        }
    }

    fn trap_error(&self, operation: &str, error: wasmtime::Error) -> CallError {
        let state = self.store.data();
        let module = state.module.to_string();
        let operation = operation.to_string();
        if let Some(requested) = state.guard.denied_memory {
            let limit = state.limits.max_memory_bytes;
            return CallError::MemoryLimit {
                module,
                operation,
                limit,
                requested,
            };
        }
        if state.deadline_expired {
            return CallError::Deadline {
                module,
                operation,
                deadline: state.limits.call_deadline,
            };
        }
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => CallError::Deadline {
                module,
                operation,
                deadline: state.limits.call_deadline,
            },
            Some(Trap::StackOverflow) => CallError::StackOverflow { module, operation },
            Some(trap) => CallError::Trap {
                module,
                operation,
                trap: trap.to_string(),
            },
            None => CallError::Trap {
                module,
                operation,
                trap: error.root_cause().to_string(),
            },
        }
    }
}

fn init_error(
    module: &str,
    state: &GuestState,
    error: wasmtime::Error,
    max_instances: u32,
) -> CallError {
    if error
        .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return CallError::Capacity {
            limit: max_instances,
        };
    }
    let reason = if let Some(requested) = state.guard.denied_memory {
        format!(
            "it needs {requested} bytes of memory, over its limit of {} bytes",
            state.limits.max_memory_bytes
        )
    } else if state.deadline_expired || matches!(error.downcast_ref(), Some(Trap::Interrupt)) {
        format!(
            "initialisation exceeded its deadline of {} ms",
            state.limits.init_deadline.as_millis()
        )
    } else {
        match error.downcast_ref::<Trap>() {
            Some(trap) => format!("`_start` or `wapc_init` trapped: {trap}"),
            None => error.root_cause().to_string(),
        }
    };
    CallError::Init {
        module: module.to_string(),
        reason,
    }
}

/// Lengths are checked against the payload limits before a call, so they fit in an i32.
fn len_i32(len: usize) -> i32 {
    i32::try_from(len).unwrap_or(i32::MAX)
}
