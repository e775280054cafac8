//! Options shared by the commands that run a module: which file, and the limits to run it under.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use caplet_runtime::{Limits, Runtime, RuntimeConfig};
use clap::Args;

/// Per-call limits a user can set on the command line (defaults in docs/limits.md).
#[derive(Args, Debug, Clone)]
pub struct LimitArgs {
    /// Deadline for the call, in milliseconds [default: 5000].
    #[arg(long, value_name = "MS")]
    pub deadline_ms: Option<u64>,
    /// Linear memory limit, in MiB [default: 64].
    #[arg(long, value_name = "MIB")]
    pub max_memory_mib: Option<u64>,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        let mut limits = Limits::default();
        if let Some(ms) = self.deadline_ms {
            limits.call_deadline = Duration::from_millis(ms);
        }
        if let Some(mib) = self.max_memory_mib {
            limits.max_memory_bytes = mib.saturating_mul(1 << 20);
        }
        limits
    }
}

/// Reads a module file; `.wat` text is assembled to binary first.
pub fn read_module(path: &Path) -> anyhow::Result<(String, Vec<u8>)> {
    let bytes =
        std::fs::read(path).with_context(|| format!("could not read `{}`", path.display()))?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    if path.extension().is_some_and(|e| e == "wat") {
        let binary = wat::parse_bytes(&bytes)
            .with_context(|| format!("`{}` is not valid WebAssembly text", path.display()))?;
        return Ok((name, binary.into_owned()));
    }
    Ok((name, bytes))
}

/// The shared runtime with the on-disk compile cache.
pub fn runtime() -> anyhow::Result<Runtime> {
    Ok(Runtime::new(RuntimeConfig::with_default_cache())?)
}

/// A single-threaded tokio runtime for one-shot commands.
pub fn block_on<F: std::future::Future>(future: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    Ok(rt.block_on(future))
}

/// Where a command's input payload comes from.
#[derive(Debug, Clone)]
pub enum Input {
    Data(String),
    File(PathBuf),
    Stdin,
    Empty,
}

impl Input {
    pub fn read(&self) -> anyhow::Result<Vec<u8>> {
        match self {
            Input::Data(text) => Ok(text.as_bytes().to_vec()),
            Input::File(path) => std::fs::read(path)
                .with_context(|| format!("could not read the payload file `{}`", path.display())),
            Input::Stdin => {
                let mut buf = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
                    .context("could not read the payload from standard input")?;
                Ok(buf)
            }
            Input::Empty => Ok(Vec::new()),
        }
    }
}
