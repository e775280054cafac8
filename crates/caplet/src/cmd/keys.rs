//! `caplet keys`: generate nkeys Ed25519 keys and read back the ones on disk.
//!
//! Seeds are secrets: `gen` writes them to a 0600 file (never over an existing one unless
//! `--force`) and prints only the public key, unless `--stdout` asks for the seed on purpose.
//! The keys directory is shared with `caplet claims sign`, which looks for its keys there.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use caplet_claims::{KeyKind, KeyPair, KeyStore, is_readable_by_others, read_seed_file};
use clap::{Args, Subcommand, ValueEnum};

/// Generate and show keys.
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Generate a key: write its seed to a private file and print its public key.
    Gen(GenArgs),
    /// Print the kind and public key of a seed file.
    Show(ShowArgs),
    /// List the keys in the keys directory.
    List(ListArgs),
}

/// The keys directory option, shared with `caplet claims sign`.
#[derive(Args, Debug, Clone)]
pub struct KeysDirArg {
    /// Directory of seed files named <NAME>_<KIND>.nk [default: ~/.caplet/keys].
    #[arg(long, env = "CAPLET_KEYS_DIR", value_name = "DIR")]
    pub keys_dir: Option<PathBuf>,
}

impl KeysDirArg {
    /// The key store at `--keys-dir`, `$CAPLET_KEYS_DIR`, or `~/.caplet/keys`.
    pub fn store(&self) -> anyhow::Result<KeyStore> {
        match &self.keys_dir {
            Some(dir) => Ok(KeyStore::new(dir)),
            None => KeyStore::default_dir().map(KeyStore::new).context(
                "cannot find the home directory for ~/.caplet/keys; pass --keys-dir DIR or set CAPLET_KEYS_DIR",
            ),
        }
    }
}

/// The kinds of key, as named on the command line.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindArg {
    /// O...: signs accounts; the root of trust.
    Operator,
    /// A...: signs modules (the issuer of their claims).
    Account,
    /// M...: a module's own identity (the subject of its claims).
    #[value(alias = "actor")]
    Module,
    /// V...: a capability provider.
    #[value(alias = "provider")]
    Service,
    /// N...: a host.
    #[value(alias = "host")]
    Server,
}

impl From<KindArg> for KeyKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Operator => KeyKind::Operator,
            KindArg::Account => KeyKind::Account,
            KindArg::Module => KeyKind::Module,
            KindArg::Service => KeyKind::Service,
            KindArg::Server => KeyKind::Server,
        }
    }
}

#[derive(Args, Debug)]
pub struct GenArgs {
    /// The kind of key.
    #[arg(value_enum)]
    pub kind: KindArg,
    /// Name of the key in the keys directory: the seed goes to <DIR>/<NAME>_<KIND>.nk.
    #[arg(long, default_value = "default")]
    pub name: String,
    /// Write the seed to this file instead of the keys directory.
    #[arg(short, long, value_name = "PATH", conflicts_with = "stdout")]
    pub output: Option<PathBuf>,
    /// Print the seed on stdout instead of writing a file. The seed is a secret.
    #[arg(long)]
    pub stdout: bool,
    /// Replace an existing seed file (the old key is lost).
    #[arg(long)]
    pub force: bool,
    /// Print {"kind","public_key","seed_path"|"seed"} as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub keys_dir: KeysDirArg,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// A seed file.
    pub path: PathBuf,
    /// Print {"kind","public_key"} as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    pub keys_dir: KeysDirArg,
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::Gen(args) => generate(args),
        KeysCommand::Show(args) => show(args),
        KeysCommand::List(args) => list(args),
    }
}

fn generate(args: GenArgs) -> anyhow::Result<ExitCode> {
    let kind = KeyKind::from(args.kind);
    let key = caplet_claims::generate(kind);
    let public_key = key.public_key();
    if args.stdout {
        let seed = key.seed().context("the new key has no seed")?;
        if args.json {
            let json =
                serde_json::json!({ "kind": kind.name(), "public_key": public_key, "seed": seed });
            println!("{json}");
        } else {
            println!("Public key: {public_key}");
            println!("Seed:       {seed}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let path = match &args.output {
        Some(path) => {
            caplet_claims::write_seed_file(path, &key, args.force)?;
            path.clone()
        }
        None => args.keys_dir.store()?.save(&args.name, &key, args.force)?,
    };
    if args.json {
        let json = serde_json::json!({
            "kind": kind.name(), "public_key": public_key, "seed_path": path.display().to_string(),
        });
        println!("{json}");
    } else {
        println!("{public_key}");
    }
    eprintln!(
        "wrote the {kind} seed to {} (mode 0600); keep it secret and backed up",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn show(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let key = read_key_file(&args.path, None)?;
    let kind = caplet_claims::kind_of(&key).map_or("unknown", KeyKind::name);
    if args.json {
        let json = serde_json::json!({ "kind": kind, "public_key": key.public_key() });
        println!("{json}");
    } else {
        println!("{kind} {}", key.public_key());
    }
    Ok(ExitCode::SUCCESS)
}

fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let store = args.keys_dir.store()?;
    let paths = store.list()?;
    if paths.is_empty() {
        eprintln!(
            "no keys in {}; create one with `caplet keys gen account`",
            store.dir().display()
        );
    }
    for path in paths {
        match read_seed_file(&path, None) {
            Ok(key) => {
                let kind = caplet_claims::kind_of(&key).map_or("unknown", KeyKind::name);
                println!("{kind:<8} {} {}", key.public_key(), path.display());
            }
            Err(error) => println!("{:<8} {:<56} {}: {error}", "invalid", "-", path.display()),
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a seed file, checks its kind, and warns when others can read it.
pub fn read_key_file(path: &Path, expected: Option<KeyKind>) -> anyhow::Result<KeyPair> {
    let key = read_seed_file(path, expected)
        .with_context(|| format!("cannot use the key in {}", path.display()))?;
    warn_if_exposed(path);
    Ok(key)
}

/// Prints a warning when a seed file is readable by group or others.
pub fn warn_if_exposed(path: &Path) {
    if is_readable_by_others(path) {
        eprintln!(
            "warning: the seed file {0} is readable by other users; run `chmod 600 {0}`",
            path.display()
        );
    }
}
