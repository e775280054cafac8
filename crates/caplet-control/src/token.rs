//! The API's bearer token: generated at start (32 random bytes, hex) and written to a file only
//! its owner can read, or read from a file the operator provides.
//!
//! Whoever can read the file can drive the host, so the file is created with mode 0600 in a
//! folder with mode 0700, written to a temporary name and renamed into place (never through a
//! symlink). Presented tokens are compared in constant time (SHA-256 of both, then every byte).

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

/// Random bytes in a generated token (it is written as twice as many hex digits).
///
/// Default: 32 bytes (256 bits). Fixed at build time.
pub const TOKEN_BYTES: usize = 32;

/// Shortest token accepted from a file, in characters.
///
/// Default: 16. A shorter (or empty) file is refused at start, so a truncated file cannot turn
/// into a guessable token. Fixed at build time.
pub const MIN_TOKEN_CHARS: usize = 16;

/// Largest token file read, in bytes.
///
/// Default: 4 KiB. Fixed at build time.
pub const MAX_TOKEN_FILE_BYTES: u64 = 4 << 10;

/// The token file's name inside the default folder.
pub const TOKEN_FILE_NAME: &str = "control.token";

/// Why a token could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file could not be read, created or written.
    #[error("token file {}: {reason}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// The file holds no usable token.
    #[error("token file {}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it and how to fix it.
        reason: String,
    },
    /// No default location: neither `$XDG_RUNTIME_DIR` nor a home folder is known.
    #[error(
        "no place for the control token: neither XDG_RUNTIME_DIR nor a home folder is known; set `control_token_file` in [host]"
    )]
    NoDefaultPath,
    /// The system's random source failed.
    #[error("could not generate a control token: {0}")]
    Random(String),
}

/// A bearer token. Its `Debug` output never shows it.
#[derive(Clone)]
pub struct Token(Arc<str>);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// A fresh random token of [`TOKEN_BYTES`] bytes, hex-encoded.
    pub fn generate() -> Result<Self, TokenError> {
        let mut bytes = [0u8; TOKEN_BYTES];
        getrandom::getrandom(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
        Ok(Self(hex::encode(bytes).into()))
    }

    /// The token in `text` (surrounding whitespace ignored); `Err` says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let token = text.trim();
        if token.chars().count() < MIN_TOKEN_CHARS {
            return Err(format!(
                "the token is shorter than {MIN_TOKEN_CHARS} characters; put a long random token in it (e.g. `openssl rand -hex 32`), or delete the file's setting to let the host generate one"
            ));
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(
                "the token must be printable ASCII without spaces (it travels in an HTTP header)"
                    .to_string(),
            );
        }
        Ok(Self(token.into()))
    }

    /// Reads the token in `path`.
    pub fn read(path: &Path) -> Result<Self, TokenError> {
        let io = |e: std::io::Error| TokenError::Io {
            path: path.to_path_buf(),
            reason: format!("cannot read it: {e}"),
        };
        let metadata = std::fs::metadata(path).map_err(io)?;
        if metadata.len() > MAX_TOKEN_FILE_BYTES {
            return Err(TokenError::Invalid {
                path: path.to_path_buf(),
                reason: format!(
                    "it is larger than {MAX_TOKEN_FILE_BYTES} bytes; it should hold only the token"
                ),
            });
        }
        warn_if_shared(path, &metadata);
        let text = std::fs::read_to_string(path).map_err(io)?;
        Self::parse(&text).map_err(|reason| TokenError::Invalid {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Writes the token to `path` (mode 0600; parent folders created with mode 0700).
    pub fn write(&self, path: &Path) -> Result<(), TokenError> {
        let io = |what: &str, e: std::io::Error| TokenError::Io {
            path: path.to_path_buf(),
            reason: format!(
                "cannot {what}: {e}; set `control_token_file` in [host] to a writable path, or run with --no-control"
            ),
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            create_private_dir(parent).map_err(|e| io("create its folder", e))?;
        }
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| TOKEN_FILE_NAME.to_string());
        let temp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
        let _ = std::fs::remove_file(&temp);
        let mut file = private_file(&temp).map_err(|e| io("create it", e))?;
        let written = file
            .write_all(self.0.as_bytes())
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.sync_all());
        drop(file);
        if let Err(error) = written.and_then(|()| std::fs::rename(&temp, path)) {
            let _ = std::fs::remove_file(&temp);
            return Err(io("write it", error));
        }
        Ok(())
    }

    /// The token text, for the `Authorization` header.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this token, in time independent of where they differ (and of
    /// the presented length: both are hashed first).
    pub fn verify(&self, presented: &[u8]) -> bool {
        let expected = Sha256::digest(self.0.as_bytes());
        let presented = Sha256::digest(presented);
        let difference = expected
            .iter()
            .zip(presented.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(difference) == 0
    }
}

/// Where the token was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOrigin {
    /// Read from the configured file, which existed.
    Read,
    /// Generated now and written to the file.
    Generated,
}

/// The default token file: `$XDG_RUNTIME_DIR/caplet/control.token`, else
/// `~/.caplet/control.token`.
pub fn default_token_path() -> Option<PathBuf> {
    if let Some(runtime) = dirs::runtime_dir() {
        return Some(runtime.join("caplet").join(TOKEN_FILE_NAME));
    }
    dirs::home_dir().map(|home| home.join(".caplet").join(TOKEN_FILE_NAME))
}

/// The token for a starting host: read from `configured` if that file exists; otherwise
/// generated and written to `configured` or [`default_token_path`].
pub fn prepare_token(
    configured: Option<&Path>,
) -> Result<(Token, PathBuf, TokenOrigin), TokenError> {
    if let Some(path) = configured
        && path.exists()
    {
        return Ok((Token::read(path)?, path.to_path_buf(), TokenOrigin::Read));
    }
    let path = match configured {
        Some(path) => path.to_path_buf(),
        None => default_token_path().ok_or(TokenError::NoDefaultPath)?,
    };
    let token = Token::generate()?;
    token.write(&path)?;
    Ok((token, path, TokenOrigin::Generated))
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn warn_if_shared(path: &Path, metadata: &std::fs::Metadata) {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{:o}", mode & 0o777),
            "the control token file is readable by other users; restrict it with `chmod 600`"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_: &Path, _: &std::fs::Metadata) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_verify_and_others_do_not() {
        let token = Token::generate().unwrap();
        assert_eq!(token.as_str().len(), TOKEN_BYTES * 2);
        assert!(token.verify(token.as_str().as_bytes()));
        assert!(!token.verify(b""));
        assert!(!token.verify(&token.as_str().as_bytes()[1..]));
        assert!(!Token::generate().unwrap().verify(token.as_str().as_bytes()));
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
    }

    #[test]
    fn short_or_empty_tokens_are_refused() {
        assert!(Token::parse("").is_err());
        assert!(Token::parse("   short  \n").is_err());
        assert!(Token::parse("has a space in the middle").is_err());
        assert_eq!(
            Token::parse(" 0123456789abcdef\n").unwrap().as_str(),
            "0123456789abcdef"
        );
    }

    #[test]
    fn prepare_writes_a_private_file_then_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("token");
        let (token, written, origin) = prepare_token(Some(&path)).unwrap();
        assert_eq!(
            (written.as_path(), origin),
            (path.as_path(), TokenOrigin::Generated)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, _, origin) = prepare_token(Some(&path)).unwrap();
        assert_eq!(origin, TokenOrigin::Read);
        assert_eq!(again.as_str(), token.as_str());
    }
}
