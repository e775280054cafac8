//! `caplet up PATH`: run everything a manifest names on one host until Ctrl-C.
//!
//! The manifest and everything it implies (provider settings, link values, modules, claims)
//! are checked before anything starts, and every problem is printed at its line. On Ctrl-C or
//! SIGTERM the host stops taking calls, finishes the ones in flight (up to the grace period),
//! and closes its providers; a second signal exits at once.
//!
//! The control API (docs/control.md) starts once everything runs. When `[host]` configures it,
//! failing to start it is fatal; with the defaults it is best effort (a warning), so a second
//! development host on the same machine still comes up.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use caplet_control::{
    ControlListener, ControlOptions, ControlServer, DEFAULT_CONTROL_ADDR, TokenOrigin,
    prepare_token,
};
use caplet_host::Host;
use caplet_launch::{LaunchError, Running, launch, runtime_limits};
use caplet_manifest::{LoadOptions, Manifest};
use clap::Args;
use tokio::task::JoinHandle;

/// Exit code when the manifest (or anything it names) is invalid and nothing started.
const EXIT_INVALID: u8 = 2;
/// Exit code when starting failed part-way (what had started was stopped again).
const EXIT_START_FAILED: u8 = 3;
/// Exit code after a second Ctrl-C interrupted the graceful shutdown.
const EXIT_INTERRUPTED: u8 = 130;

#[derive(Args, Debug)]
pub struct UpArgs {
    /// The manifest: a caplet.toml file, or a folder that holds one.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Development only: run actors that carry no signed claims, with every capability.
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Do not start the control API (`caplet ctl`, /metrics, /livez, /readyz).
    #[arg(long)]
    pub no_control: bool,
}

pub fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    let runtime = caplet_launch::server_runtime().context("could not start the async runtime")?;
    runtime.block_on(up(args))
}

async fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    let manifest = match load(&args.path, args.allow_unsigned) {
        Ok(manifest) => manifest,
        Err(code) => return Ok(code),
    };
    let started = match start(manifest, args.no_control).await {
        Ok(started) => started,
        Err(code) => return Ok(code),
    };
    Ok(serve(started, None).await)
}

/// A host started from a manifest, with its control API when it runs.
pub(crate) struct Started {
    /// The host and what it started.
    pub running: Running,
    /// The control API, unless off or unavailable.
    pub control: Option<ControlServer>,
}

/// Loads and validates the manifest; on errors prints them and returns the exit code.
pub(crate) fn load(path: &Path, allow_unsigned: bool) -> Result<Manifest, ExitCode> {
    let options = LoadOptions { allow_unsigned };
    let manifest = caplet_manifest::load_with(path, &options)
        .map_err(|errors| report_invalid(&errors.to_string(), errors.len()))?;
    if manifest.host.allow_unsigned {
        eprintln!(
            "caplet: WARNING: unsigned actors are allowed and run with every capability. \
             Development only: never use --allow-unsigned or allow_unsigned in production."
        );
    }
    Ok(manifest)
}

/// Launches everything `manifest` names and the control API (unless `no_control`), printing
/// what runs; on failure prints why and returns the exit code (nothing is left running).
pub(crate) async fn start(manifest: Manifest, no_control: bool) -> Result<Started, ExitCode> {
    let running = match launch(&manifest).await {
        Ok(running) => running,
        Err(LaunchError::Manifest(errors)) => {
            return Err(report_invalid(&errors.to_string(), errors.len()));
        }
        Err(error) => {
            eprintln!("caplet: error: {error}");
            eprintln!("caplet: nothing is running (what had started was stopped)");
            return Err(ExitCode::from(EXIT_START_FAILED));
        }
    };
    let host = &running.host;
    let links = host.links().len();
    eprintln!(
        "caplet: up: {} actor(s), {} link(s), from {}",
        running.actors.len(),
        links,
        manifest.file.display()
    );
    for status in host.actors() {
        let identity = match (&status.issuer, status.revision) {
            (Some(_), Some(rev)) => format!("{} rev {rev}", status.actor.id),
            _ => status.actor.id.to_string(),
        };
        eprintln!("caplet:   actor {:<16} {identity}", status.actor.name);
    }
    for (actor, address) in &running.http_endpoints {
        eprintln!("caplet:   http  {actor:<16} http://{address}/");
    }
    let control = if no_control {
        None
    } else {
        match start_control(&manifest, host).await {
            Ok(control) => control,
            Err(reason) => {
                eprintln!("caplet: error: {reason}");
                host.shutdown().await;
                eprintln!("caplet: nothing is running (what had started was stopped)");
                return Err(ExitCode::from(EXIT_START_FAILED));
            }
        }
    };
    Ok(Started { running, control })
}

