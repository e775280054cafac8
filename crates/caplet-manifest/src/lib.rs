//! `caplet.toml`: the deployment manifest `caplet up` runs, parsed and validated.
//!
//! Everything that can be checked before a host starts is checked here: syntax, unknown keys,
//! names, limits, issuer keys, module files and every link's provider, with all errors reported
//! at once, each at its line. Nothing is started; the host builds itself from the [`Manifest`].
//! The input is untrusted text: reading it never panics. The format is in `docs/manifest.md`.
//!
//! ```no_run
//! let manifest = match caplet_manifest::load(std::path::Path::new("examples/kvcounter")) {
//!     Ok(manifest) => manifest,
//!     Err(errors) => {
//!         eprintln!("{errors}");
//!         std::process::exit(1);
//!     }
//! };
//! for actor in &manifest.actors {
//!     println!("{} x{} from {}", actor.name, actor.instances, actor.path.display());
//! }
//! ```

mod actors;
mod contracts;
mod env;
mod error;
mod host;
mod limits;
mod model;
mod policy;
mod read;
mod wiring;

use std::io::Read;
use std::path::{Path, PathBuf};

use toml::de::DeTable;

pub use contracts::{
    BUILTIN_IMPLEMENTATION, IMPLEMENTATIONS, KnownContract, known_contract, known_contract_ids,
};
pub use error::{MAX_REPORTED_ERRORS, ManifestError, ManifestErrors};
pub use host::MAX_LOG_LINES_PER_SECOND;
pub use limits::{
    DEFAULT_INSTANCES, DEFAULT_LINK_NAME, LIMIT_KEYS, LimitKey, MAX_ACTOR_NAME_LEN,
    MAX_DEADLINE_MS, MAX_HOST_CALL_PAYLOAD_KIB, MAX_INSTANCES, MAX_MEMORY_MIB, MAX_PAYLOAD_KIB,
    MAX_STACK_KIB, MIN_DEADLINE_MS, MIN_HOST_CALL_PAYLOAD_KIB, MIN_MEMORY_MIB, MIN_PAYLOAD_KIB,
    MIN_STACK_KIB, valid_actor_name,
};
pub use model::{
    HostSettings, LimitOverrides, LinkSpec, Manifest, ManifestActor, PolicySettings, ProviderSpec,
};
pub use policy::{
    MAX_BREAKER_FAILURES, MAX_BREAKER_OPEN_MS, MAX_POLICY_CACHE_TTL_S, MAX_POLICY_TIMEOUT_MS,
    MIN_BREAKER_OPEN_MS,
};

use error::Diagnostics;
use read::Reader;

/// The manifest's file name when `caplet up` is given a folder.
pub const MANIFEST_FILE_NAME: &str = "caplet.toml";

/// Largest manifest accepted, in bytes.
///
/// Default: 1 MiB. When hit: the file is refused unread with one error naming the limit. A
/// hand-written manifest is a few KiB; the bound keeps a wrong path (a log, a module) from being
/// read whole. Change: edit this constant.
pub const MAX_MANIFEST_BYTES: usize = 1 << 20;

/// Top-level keys of a manifest.
const TOP_KEYS: [&str; 4] = ["host", "actor", "provider", "link"];

/// Settings the command line adds to what the manifest says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `caplet up --allow-unsigned`: sets `host.allow_unsigned`, so a manifest without
    /// `issuers` is accepted.
    pub allow_unsigned: bool,
}

/// Reads and validates the manifest at `path`: a file, or a folder holding `caplet.toml`.
/// `${VAR}` references are taken from the process environment.
pub fn load(path: &Path) -> Result<Manifest, ManifestErrors> {
    load_with(path, &LoadOptions::default())
}

/// [`load`] with command-line settings.
pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Manifest, ManifestErrors> {
    let file = manifest_file(path)?;
    let text = read_text(&file)?;
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let base_dir = std::path::absolute(parent).unwrap_or_else(|_| parent.to_path_buf());
    let env = |name: &str| std::env::var(name).ok();
    parse_with(&text, &file, &base_dir, &env, options)
}

