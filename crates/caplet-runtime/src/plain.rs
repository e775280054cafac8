//! Running an export of a plain core module: numbers in, numbers out.
//!
//! `caplet invoke add.wasm --invoke add 2 2` is the seeds' first demo. The arguments are parsed
//! by the export's signature (i32, i64, f32, f64), the call runs under the same engine and
//! limits as actors (deadline, memory), and the results come back as [`wasmtime::Val`]s.

use std::time::Instant;

use wasmtime::{ExternType, Store, Trap, UpdateDeadline, Val, ValType};

use crate::engine::Runtime;
use crate::error::LoadError;
use crate::limits::Limits;
use crate::state::GuestState;

/// Why a plain invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The module could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The module has imports; a plain invocation provides none.
    #[error(
        "`{module}` imports `{import}`; `caplet invoke` runs only modules without imports (use `caplet call` for waPC actors)"
    )]
    HasImports { module: String, import: String },
    /// No function export of that name.
    #[error("`{module}` has no exported function `{export}`; exported functions: {available}")]
    NoSuchFunction {
        module: String,
        export: String,
        available: String,
    },
    /// Wrong number of arguments.
    #[error("`{export}` takes {expected} argument(s) ({signature}), {given} given")]
    ArgumentCount {
        export: String,
        expected: usize,
        given: usize,
        signature: String,
    },
    /// An argument does not parse as its parameter's type.
    #[error("argument {position} (`{value}`) is not a valid {ty}")]
    BadArgument {
        position: usize,
        value: String,
        ty: String,
    },
    /// A parameter or result type cannot be written on a command line.
    #[error(
        "`{export}` uses type {ty}, which `caplet invoke` cannot pass or print (only i32, i64, f32, f64)"
    )]
    UnsupportedType { export: String, ty: String },
    /// The function trapped or ran past its deadline.
    #[error("`{module}` trapped in `{export}`: {reason}")]
    Trap {
        module: String,
        export: String,
        reason: String,
    },
}

/// Runs `export` of the plain module `bytes` with `args` parsed by its signature.
pub async fn invoke(
    runtime: &Runtime,
    name: &str,
    bytes: &[u8],
    export: &str,
    args: &[String],
    limits: Limits,
) -> Result<Vec<Val>, InvokeError> {
    let module = runtime.compile(name, bytes, &limits)?;
    if let Some(import) = module.imports().next() {
        let import = format!("{}::{}", import.module(), import.name());
        return Err(InvokeError::HasImports {
            module: name.to_string(),
            import,
        });
    }
    let ty = match module.get_export(export) {
        Some(ExternType::Func(ty)) => ty,
        _ => {
            let available: Vec<&str> = module
                .exports()
                .filter(|e| matches!(e.ty(), ExternType::Func(_)))
                .map(|e| e.name())
                .collect();
            let available = if available.is_empty() {
                "none".to_string()
            } else {
                available.join(", ")
            };
            let (module, export) = (name.to_string(), export.to_string());
            return Err(InvokeError::NoSuchFunction {
                module,
                export,
                available,
            });
        }
    };
    let params: Vec<ValType> = ty.params().collect();
    if params.len() != args.len() {
        let signature = params
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let (export, expected, given) = (export.to_string(), params.len(), args.len());
        return Err(InvokeError::ArgumentCount {
            export,
            expected,
            given,
            signature,
        });
    }
    let values = params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(i, (ty, arg))| parse_arg(export, i + 1, ty, arg))
        .collect::<Result<Vec<_>, _>>()?;
    let mut results: Vec<Val> = ty
        .results()
        .map(|t| default_val(export, &t))
        .collect::<Result<_, _>>()?;

    let state = GuestState::new(name.into(), limits, runtime.limits().max_table_elements);
    let mut store = Store::new(runtime.engine(), state);
    store.limiter(|s| &mut s.guard);
    let deadline = Instant::now() + limits.call_deadline;
    store.epoch_deadline_callback(move |_| {
        Ok(if Instant::now() < deadline {
            // As for actors (instance.rs): let tokio run its drivers at each tick.
            UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
        } else {
            UpdateDeadline::Interrupt
        })
    });
    store.set_epoch_deadline(1);
    let trap = |reason: String| InvokeError::Trap {
        module: name.to_string(),
        export: export.to_string(),
        reason,
    };
    let run = async {
        let instance = wasmtime::Instance::new_async(&mut store, &module, &[]).await?;
        let func = instance
            .get_func(&mut store, export)
            .ok_or_else(|| wasmtime::Error::msg("export vanished"))?;
        func.call_async(&mut store, &values, &mut results).await
    };
    match tokio::time::timeout(limits.call_deadline, run).await {
        Ok(Ok(())) => Ok(results),
        Ok(Err(error)) => Err(trap(match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => {
                format!(
                    "deadline of {} ms exceeded",
                    limits.call_deadline.as_millis()
                )
            }
            Some(trap) => trap.to_string(),
            None => error.root_cause().to_string(),
        })),
        Err(_) => Err(trap(format!(
            "deadline of {} ms exceeded",
            limits.call_deadline.as_millis()
        ))),
    }
}

/// Formats a result value the way a person reads numbers.
pub fn format_val(value: &Val) -> String {
    match value {
        Val::I32(v) => v.to_string(),
        Val::I64(v) => v.to_string(),
        Val::F32(bits) => f32::from_bits(*bits).to_string(),
        Val::F64(bits) => f64::from_bits(*bits).to_string(),
        other => format!("{other:?}"),
    }
}

fn parse_arg(export: &str, position: usize, ty: &ValType, arg: &str) -> Result<Val, InvokeError> {
    let bad = || InvokeError::BadArgument {
        position,
        value: arg.to_string(),
        ty: ty.to_string(),
    };
    match ty {
        // Accept the unsigned spelling too: 4294967295 is the i32 -1.
        ValType::I32 => arg
            .parse::<i32>()
            .or_else(|_| arg.parse::<u32>().map(|v| v as i32))
            .map(Val::I32)
            .map_err(|_| bad()),
        ValType::I64 => arg
            .parse::<i64>()
            .or_else(|_| arg.parse::<u64>().map(|v| v as i64))
            .map(Val::I64)
            .map_err(|_| bad()),
        ValType::F32 => arg
            .parse::<f32>()
            .map(|v| Val::F32(v.to_bits()))
            .map_err(|_| bad()),
        ValType::F64 => arg
            .parse::<f64>()
            .map(|v| Val::F64(v.to_bits()))
            .map_err(|_| bad()),
        other => Err(InvokeError::UnsupportedType {
            export: export.to_string(),
            ty: other.to_string(),
        }),
    }
}

fn default_val(export: &str, ty: &ValType) -> Result<Val, InvokeError> {
    match ty {
        ValType::I32 => Ok(Val::I32(0)),
        ValType::I64 => Ok(Val::I64(0)),
        ValType::F32 => Ok(Val::F32(0)),
        ValType::F64 => Ok(Val::F64(0)),
        other => Err(InvokeError::UnsupportedType {
            export: export.to_string(),
            ty: other.to_string(),
        }),
    }
}
