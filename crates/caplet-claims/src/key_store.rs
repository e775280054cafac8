//! Seeds on disk: one file per key, readable by its owner only.
//!
//! A seed file holds the 58-character seed and a newline, like the `.nk` files of wash.
//! Files are created with mode 0600 and their directory with 0700, atomically (`create_new`),
//! so a seed is never briefly readable by others and never silently replaced.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::keys::{KeyError, KeyKind, KeyPair, parse_seed};

/// File extension of seed files in a keys directory.
pub const SEED_FILE_EXTENSION: &str = "nk";

/// The keys directory under the home directory: `~/.caplet/keys`.
pub const DEFAULT_KEYS_SUBDIR: &str = ".caplet/keys";

/// A directory of seed files named `<name>_<kind>.nk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStore {
    dir: PathBuf,
}

impl KeyStore {
    /// A store rooted at `dir` (created on first save).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        KeyStore { dir: dir.into() }
    }

    /// `$HOME/.caplet/keys`, or `None` when the home directory is unknown.
    pub fn default_dir() -> Option<PathBuf> {
        std::env::home_dir()
            .filter(|home| !home.as_os_str().is_empty())
            .map(|home| home.join(DEFAULT_KEYS_SUBDIR))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `<dir>/<name>_<kind>.nk`. Fails for names that are empty or contain anything but
    /// letters, digits, `.`, `_` and `-` (so a name can never leave the directory).
    pub fn path(&self, name: &str, kind: KeyKind) -> Result<PathBuf, KeyError> {
        let valid = !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            return Err(KeyError::InvalidName {
                name: name.to_string(),
            });
        }
        Ok(self
            .dir
            .join(format!("{name}_{}.{SEED_FILE_EXTENSION}", kind.name())))
    }

    /// The key `name` of `kind`, or `None` if its file does not exist.
    pub fn load(&self, name: &str, kind: KeyKind) -> Result<Option<KeyPair>, KeyError> {
        let path = self.path(name, kind)?;
        if !path.exists() {
            return Ok(None);
        }
        read_seed_file(&path, Some(kind)).map(Some)
    }

    /// Writes `key` as `name`; refuses to replace an existing file unless `overwrite`.
    pub fn save(&self, name: &str, key: &KeyPair, overwrite: bool) -> Result<PathBuf, KeyError> {
        let kind = crate::keys::kind_of(key).ok_or_else(|| KeyError::InvalidSeed {
            reason: "unsupported key kind".to_string(),
        })?;
        let path = self.path(name, kind)?;
        create_private_dir(&self.dir)?;
        write_seed_file(&path, key, overwrite)?;
        Ok(path)
    }

    /// The seed files in the directory, sorted; empty if the directory does not exist.
    pub fn list(&self) -> Result<Vec<PathBuf>, KeyError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(io_error("cannot list", &self.dir, source)),
        };
        let mut paths = Vec::new();
        for entry in entries {
            let path = entry
                .map_err(|source| io_error("cannot list", &self.dir, source))?
                .path();
            if path
                .extension()
                .is_some_and(|ext| ext == SEED_FILE_EXTENSION)
            {
                paths.push(path);
            }
        }
        paths.sort();
        Ok(paths)
    }
}

/// Reads a seed file and checks the key's kind when `expected` is given.
pub fn read_seed_file(path: &Path, expected: Option<KeyKind>) -> Result<KeyPair, KeyError> {
    let text =
        fs::read_to_string(path).map_err(|source| io_error("cannot read key", path, source))?;
    parse_seed(&text, expected)
}

/// Writes `key`'s seed to `path` with mode 0600. Refuses to replace an existing file unless
/// `overwrite`, in which case the old file is removed first (never written through, so its
/// old permissions cannot leak to the new seed).
pub fn write_seed_file(path: &Path, key: &KeyPair, overwrite: bool) -> Result<(), KeyError> {
    let seed = key.seed().map_err(|e| KeyError::InvalidSeed {
        reason: e.to_string(),
    })?;
    if overwrite {
        match fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(io_error("cannot replace", path, source)),
        }
    }
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            KeyError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            io_error("cannot create", path, source)
        }
    })?;
    file.write_all(format!("{seed}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| io_error("cannot write", path, source))
}

/// True when the file at `path` can be read by its group or others (unix only).
pub fn is_readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).is_ok_and(|meta| meta.permissions().mode() & 0o077 != 0)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

fn create_private_dir(dir: &Path) -> Result<(), KeyError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|source| io_error("cannot create directory", dir, source))
}

fn io_error(action: &'static str, path: &Path, source: std::io::Error) -> KeyError {
    KeyError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::generate;

    #[test]
    fn save_load_and_list() {
        let temp = tempfile::tempdir().unwrap();
        let store = KeyStore::new(temp.path().join("keys"));
        let key = generate(KeyKind::Account);
        let path = store.save("alice", &key, false).unwrap();
        assert_eq!(path, temp.path().join("keys/alice_account.nk"));
        assert!(!is_readable_by_others(&path));
        let loaded = store.load("alice", KeyKind::Account).unwrap().unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        assert!(store.load("bob", KeyKind::Account).unwrap().is_none());
        assert_eq!(store.list().unwrap(), vec![path.clone()]);

        let other = generate(KeyKind::Account);
        assert!(matches!(
            store.save("alice", &other, false),
            Err(KeyError::Exists { .. })
        ));
        store.save("alice", &other, true).unwrap();
        let loaded = store.load("alice", KeyKind::Account).unwrap().unwrap();
        assert_eq!(loaded.public_key(), other.public_key());
    }

    #[cfg(unix)]
    #[test]
    fn files_and_directory_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let temp = tempfile::tempdir().unwrap();
        let store = KeyStore::new(temp.path().join("keys"));
        let path = store.save("x", &generate(KeyKind::Module), false).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(store.dir()), 0o700);
    }

    #[test]
    fn names_cannot_escape_the_directory() {
        let store = KeyStore::new("/tmp/k");
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(matches!(
                store.path(bad, KeyKind::Account),
                Err(KeyError::InvalidName { .. })
            ));
        }
        assert!(store.path("my-actor_v1.2", KeyKind::Module).is_ok());
    }
}