/// Parses and validates manifest `text`. `file` names it in errors, relative paths are joined
/// to `base_dir` (actor modules must exist there) and `env` answers `${VAR}` lookups.
pub fn parse(
    text: &str,
    file: &Path,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Manifest, ManifestErrors> {
    parse_with(text, file, base_dir, env, &LoadOptions::default())
}

/// [`parse`] with command-line settings.
pub fn parse_with(
    text: &str,
    file: &Path,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
    options: &LoadOptions,
) -> Result<Manifest, ManifestErrors> {
    if text.len() > MAX_MANIFEST_BYTES {
        return Err(too_large(file).into());
    }
    let mut diag = Diagnostics::new(file, text);
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if !syntax_errors.is_empty() {
        // A broken document is reported alone: checks on a half-parsed tree would mostly
        // repeat the syntax errors in other words. The parser recovers and goes on, but after
        // one error a line often yields more that only echo it, so each line reports its first.
        let mut errors: Vec<_> = syntax_errors
            .iter()
            .map(|error| (error.span().unwrap_or(0..0), error.message()))
            .collect();
        errors.sort_by_key(|(span, _)| span.start);
        let mut last_line = 0;
        for (span, message) in errors {
            let line = diag.line(&span);
            if line != last_line {
                last_line = line;
                diag.error(&span, format!("invalid TOML: {message}"), None);
            }
        }
        return Err(diag.finish());
    }
    let root = document.get_ref();
    let mut r = Reader::new(diag, env);
    r.check_keys(root, "the manifest's top level", &TOP_KEYS);
    let host = host::read_host(&mut r, root.get("host"), base_dir, options);
    let actors = actors::read_actors(&mut r, root.get("actor"), base_dir);
    let (mut providers, mut provider_keys) = wiring::read_providers(&mut r, root.get("provider"));
    let links = wiring::read_links(
        &mut r,
        root.get("link"),
        &actors.names,
        &mut providers,
        &mut provider_keys,
    );
    if r.diag.has_errors() {
        return Err(r.diag.finish());
    }
    Ok(Manifest {
        file: file.to_path_buf(),
        base_dir: base_dir.to_path_buf(),
        host,
        actors: actors.actors,
        providers,
        links,
    })
}

/// `path` itself, or `path/caplet.toml` when it is a folder.
fn manifest_file(path: &Path) -> Result<PathBuf, ManifestError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    let file = path.join(MANIFEST_FILE_NAME);
    if file.is_file() {
        return Ok(file);
    }
    Err(ManifestError::new(
        &file,
        0,
        0,
        format!("the folder {} has no {MANIFEST_FILE_NAME}", path.display()),
        Some(format!(
            "pass the manifest file itself, or create {} (see docs/manifest.md)",
            file.display()
        )),
    ))
}

/// The file's text, refusing oversized and non-UTF-8 files.
fn read_text(file: &Path) -> Result<String, ManifestError> {
    let io_error = |e: std::io::Error| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            "check the path; `caplet up` takes a caplet.toml or the folder holding it"
        } else {
            "check the file's permissions"
        };
        ManifestError::new(
            file,
            0,
            0,
            format!("cannot read the manifest: {e}"),
            Some(hint.to_string()),
        )
    };
    let handle = std::fs::File::open(file).map_err(io_error)?;
    let mut bytes = Vec::new();
    handle
        .take(MAX_MANIFEST_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(too_large(file));
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let prefix = e.as_bytes().get(..valid).unwrap_or_default();
        let text = std::str::from_utf8(prefix).unwrap_or_default();
        let (line, column) = error::LineIndex::new(text).position(valid);
        ManifestError::new(
            file,
            line,
            column,
            format!("the manifest is not UTF-8 text (invalid byte at offset {valid})"),
            Some("save caplet.toml as UTF-8; is this the right file?".to_string()),
        )
    })
}

fn too_large(file: &Path) -> ManifestError {
    ManifestError::new(
        file,
        0,
        0,
        format!("the manifest is larger than the limit of {MAX_MANIFEST_BYTES} bytes (1 MiB)"),
        Some("a manifest is a few KiB of TOML; check that the path names caplet.toml".to_string()),
    )
}
