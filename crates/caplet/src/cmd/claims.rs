//! `caplet claims`: sign a module, show its claims, and verify them with one exit code per cause.
//!
//! The work happens in `caplet-claims`; this file resolves keys (flag, environment, keys
//! directory), turns flags into an `ActorSpec`, and maps each `ClaimsError` to a documented exit
//! code, so scripts and CI can tell a tampered module from an expired one.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use caplet_claims::human_time::{
    format_relative, format_utc, format_with_relative, now_unix, parse_duration, parse_instant,
};
use caplet_claims::{
    ActorSpec, ClaimsError, Inspection, KeyKind, KeyPair, Policy, VerifiedClaims, caps, inspect,
    parse_public_key, parse_seed, verify,
};
use clap::{Args, Subcommand};

use super::keys::{KeysDirArg, read_key_file};

/// Environment variable holding the issuer (account) seed.
const ISSUER_KEY_ENV: &str = "CAPLET_ISSUER_KEY";
/// Environment variable holding the module seed.
const MODULE_KEY_ENV: &str = "CAPLET_MODULE_KEY";
/// Name of the issuer key in the keys directory: `<dir>/default_account.nk`.
const DEFAULT_ISSUER_NAME: &str = "default";

#[derive(Subcommand, Debug)]
pub enum ClaimsCommand {
    /// Sign a module: embed a wascap-compatible token with its hash, name and capabilities.
    Sign(Box<SignArgs>),
    /// Show the claims embedded in a module, and whether they check out.
    #[command(after_help = exit_codes_help("Exit codes (when no token can be read):"))]
    Inspect(InspectArgs),
    /// Check a module's claims; the exit code says which check failed.
    #[command(after_help = exit_codes_help("Exit codes:"))]
    Verify(VerifyArgs),
}

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

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// The module.
    pub input: PathBuf,
    /// Print the header, claims and check results as JSON.
    #[arg(long, conflicts_with = "raw")]
    pub json: bool,
    /// Print only the token (the JWT text).
    #[arg(long)]
    pub raw: bool,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The module.
    pub input: PathBuf,
    /// Trust only modules signed by this account key (A...). Repeatable; none means any issuer.
    #[arg(long = "issuer", value_name = "ACCOUNT_KEY", value_parser = parse_account_key)]
    pub issuers: Vec<String>,
    /// Check the validity window at this time instead of now (same forms as sign --not-before).
    #[arg(long, value_name = "WHEN")]
    pub at: Option<String>,
    /// Print the verified claims, or the failure, as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: ClaimsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        ClaimsCommand::Sign(args) => sign(*args),
        ClaimsCommand::Inspect(args) => inspect_cmd(args),
        ClaimsCommand::Verify(args) => verify_cmd(args),
    }
}

// ---- sign ----