/// Serves until SIGINT or SIGTERM, then stops gracefully (a second signal exits at once).
/// `companion` (`caplet dev`'s watcher) is stopped as soon as the first signal arrives.
pub(crate) async fn serve(started: Started, companion: Option<JoinHandle<()>>) -> ExitCode {
    let Started { running, control } = started;
    let host = &running.host;
    eprintln!("caplet: serving; press Ctrl-C to stop");

    wait_for_signal().await;
    if let Some(companion) = companion {
        companion.abort();
    }
    eprintln!("caplet: stopping: no new calls; finishing the calls in flight");
    // The control API keeps answering during the drain: /readyz says 503, /livez 200.
    let shutdown = async {
        let abandoned = host.shutdown().await;
        if let Some(control) = control {
            control.stop().await;
        }
        abandoned
    };
    tokio::select! {
        abandoned = shutdown => {
            if abandoned > 0 {
                eprintln!("caplet: stopped; {abandoned} call(s) did not finish within the grace period");
            } else {
                eprintln!("caplet: stopped cleanly");
            }
            ExitCode::SUCCESS
        }
        () = wait_for_signal() => {
            eprintln!("caplet: interrupted again; exiting now");
            ExitCode::from(EXIT_INTERRUPTED)
        }
    }
}

/// Binds the control API, then prepares its token (so a host that cannot bind never rewrites
/// the token of the host that holds the port) and serves. `Err` only when `[host]` configures
/// the API; with the defaults a failure is a warning and the host runs without it.
async fn start_control(manifest: &Manifest, host: &Host) -> Result<Option<ControlServer>, String> {
    let settings = &manifest.host;
    let configured = settings.control_api.is_some() || settings.control_token_file.is_some();
    let addr = settings.control_api.unwrap_or(DEFAULT_CONTROL_ADDR);
    let started = async {
        let listener = ControlListener::bind(addr)
            .await
            .map_err(|e| e.to_string())?;
        let (token, path, origin) = prepare_token(settings.control_token_file.as_deref())
            .map_err(|e| format!("control API: {e}"))?;
        let options = ControlOptions {
            token,
            default_limits: runtime_limits(&settings.limits),
        };
        Ok::<_, String>((listener.serve(host.clone(), options), path, origin))
    }
    .await;
    match started {
        Ok((server, path, origin)) => {
            let origin = match origin {
                TokenOrigin::Read => "read from",
                TokenOrigin::Generated => "new, written to",
            };
            eprintln!(
                "caplet:   control http://{}/ (token {origin} {})",
                server.local_addr(),
                path.display()
            );
            Ok(Some(server))
        }
        Err(reason) if configured => Err(reason),
        Err(reason) => {
            eprintln!("caplet: WARNING: the control API is not running: {reason}");
            Ok(None)
        }
    }
}

fn report_invalid(report: &str, count: usize) -> ExitCode {
    eprintln!("{report}");
    eprintln!("caplet: {count} problem(s) found; nothing was started");
    ExitCode::from(EXIT_INVALID)
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
