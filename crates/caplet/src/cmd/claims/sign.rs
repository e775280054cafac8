//! `caplet claims sign`: find the keys, turn flags into an `ActorSpec`, sign, write atomically.
//!
//! Keys come from a flag (a seed file), else an environment variable (the seed itself), else the
//! keys directory; the module key is generated there when absent, and re-signing a module reuses
//! the key of its current subject, so a module keeps its identity across builds.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use caplet_claims::human_time::{now_unix, parse_duration, parse_instant};
use caplet_claims::{ActorSpec, KeyKind, KeyPair, caps, inspect, parse_seed};
use clap::Args;

use crate::cmd::keys::{KeysDirArg, read_key_file, warn_if_exposed};

/// Environment variable holding the issuer (account) seed.
const ISSUER_KEY_ENV: &str = "CAPLET_ISSUER_KEY";
/// Environment variable holding the module seed.
const MODULE_KEY_ENV: &str = "CAPLET_MODULE_KEY";
/// Name of the issuer key in the keys directory: `<dir>/default_account.nk`.
const DEFAULT_ISSUER_NAME: &str = "default";

#[derive(Args, Debug)]
pub struct SignArgs {
    /// The module to sign (.wasm, or .wat text). A token it already has is replaced.
    pub input: PathBuf,
    /// Where to write the signed module [default: <INPUT stem>_s.wasm beside the input].
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// The module's human name.
    #[arg(short, long)]
    pub name: String,
    /// A capability contract id the module may use, e.g. wasmcloud:keyvalue. Repeatable.
    #[arg(long = "cap", value_name = "CONTRACT")]
    pub caps: Vec<String>,
    /// Key-value store (wasmcloud:keyvalue).
    #[arg(short = 'k', long)]
    pub keyvalue: bool,
    /// HTTP server (wasmcloud:httpserver).
    #[arg(short = 'q', long)]
    pub httpserver: bool,
    /// Messaging (wasmcloud:messaging).
    #[arg(short = 'g', long)]
    pub messaging: bool,
    /// HTTP client (wasmcloud:httpclient).
    #[arg(short = 'c', long)]
    pub httpclient: bool,
    /// Logging (wasmcloud:builtin:logging).
    #[arg(short = 'l', long)]
    pub logging: bool,
    /// Blob store (wasmcloud:blobstore).
    #[arg(short = 'b', long)]
    pub blobstore: bool,
    /// Number generation (wasmcloud:builtin:numbergen).
    #[arg(long)]
    pub numbergen: bool,
    /// A free-form tag. Repeatable.
    #[arg(short, long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Revision number; a live update must raise it.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub rev: Option<i32>,
    /// Human version, e.g. 1.2.0.
    #[arg(long, value_name = "VERSION")]
    pub ver: Option<String>,
    /// A friendly unique name other actors may call this one by (normalized like wascap).
    #[arg(short = 'a', long, value_name = "ALIAS")]
    pub call_alias: Option<String>,
    /// The token expires this long after signing, e.g. 30d, 12h, 1w [default: never].
    #[arg(long, value_name = "DURATION")]
    pub expires_in: Option<String>,
    /// The token is not valid before this time: a duration from now (2h), a UTC date or
    /// date-time (2026-01-01, 2026-01-01T09:00:00Z) or @UNIX_SECONDS [default: immediately].
    #[arg(long, value_name = "WHEN")]
    pub not_before: Option<String>,
    /// Account seed file of the issuer [default: $CAPLET_ISSUER_KEY, else <DIR>/default_account.nk].
    #[arg(long, value_name = "PATH")]
    pub issuer_key: Option<PathBuf>,
    /// Module seed file of the subject [default: $CAPLET_MODULE_KEY, else
    /// <DIR>/<INPUT stem>_module.nk, generated there when absent].
    #[arg(long, value_name = "PATH")]
    pub module_key: Option<PathBuf>,
    #[command(flatten)]
    pub keys_dir: KeysDirArg,
}

pub fn run(args: SignArgs) -> anyhow::Result<ExitCode> {
    let module = read_module(&args.input)?;
    let now = now_unix();
    let issuer = issuer_key(&args)?;
    let subject = module_key(&args, &module)?;
    let spec = spec(&args, now)?;
    let signed = caplet_claims::sign(&module, &spec, &issuer, &subject)
        .with_context(|| format!("cannot sign {}", args.input.display()))?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| signed_path(&args.input));
    write_atomically(&output, &signed.module)?;
    let claims = signed.token.claims();
    println!("signed {} -> {}", args.input.display(), output.display());
    println!("  name:    {}", spec.name.trim());
    println!("  issuer:  {}", claims.issuer);
    println!("  subject: {}", claims.subject);
    println!("  hash:    {}", claims.metadata.module_hash);
    if let Some(alias) = &claims.metadata.call_alias
        && Some(alias) != args.call_alias.as_ref()
    {
        println!("  call alias normalized to {alias:?}");
    }
    Ok(ExitCode::SUCCESS)
}

