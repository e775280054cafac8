//! `caplet dev PATH`: run a manifest as `caplet up` does, watch its actors' Rust sources, and on
//! every change rebuild the actor that changed, sign it with a local development key and
//! hot-swap it (`Host::update_actor`). A failed build or a refused update changes nothing: the
//! running version keeps serving. See docs/dev.md.
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
    /// An actor to rebuild and swap, optionally with its source folder; repeat it to watch
    /// several [default: the manifest's only actor; with several actors, each one whose
    /// <manifest folder>/<actor name> holds a Cargo.toml].
    #[arg(long = "actor", value_name = "NAME[=DIR]")]
    pub actors: Vec<String>,
    /// The watched actor's cargo crate, when one actor is watched [default: <manifest
    /// folder>/actor, else <manifest folder>/<actor name>, whichever holds a Cargo.toml].
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
    let runtime = caplet_launch::server_runtime().context("could not start the async runtime")?;
    runtime.block_on(dev(args))
}

async fn dev(args: DevArgs) -> anyhow::Result<ExitCode> {
    let mut manifest = match up::load(&args.path, args.allow_unsigned) {
        Ok(manifest) => manifest,
        Err(code) => return Ok(code),
    };
    let watched = watched_actors(&manifest, &args)?;
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
    let mut module_keys = Vec::with_capacity(watched.len());
    for (actor, _) in &watched {
        let name = format!("{DEV_ACCOUNT}-{actor}");
        module_keys.push(load_or_generate(&store, &name, KeyKind::Module)?);
    }
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
    let poll = Duration::from_millis(args.poll_ms);
    let mut watchers = tokio::task::JoinSet::new();
    for ((actor, source), module_key) in watched.into_iter().zip(module_keys) {
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
            builder: builder.clone(),
            account: account.clone(),
            module_key,
            poll,
            last: None,
        };
        watchers.spawn(watcher.run());
    }
    // One companion task for `serve` to stop: aborting it drops the set, which aborts every
    // watcher.
    let task = tokio::spawn(async move { while watchers.join_next().await.is_some() {} });
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

/// The actors to watch and their source folders: those named by `--actor NAME[=DIR]`, else the
/// manifest's only actor, else every actor with a folder named after it.
fn watched_actors(
    manifest: &caplet_manifest::Manifest,
    args: &DevArgs,
) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let custom_build = args.build_cmd.is_some();
    let base = &manifest.base_dir;
    // Each actor with the folder given for it, if any.
    let mut named: Vec<(String, Option<PathBuf>)> = Vec::new();
    for given in &args.actors {
        let (name, dir) = match given.split_once('=') {
            Some((name, "")) => bail!("--actor {name}=: the folder after `=` is missing"),
            Some((name, dir)) => (name, Some(PathBuf::from(dir))),
            None => (given.as_str(), None),
        };
        if manifest.actor(name).is_none() {
            bail!(
                "the manifest {} has no actor `{name}`; its actors: {}",
                manifest.file.display(),
                actor_names(manifest)
            );
        }
        if named.iter().any(|(seen, _)| seen == name) {
            bail!("--actor {name} is given twice");
        }
        named.push((name.to_string(), dir));
    }
    if named.is_empty() {
        match manifest.actors.as_slice() {
            [] => bail!("the manifest {} has no actors", manifest.file.display()),
            [only] => named.push((only.name.clone(), None)),
            several if args.source.is_none() => {
                return by_folder_name(manifest, several, custom_build);
            }
            several => bail!(
                "the manifest {} has {} actors ({}); --source names one actor's folder: give --actor NAME=DIR for each actor to watch",
                manifest.file.display(),
                several.len(),
                actor_names(manifest)
            ),
        }
    }
    if args.source.is_some() && named.len() > 1 {
        bail!("--source names one actor's folder; with several actors give --actor NAME=DIR");
    }
    named
        .into_iter()
        .map(|(actor, dir)| {
            let given = dir.as_deref().or(args.source.as_deref());
            let source = source_dir(base, &actor, given, custom_build)?;
            Ok((actor, source))
        })
        .collect()
}

/// With several actors and no `--actor`: each actor whose `<base>/<name>` is a usable source.
/// The others are named with the flag that would watch them; none at all is an error.
fn by_folder_name(
    manifest: &caplet_manifest::Manifest,
    actors: &[caplet_manifest::ManifestActor],
    custom_build: bool,
) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut watched = Vec::new();
    for actor in actors {
        let dir = manifest.base_dir.join(&actor.name);
        if usable_source(&dir, custom_build) {
            watched.push((actor.name.clone(), absolute(&dir)));
        } else {
            eprintln!(
                "caplet dev: not watching `{}`: {} holds no Cargo.toml (watch it with --actor {}=DIR)",
                actor.name,
                dir.display(),
                actor.name
            );
        }
    }
    if watched.is_empty() {
        bail!(
            "cannot find the source of any of the {} actors of {} ({}): no folder named after one holds a Cargo.toml; give --actor NAME=DIR for each actor to watch (see docs/dev.md)",
            actors.len(),
            manifest.file.display(),
            actor_names(manifest)
        );
    }
    Ok(watched)
}

/// Whether `dir` can be an actor's source: a cargo crate, or any folder with `--build-cmd`.
fn usable_source(dir: &Path, custom_build: bool) -> bool {
    if custom_build {
        dir.is_dir()
    } else {
        dir.join("Cargo.toml").is_file()
    }
}

/// The source folder: the one given (`--source` or `--actor NAME=DIR`), else `<base>/actor`,
/// else `<base>/<actor>`, the first that holds a Cargo.toml (any existing folder will do with
/// `--build-cmd`).
fn source_dir(
    base: &Path,
    actor: &str,
    given: Option<&Path>,
    custom_build: bool,
) -> anyhow::Result<PathBuf> {
    let usable = |dir: &Path| usable_source(dir, custom_build);
    if let Some(dir) = given {
        if !usable(dir) {
            bail!(
                "the source folder {} of actor `{actor}`: {}",
                dir.display(),
                if custom_build {
                    "not a folder"
                } else {
                    "no Cargo.toml there; point it at the actor's cargo crate"
                }
            );
        }
        return Ok(absolute(dir));
    }
    let candidates = [base.join("actor"), base.join(actor)];
    candidates
        .iter()
        .find(|dir| usable(dir))
        .map(|dir| absolute(dir))
        .with_context(|| {
            format!(
                "cannot find the source of actor `{actor}`: neither {} nor {} holds a Cargo.toml; pass --source DIR (see docs/dev.md)",
                candidates[0].display(),
                candidates[1].display()
            )
        })
}

/// `dir` made absolute against the current folder: builds run inside the source folder, where
/// a relative path from the command line (the source itself, its Cargo.toml, the target dir)
/// would be resolved a second time.
fn absolute(dir: &Path) -> PathBuf {
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

fn target_dir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(absolute(dir));
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
