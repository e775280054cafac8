//! `caplet invoke`: run an export of a plain core module and print its results.

use std::path::PathBuf;
use std::process::ExitCode;

use caplet_runtime::plain;
use clap::Args;

use super::run_opts::{LimitArgs, block_on, read_module, runtime};

#[derive(Args, Debug)]
pub struct InvokeArgs {
    /// The module (.wasm, or .wat text).
    pub module: PathBuf,
    /// The exported function to call.
    #[arg(long = "invoke", value_name = "EXPORT")]
    pub export: String,
    /// Arguments, parsed by the export's parameter types (i32, i64, f32, f64).
    #[arg(allow_negative_numbers = true)]
    pub args: Vec<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

pub fn run(args: InvokeArgs) -> anyhow::Result<ExitCode> {
    let (name, bytes) = read_module(&args.module)?;
    let runtime = runtime()?;
    let limits = args.limits.limits();
    let results = block_on(plain::invoke(
        &runtime,
        &name,
        &bytes,
        &args.export,
        &args.args,
        limits,
    ))??;
    for value in &results {
        println!("{}", plain::format_val(value));
    }
    Ok(ExitCode::SUCCESS)
}