fn spec(args: &SignArgs, now: u64) -> anyhow::Result<ActorSpec> {
    let flags = [
        (args.keyvalue, caps::KEY_VALUE),
        (args.httpserver, caps::HTTP_SERVER),
        (args.messaging, caps::MESSAGING),
        (args.httpclient, caps::HTTP_CLIENT),
        (args.logging, caps::LOGGING),
        (args.blobstore, caps::BLOB_STORE),
        (args.numbergen, caps::NUMBERGEN),
    ];
    let mut capabilities: Vec<String> = flags
        .iter()
        .filter(|(set, _)| *set)
        .map(|(_, id)| (*id).to_string())
        .collect();
    capabilities.extend(args.caps.iter().cloned());
    let expires = match &args.expires_in {
        Some(text) => Some(now.saturating_add(parse_duration(text).context("--expires-in")?)),
        None => None,
    };
    let not_before = match &args.not_before {
        Some(text) => Some(parse_instant(text, now).context("--not-before")?),
        None => None,
    };
    Ok(ActorSpec {
        name: args.name.clone(),
        caps: capabilities,
        tags: args.tags.clone(),
        rev: args.rev,
        ver: args.ver.clone(),
        call_alias: args.call_alias.clone(),
        expires,
        not_before,
        issued_at: Some(now),
    })
}

/// `--issuer-key`, else `$CAPLET_ISSUER_KEY`, else `<keys dir>/default_account.nk`.
fn issuer_key(args: &SignArgs) -> anyhow::Result<KeyPair> {
    if let Some(path) = &args.issuer_key {
        return read_key_file(path, Some(KeyKind::Account));
    }
    if let Some(seed) = env_seed(ISSUER_KEY_ENV, KeyKind::Account)? {
        return Ok(seed);
    }
    let store = args.keys_dir.store()?;
    let path = store.path(DEFAULT_ISSUER_NAME, KeyKind::Account)?;
    if path.exists() {
        return read_key_file(&path, Some(KeyKind::Account));
    }
    anyhow::bail!(
        "no issuer (account) key: pass --issuer-key PATH, set {ISSUER_KEY_ENV} to an account seed (SA...), \
         or create {} with `caplet keys gen account`",
        path.display()
    )
}

/// `--module-key`, else `$CAPLET_MODULE_KEY`, else from the keys directory: the key of the
/// module's current subject when the module is already signed and that key is there, else
/// `<stem>_module.nk`, generated when absent, so a module keeps its identity across signings.
fn module_key(args: &SignArgs, module: &[u8]) -> anyhow::Result<KeyPair> {
    if let Some(path) = &args.module_key {
        return read_key_file(path, Some(KeyKind::Module));
    }
    if let Some(seed) = env_seed(MODULE_KEY_ENV, KeyKind::Module)? {
        return Ok(seed);
    }
    let store = args.keys_dir.store()?;
    let current = inspect(module)
        .ok()
        .map(|found| found.claims().subject.clone());
    if let Some(subject) = &current {
        for path in store.list()? {
            if let Ok(key) = caplet_claims::read_seed_file(&path, Some(KeyKind::Module))
                && key.public_key() == *subject
            {
                warn_if_exposed(&path);
                return Ok(key);
            }
        }
    }
    let name = key_name(&args.input);
    let path = store.path(&name, KeyKind::Module)?;
    let key = if path.exists() {
        read_key_file(&path, Some(KeyKind::Module))?
    } else {
        let key = caplet_claims::generate(KeyKind::Module);
        let path = store.save(&name, &key, false)?;
        eprintln!(
            "generated module key {} and saved its seed to {}; keep it to sign later versions under the same identity",
            key.public_key(),
            path.display()
        );
        key
    };
    if let Some(subject) = current.filter(|subject| *subject != key.public_key()) {
        eprintln!(
            "note: {} was signed as {subject}, whose seed is not in {}; it is now signed as {}, a new identity",
            args.input.display(),
            store.dir().display(),
            key.public_key()
        );
    }
    Ok(key)
}

fn env_seed(var: &str, kind: KeyKind) -> anyhow::Result<Option<KeyPair>> {
    match std::env::var(var) {
        Ok(seed) if !seed.trim().is_empty() => parse_seed(&seed, Some(kind))
            .map(Some)
            .with_context(|| format!("${var} does not hold a usable {kind} seed")),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            anyhow::bail!("${var} is not valid UTF-8; it must hold a {kind} seed")
        }
    }
}

/// The input's file stem, with characters a key name cannot hold replaced by `_`.
fn key_name(input: &Path) -> String {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = stem
        .trim_start_matches('.')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() {
        "module".to_string()
    } else {
        name
    }
}

fn signed_path(input: &Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map_or_else(|| "module".into(), |s| s.to_string_lossy());
    input.with_file_name(format!("{stem}_s.wasm"))
}

/// Reads a module; `.wat` text is compiled to binary first.
fn read_module(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    if path.extension().is_some_and(|e| e == "wat") {
        return wat::parse_bytes(&bytes)
            .map(|b| b.into_owned())
            .with_context(|| format!("{} is not valid WebAssembly text", path.display()));
    }
    Ok(bytes)
}

/// Writes beside the target and renames, so a failed write never leaves half a module.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let temp = path.with_file_name(format!(
        ".{}.{}.tmp",
        file_name.unwrap_or_default(),
        std::process::id()
    ));
    std::fs::write(&temp, bytes)
        .and_then(|()| std::fs::rename(&temp, path))
        .with_context(|| format!("cannot write {}", path.display()))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&temp);
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_and_output_paths_come_from_the_input() {
        assert_eq!(key_name(Path::new("dir/My Actor.wasm")), "My_Actor");
        assert_eq!(key_name(Path::new("..")), "module");
        assert_eq!(key_name(Path::new(".hidden.wasm")), "hidden");
        assert_eq!(
            signed_path(Path::new("dir/echo.wat")),
            Path::new("dir/echo_s.wasm")
        );
    }
}
