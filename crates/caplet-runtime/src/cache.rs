//! The on-disk cache of compiled modules.
//!
//! Compiling a module with Cranelift takes milliseconds to seconds; loading a cached artifact
//! takes microseconds. Entries are keyed by the SHA-256 of the bytes compiled (the module without
//! its claims and other metadata sections, see `code.rs`) *and* by the engine's compatibility
//! hash, so a new wasmtime or different settings never load a stale entry.
//! Only files this cache wrote, under its own private folder, are ever deserialized: precompiled
//! bytes that arrive from outside are refused at load (hostile-guests.md E7). An entry that fails
//! to load is compiled again and overwritten.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::{Engine, Module};

/// Compiled modules on disk, one file per (module hash, engine) pair.
pub(crate) struct ModuleCache {
    dir: PathBuf,
    engine_key: String,
}

impl ModuleCache {
    pub fn new(dir: PathBuf, engine: &Engine) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        Self {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    fn entry_path(&self, module_hash: &str) -> PathBuf {
        self.dir
            .join(format!("{module_hash}-{}.cwasm", self.engine_key))
    }

    /// Loads the cached compilation of the module whose bytes hash to `module_hash`, if any.
    pub fn load(&self, engine: &Engine, module_hash: &str) -> Option<Module> {
        let path = self.entry_path(module_hash);
        // Read into memory rather than mmap the file: a mapping of a file that someone later
        // truncates in place turns into SIGBUS on the next access.
        let bytes = std::fs::read(&path).ok()?;
        // SAFETY: `path` is inside the cache folder, which this process creates with owner-only
        // permissions, and the file was written by `store` below from `Module::serialize` of a
        // module this engine compiled from raw Wasm. Bytes from outside never reach this call;
        // a corrupt entry is caught by wasmtime's header and checksum checks and recompiled.
        #[allow(unsafe_code)]
        let loaded = unsafe { Module::deserialize(engine, &bytes) };
        match loaded {
            Ok(module) => Some(module),
            Err(error) => {
                tracing::warn!(path = %path.display(), "ignoring unusable compile cache entry: {error:#}");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores a compiled module. Failures are logged: the cache only ever saves time.
    pub fn store(&self, module: &Module, module_hash: &str) {
        if let Err(error) = self.try_store(module, module_hash) {
            tracing::warn!(dir = %self.dir.display(), "could not write the compile cache: {error:#}");
        }
    }

    fn try_store(&self, module: &Module, module_hash: &str) -> std::io::Result<()> {
        create_private_dir(&self.dir)?;
        let bytes = module.serialize().map_err(std::io::Error::other)?;
        let mut tmp = tempfile_in(&self.dir)?;
        tmp.1.write_all(&bytes)?;
        tmp.1.sync_all()?;
        std::fs::rename(&tmp.0, self.entry_path(module_hash))
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// A uniquely named file in `dir`, written then renamed into place so readers never see half
/// an entry.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let path = dir.join(format!(".tmp-{}-{nanos}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)?;
    Ok((path, file))
}
