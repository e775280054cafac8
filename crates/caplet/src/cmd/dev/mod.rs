//! `caplet dev PATH`: run a manifest as `caplet up` does, watch one actor's Rust source, and on
//! every change rebuild it, sign it with a local development key and hot-swap it
//! (`Host::update_actor`). A failed build or a refused update changes nothing: the running
//! version keeps serving. See docs/dev.md.
//!
//! Polling (every `--poll-ms`, default 500 ms) over the source folder's file sizes and
//! modification times keeps this free of a file-watching dependency and works on every file
//! system, including network mounts and containers' bind mounts.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use caplet_claims::{KeyKind, KeyPair, generate};
use clap::Args;

use super::keys::KeysDirArg;
use super::up;
use build::{Builder, CargoRoute};
use watch::Watcher;

mod build;
mod watch;

/// Name of the development account's seed file in the keys directory (`<name>_account.nk`).
const DEV_ACCOUNT: &str = "caplet-dev";

#[derive(Args, Debug)]
pub struct DevArgs {
    /// The manifest: a caplet.toml file, or a folder that holds one.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The actor to rebuild and swap [default: the manifest's only actor].
    #[arg(long)]
    pub actor: Option<String>,
    /// The actor's cargo crate [default: <manifest folder>/actor, else
    /// <manifest folder>/<actor name>, whichever holds a Cargo.toml].
    #[arg(long, value_name = "DIR")]
    pub source: Option<PathBuf>,
    /// Build with this shell command (`sh -c`, run in the source folder) instead of cargo. It
    /// must write the module to the file named by $CAPLET_DEV_OUT.
    #[arg(long, value_name = "COMMAND")]
    pub build_cmd: Option<String>,
    /// Where cargo builds [default: $CAPLET_DEV_TARGET_DIR, else ~/.cache/caplet/dev-target].
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,
    /// How often the source folder is scanned for changes, in milliseconds.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u64).range(50..=60_000))]
    pub poll_ms: u64,
    /// Development only: run actors that carry no signed claims, with every capability.
    #[arg(long)]
    pub allow_unsigned: bool,
    /// Do not start the control API.
    #[arg(long)]
    pub no_control: bool,
    #[command(flatten)]
    pub keys: KeysDirArg,
}

pub fn run(args: DevArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    runtime.block_on(dev(args))
}

async fn dev(args: DevArgs) -> anyhow::Result<ExitCode> {
    let mut manifest = match up::load(&args.path, args.allow_unsigned) {
        Ok(manifest) => manifest,
        Err(code) => return Ok(code),
    };
    let actor = match &args.actor {
        Some(name) => {
            if manifest.actor(name).is_none() {
                bail!(
                    "the manifest {} has no actor `{name}`; its actors: {}",
                    manifest.file.display(),
                    actor_names(&manifest)
                );
            }
            name.clone()
        }
        None => match manifest.actors.as_slice() {
            [only] => only.name.clone(),
            _ => bail!(
                "the manifest {} has {} actors ({}); name the one to rebuild with --actor",
                manifest.file.display(),
                manifest.actors.len(),
                actor_names(&manifest)
            ),
        },
    };
    let source = source_dir(
        &manifest.base_dir,
        &actor,
        args.source.as_deref(),
        args.build_cmd.is_some(),
    )?;
    let builder = match &args.build_cmd {
        Some(command) => Builder::Command(command.clone()),
        None => Builder::Cargo {
            route: CargoRoute::detect()?,
            target_dir: target_dir(args.target_dir.as_deref())?,
        },
    };

    // The development signing keys: made once, kept in the keys directory, trusted by this
    // host only (the manifest file is not changed).
    let store = args.keys.store()?;
    let account = load_or_generate(&store, DEV_ACCOUNT, KeyKind::Account)?;
    let module_key = load_or_generate(&store, &format!("{DEV_ACCOUNT}-{actor}"), KeyKind::Module)?;
    let account_key = account.public_key();
    if !manifest.host.issuers.contains(&account_key) {
        manifest.host.issuers.push(account_key.clone());
    }
    eprintln!(
        "caplet dev: trusting the development account {account_key} ({}) for this host only; the manifest is unchanged",
        store.path(DEV_ACCOUNT, KeyKind::Account)?.display()
    );

    let started = match up::start(manifest, args.no_control).await {
        Ok(started) => started,
        Err(code) => return Ok(code),
    };
    eprintln!(
        "caplet dev: watching {} for actor `{actor}` (every {} ms); build: {}",
        source.display(),
        args.poll_ms,
        builder.describe()
    );
    let watcher = Watcher {
        host: started.running.host.clone(),
        actor,
        source,
        builder,
        account,
        module_key,
        poll: Duration::from_millis(args.poll_ms),
        last: None,
    };
    let task = tokio::spawn(watcher.run());
    Ok(up::serve(started, Some(task)).await)
}

fn actor_names(manifest: &caplet_manifest::Manifest) -> String {
    let names: Vec<&str> = manifest.actors.iter().map(|a| a.name.as_str()).collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// The source folder: `--source`, else `<base>/actor`, else `<base>/<actor>`, the first that
/// holds a Cargo.toml (any existing folder will do with `--build-cmd`).
fn source_dir(
    base: &Path,
    actor: &str,
    given: Option<&Path>,
    custom_build: bool,
) -> anyhow::Result<PathBuf> {
    let usable = |dir: &Path| {
        if custom_build {
            dir.is_dir()
        } else {
            dir.join("Cargo.toml").is_file()
        }
    };
    if let Some(dir) = given {
        if !usable(dir) {
            bail!(
                "--source {}: {}",
                dir.display(),
                if custom_build {
                    "not a folder"
                } else {
                    "no Cargo.toml there; point it at the actor's cargo crate"
                }
            );
        }
        return Ok(dir.to_path_buf());
    }
    let candidates = [base.join("actor"), base.join(actor)];
    candidates
        .iter()
        .find(|dir| usable(dir))
        .cloned()
        .with_context(|| {
            format!(
                "cannot find the source of actor `{actor}`: neither {} nor {} holds a Cargo.toml; pass --source DIR (see docs/dev.md)",
                candidates[0].display(),
                candidates[1].display()
            )
        })
}

fn target_dir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir.to_path_buf());
    }
    if let Some(dir) = std::env::var_os("CAPLET_DEV_TARGET_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    std::env::home_dir()
        .filter(|home| !home.as_os_str().is_empty())
        .map(|home| home.join(".cache/caplet/dev-target"))
        .context(
            "cannot find the home directory for ~/.cache/caplet/dev-target; pass --target-dir DIR",
        )
}

fn load_or_generate(
    store: &caplet_claims::KeyStore,
    name: &str,
    kind: KeyKind,
) -> anyhow::Result<KeyPair> {
    if let Some(key) = store
        .load(name, kind)
        .with_context(|| format!("cannot read the development key {name}"))?
    {
        return Ok(key);
    }
    let key = generate(kind);
    let path = store
        .save(name, &key, false)
        .with_context(|| format!("cannot save the development key {name}"))?;
    eprintln!(
        "caplet dev: generated the development {} key {} in {}",
        kind.name(),
        key.public_key(),
        path.display()
    );
    Ok(key)
}