fn sign(args: SignArgs) -> anyhow::Result<ExitCode> {
    let module = read_module(&args.input)?;
    let now = now_unix();
    let issuer = issuer_key(&args)?;
    let subject = module_key(&args)?;
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

/// `--module-key`, else `$CAPLET_MODULE_KEY`, else `<keys dir>/<stem>_module.nk`, which is
/// generated when absent so the module keeps its identity across later signings.
fn module_key(args: &SignArgs) -> anyhow::Result<KeyPair> {
    if let Some(path) = &args.module_key {
        return read_key_file(path, Some(KeyKind::Module));
    }
    if let Some(seed) = env_seed(MODULE_KEY_ENV, KeyKind::Module)? {
        return Ok(seed);
    }
    let store = args.keys_dir.store()?;
    let name = key_name(&args.input);
    let path = store.path(&name, KeyKind::Module)?;
    if path.exists() {
        return read_key_file(&path, Some(KeyKind::Module));
    }
    let key = caplet_claims::generate(KeyKind::Module);
    let path = store.save(&name, &key, false)?;
    eprintln!(
        "generated module key {} and saved its seed to {}; keep it to sign later versions under the same identity",
        key.public_key(),
        path.display()
    );
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

// ---- inspect ----

fn inspect_cmd(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let module = std::fs::read(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let found = match inspect(&module) {
        Ok(found) => found,
        Err(error) => return Ok(report_failure(&args.input, &error, args.json)),
    };
    let now = now_unix();
    if args.raw {
        println!("{}", found.token().as_str());
    } else if args.json {
        println!("{}", inspection_json(&found, now));
    } else {
        print_inspection(&args.input, &found, now);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_inspection(path: &Path, found: &Inspection, now: u64) {
    let claims = found.claims();
    let meta = &claims.metadata;
    let row = |label: &str, value: &str| println!("  {label:<14}{value}");
    println!("{}", path.display());
    row("Name:", meta.name.as_deref().unwrap_or("(none)"));
    row("Issuer:", &format!("{} (account)", claims.issuer));
    row("Subject:", &format!("{} (module)", claims.subject));
    let capabilities: Vec<String> = meta
        .caps
        .iter()
        .flatten()
        .map(|id| match caps::display_name(id) {
            name if name == id => id.clone(),
            name => format!("{name} ({id})"),
        })
        .collect();
    row("Capabilities:", &list_or_none(&capabilities));
    row(
        "Tags:",
        &list_or_none(meta.tags.as_deref().unwrap_or_default()),
    );
    let version = match (&meta.ver, meta.rev) {
        (Some(ver), Some(rev)) => format!("{ver} (rev {rev})"),
        (Some(ver), None) => ver.clone(),
        (None, Some(rev)) => format!("rev {rev}"),
        (None, None) => "(none)".to_string(),
    };
    row("Version:", &version);
    row(
        "Call alias:",
        meta.call_alias.as_deref().unwrap_or("(none)"),
    );
    row("Issued:", &format_with_relative(claims.issued_at, now));
    row(
        "Expires:",
        &claims
            .expires
            .map_or("never".to_string(), |t| format_with_relative(t, now)),
    );
    let nbf = claims
        .not_before
        .map_or("immediately".to_string(), |t| format_with_relative(t, now));
    row("Not before:", &nbf);
    let hash = if found.hash_matches() {
        format!("{} (matches the module)", meta.module_hash)
    } else {
        format!(
            "{} (MISMATCH: the module's hash is {})",
            meta.module_hash,
            found.actual_hash()
        )
    };
    row("Hash:", &hash);
    let signature = match found.check_signature() {
        Ok(()) => "valid for the issuer".to_string(),
        Err(error) => format!("INVALID: {error}"),
    };
    row("Signature:", &signature);
    let validity = match found.check_validity_window(now) {
        Ok(()) => "valid now".to_string(),
        Err(error) => error.to_string(),
    };
    row("Validity:", &validity);
    let revision = claims
        .wascap_revision
        .map_or("none".to_string(), |r| r.to_string());
    row(
        "Token:",
        &format!(
            "`{}` section, wascap revision {revision}, id {}",
            found.section(),
            claims.id
        ),
    );
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_string()
    } else {
        items.join(", ")
    }
}

fn inspection_json(found: &Inspection, now: u64) -> serde_json::Value {
    let claims = found.claims();
    serde_json::json!({
        "section": found.section(),
        "header": { "typ": found.token().header().typ, "alg": found.token().header().alg },
        "claims": claims,
        "module_hash": found.actual_hash(),
        "hash_matches": found.hash_matches(),
        "signature_valid": found.check_signature().is_ok(),
        "expired": claims.expires.is_some_and(|exp| now > exp),
        "not_yet_valid": claims.not_before.is_some_and(|nbf| now < nbf),
        "issued": format_utc(claims.issued_at),
        "expires": claims.expires.map(|t| format!("{} ({})", format_utc(t), format_relative(t, now))),
    })
}

// ---- verify ----

fn verify_cmd(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let module = std::fs::read(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let mut policy = Policy::default().allow_issuers(args.issuers.iter().cloned());
    if let Some(at) = &args.at {
        policy = policy.at(parse_instant(at, now_unix()).context("--at")?);
    }
    match verify(&module, &policy) {
        Ok(claims) => {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({ "verified": true, "claims": claims })
                );
            } else {
                print_verified(&args.input, &claims);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Ok(report_failure(&args.input, &error, args.json)),
    }
}

fn print_verified(path: &Path, claims: &VerifiedClaims) {
    let until = claims.expires().map_or("never expires".to_string(), |t| {
        format!("valid until {}", format_utc(t))
    });
    println!(
        "verified {}: {:?} ({}) signed by {}; hash matches; {until}",
        path.display(),
        claims.name().unwrap_or("unnamed"),
        claims.subject(),
        claims.issuer(),
    );
}

/// Prints what failed, on which file, and what to do; returns the documented exit code.
fn report_failure(path: &Path, error: &ClaimsError, json: bool) -> ExitCode {
    let (code, kind, _) = exit_code_for(error);
    if json {
        let failure = serde_json::json!({
            "verified": false, "exit_code": code, "kind": kind, "error": error.to_string(), "hint": error.hint(),
        });
        println!("{failure}");
    }
    eprintln!("error: {}: {error}", path.display());
    eprintln!("hint: {}", error.hint());
    ExitCode::from(code)
}

/// Every exit code of `verify` (and of `inspect` when no token can be read):
/// (code, kind, meaning). The single source for `--help` and `report_failure`.
const EXIT_CODES: [(u8, &str, &str); 14] = [
    (
        0,
        "verified",
        "signed token present, signature valid, hash matches, within [nbf, exp], issuer allowed",
    ),
    (1, "error", "the file could not be read, or another error"),
    (2, "usage", "invalid command-line arguments"),
    (10, "unsigned", "no `wasmcloud_jwt` or `jwt` custom section"),
    (11, "multiple_tokens", "more than one claims section"),
    (12, "empty_token", "the claims section is empty"),
    (
        13,
        "malformed_token",
        "the token is not a readable wascap JWT",
    ),
    (
        14,
        "invalid_key_claim",
        "`iss` is not an account key or `sub` not a module key",
    ),
    (
        15,
        "invalid_signature",
        "the signature is not valid for the issuer (the token was altered)",
    ),
    (16, "hash_mismatch", "the module changed after signing"),
    (17, "expired", "the token has expired"),
    (
        18,
        "not_yet_valid",
        "the token's not-before time is in the future",
    ),
    (
        19,
        "issuer_not_allowed",
        "the issuer is not one of the --issuer keys",
    ),
    (
        20,
        "malformed_module",
        "the file is not a complete Wasm binary",
    ),
];

fn exit_code_for(error: &ClaimsError) -> (u8, &'static str, &'static str) {
    let code = match error {
        ClaimsError::Unsigned => 10,
        ClaimsError::MultipleTokens { .. } => 11,
        ClaimsError::EmptyToken { .. } => 12,
        ClaimsError::MalformedToken { .. } => 13,
        ClaimsError::InvalidKeyClaim { .. } => 14,
        ClaimsError::InvalidSignature { .. } => 15,
        ClaimsError::HashMismatch { .. } => 16,
        ClaimsError::Expired { .. } => 17,
        ClaimsError::NotYetValid { .. } => 18,
        ClaimsError::IssuerNotAllowed { .. } => 19,
        ClaimsError::MalformedModule(_) => 20,
    };
    EXIT_CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .copied()
        .unwrap_or((1, "error", "another error"))
}

fn exit_codes_help(title: &str) -> String {
    let mut help = format!("{title}\n");
    for (code, kind, meaning) in EXIT_CODES {
        help.push_str(&format!("  {code:>3}  {kind:<19} {meaning}\n"));
    }
    help
}

fn parse_account_key(text: &str) -> Result<String, String> {
    parse_public_key(text, Some(KeyKind::Account))
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use caplet_claims::{TokenSection, WasmError};

    #[test]
    fn every_error_has_a_distinct_listed_exit_code() {
        let errors = [
            ClaimsError::Unsigned,
            ClaimsError::MultipleTokens { count: 2 },
            ClaimsError::EmptyToken {
                section: TokenSection::WasmcloudJwt,
            },
            ClaimsError::MalformedToken {
                section: TokenSection::LegacyJwt,
                error: caplet_claims::TokenError::NotUtf8,
            },
            ClaimsError::InvalidKeyClaim {
                claim: caplet_claims::KeyClaim::Issuer,
                value: String::new(),
                reason: String::new(),
            },
            ClaimsError::InvalidSignature {
                issuer: String::new(),
            },
            ClaimsError::HashMismatch {
                claimed: String::new(),
                actual: String::new(),
            },
            ClaimsError::Expired {
                expires_at: 0,
                now: 1,
            },
            ClaimsError::NotYetValid {
                not_before: 1,
                now: 0,
            },
            ClaimsError::IssuerNotAllowed {
                issuer: String::new(),
                allowed: 1,
            },
            ClaimsError::MalformedModule(WasmError::NotWasm),
        ];
        let mut codes: Vec<u8> = errors.iter().map(|e| exit_code_for(e).0).collect();
        assert!(codes.iter().all(|c| *c >= 10));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), errors.len());
        let help = exit_codes_help("Exit codes:");
        for code in codes {
            assert!(help.contains(&format!("  {code:>3}  ")));
        }
    }

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
