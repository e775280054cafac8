//! The `caplet` command: a thin layer of argument parsing over the Caplet crates.
//!
//! Every subcommand lives in its own file under `cmd/` and returns the process exit code, so
//! commands with several documented failure codes (`caplet claims verify`) can say which one.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// mimalloc instead of the system allocator: a request through the host allocates and frees
/// a few dozen small buffers on two threads, where glibc's malloc spent about a tenth of the
/// host's CPU (docs/runtime.md, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Caplet: a secure WebAssembly host for cloud services.
#[derive(Parser)]
#[command(name = "caplet", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the actors, providers and links of a manifest (caplet.toml) until Ctrl-C.
    Up(cmd::up::UpArgs),
    /// Inspect and change a running host through its control API.
    Ctl(cmd::ctl::CtlArgs),
    /// Run a manifest like `up`, and rebuild, sign and hot-swap an actor when its source changes.
    Dev(cmd::dev::DevArgs),
    /// Run an exported function of a plain core module and print its results.
    Invoke(cmd::invoke::InvokeArgs),
    /// Run one waPC operation of an actor, standalone, and print the response.
    Call(cmd::call::CallArgs),
    /// Generate nkeys-encoded Ed25519 keys.
    #[command(subcommand)]
    Keys(cmd::keys::KeysCommand),
    /// Sign, inspect and verify the claims embedded in a module.
    #[command(subcommand)]
    Claims(cmd::claims::ClaimsCommand),
}

fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => cmd::up::run(args),
        Command::Ctl(args) => cmd::ctl::run(args),
        Command::Dev(args) => cmd::dev::run(args),
        Command::Invoke(args) => cmd::invoke::run(args),
        Command::Call(args) => cmd::call::run(args),
        Command::Keys(args) => cmd::keys::run(args),
        Command::Claims(args) => cmd::claims::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr so that command output on stdout stays machine-readable.
/// `RUST_LOG` selects the level; the default shows warnings and guest console output.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("warn,caplet_runtime::guest=info,caplet::actor=info")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
