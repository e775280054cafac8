//! Ed25519 identities in the nkeys encoding, and the five roles Caplet gives them.
//!
//! The first letter of a public key names its role (`A` account, `M` module, ...), and a seed
//! starts with `S` followed by that letter. This module checks the role of every key it reads,
//! so an account seed can never be used where a module seed is expected or the other way round.

use std::fmt;
use std::str::FromStr;

pub use nkeys::KeyPair;
use nkeys::KeyPairType;

/// The role of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// `O...`: signs accounts; the root of trust of a deployment.
    Operator,
    /// `A...`: signs modules (the `iss` of a module token).
    Account,
    /// `M...`: a module's own identity (the `sub` of its token).
    Module,
    /// `V...`: a capability provider (service).
    Service,
    /// `N...`: a host (server).
    Server,
}

impl KeyKind {
    /// All kinds, in trust order.
    pub const ALL: [KeyKind; 5] = [
        KeyKind::Operator,
        KeyKind::Account,
        KeyKind::Module,
        KeyKind::Service,
        KeyKind::Server,
    ];

    /// The lowercase name used on the command line and in key file names.
    pub fn name(self) -> &'static str {
        match self {
            KeyKind::Operator => "operator",
            KeyKind::Account => "account",
            KeyKind::Module => "module",
            KeyKind::Service => "service",
            KeyKind::Server => "server",
        }
    }

    /// The first letter of public keys of this kind.
    pub fn prefix(self) -> char {
        match self {
            KeyKind::Operator => 'O',
            KeyKind::Account => 'A',
            KeyKind::Module => 'M',
            KeyKind::Service => 'V',
            KeyKind::Server => 'N',
        }
    }

    fn nkeys_type(self) -> KeyPairType {
        match self {
            KeyKind::Operator => KeyPairType::Operator,
            KeyKind::Account => KeyPairType::Account,
            KeyKind::Module => KeyPairType::Module,
            KeyKind::Service => KeyPairType::Service,
            KeyKind::Server => KeyPairType::Server,
        }
    }

    fn from_prefix(prefix: char) -> Option<KeyKind> {
        KeyKind::ALL
            .into_iter()
            .find(|kind| kind.prefix() == prefix)
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyKind {
    type Err = KeyError;

    /// Accepts the kind names plus the aliases `provider` (service), `host` (server) and
    /// `actor` (module), case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "operator" => KeyKind::Operator,
            "account" => KeyKind::Account,
            "module" | "actor" => KeyKind::Module,
            "service" | "provider" => KeyKind::Service,
            "server" | "host" => KeyKind::Server,
            _ => {
                return Err(KeyError::UnknownKind {
                    input: s.to_string(),
                });
            }
        })
    }
}

/// Why a key could not be read or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not one of the kind names.
    #[error(
        "unknown key kind {input:?}: expected operator, account, module, service (provider) or server (host)"
    )]
    UnknownKind { input: String },
    /// The text is not an nkeys seed.
    #[error("not a valid nkeys seed (58 characters starting with S): {reason}")]
    InvalidSeed { reason: String },
    /// The text is not an nkeys public key.
    #[error("not a valid nkeys public key (56 characters): {reason}")]
    InvalidPublicKey { reason: String },
    /// A valid key of the wrong role.
    #[error("expected {expected} key ({}...), got {found}", expected.prefix())]
    WrongKind { expected: KeyKind, found: String },
    /// A seed file or the keys directory could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Refused to replace an existing seed file.
    #[error("{path} already exists; refusing to overwrite a key (pass --force to replace it)")]
    Exists { path: std::path::PathBuf },
    /// A key name that would escape the keys directory or is empty.
    #[error("invalid key name {name:?}: use letters, digits, '.', '_' and '-' only")]
    InvalidName { name: String },
}

/// A new random key of `kind`, from the operating system's random source.
pub fn generate(kind: KeyKind) -> KeyPair {
    KeyPair::new(kind.nkeys_type())
}

/// The kind of a key pair, read from its public key's first letter.
pub fn kind_of(key: &KeyPair) -> Option<KeyKind> {
    key.public_key()
        .chars()
        .next()
        .and_then(KeyKind::from_prefix)
}

/// Reads a seed (`S` + kind letter + ...), surrounding whitespace ignored, and checks its kind
/// when `expected` is given.
pub fn parse_seed(seed: &str, expected: Option<KeyKind>) -> Result<KeyPair, KeyError> {
    let seed = seed.trim();
    let key = KeyPair::from_seed(seed).map_err(|e| KeyError::InvalidSeed {
        reason: e.to_string(),
    })?;
    // nkeys maps an unknown type byte to Operator; the seed's second letter must agree with the
    // decoded kind, so such a seed is refused rather than silently treated as an operator.
    let letter = seed.chars().nth(1);
    let kind = kind_of(&key).filter(|kind| Some(kind.prefix()) == letter);
    let Some(kind) = kind else {
        return Err(KeyError::InvalidSeed {
            reason: format!(
                "{} keys are not supported here",
                letter.map_or_else(|| "unknown".to_string(), |l| format!("{l}..."))
            ),
        });
    };
    check_kind(kind, expected, &key)?;
    Ok(key)
}

/// Reads a public key and checks its kind when `expected` is given.
pub fn parse_public_key(key: &str, expected: Option<KeyKind>) -> Result<KeyPair, KeyError> {
    let pair = KeyPair::from_public_key(key).map_err(|e| KeyError::InvalidPublicKey {
        reason: e.to_string(),
    })?;
    let kind = key
        .chars()
        .next()
        .and_then(KeyKind::from_prefix)
        .ok_or_else(|| KeyError::InvalidPublicKey {
            reason: format!("{key:.1}... keys are not supported here"),
        })?;
    check_kind(kind, expected, &pair)?;
    Ok(pair)
}

fn check_kind(kind: KeyKind, expected: Option<KeyKind>, key: &KeyPair) -> Result<(), KeyError> {
    match expected {
        Some(expected) if expected != kind => Err(KeyError::WrongKind {
            expected,
            found: format!("{} key {}", kind, key.public_key()),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_the_right_prefixes() {
        for kind in KeyKind::ALL {
            let key = generate(kind);
            let public = key.public_key();
            let seed = key.seed().unwrap();
            assert_eq!(public.len(), 56);
            assert_eq!(seed.len(), 58);
            assert!(public.starts_with(kind.prefix()));
            assert_eq!(seed.chars().nth(1), Some(kind.prefix()));
            assert_eq!(kind_of(&key), Some(kind));
            assert_eq!(parse_seed(&seed, Some(kind)).unwrap().public_key(), public);
            assert_eq!(kind.name().parse::<KeyKind>().unwrap(), kind);
        }
    }

    #[test]
    fn go_compatible_test_vector() {
        // From nkeys' `roundtrip_encoding_go_compat` (wire-compat.md section 2.5).
        let key = parse_seed(
            "SAAPN4W3EG6KCJGUQTKTJ5GSB5NHK5CHAJL4DBGFUM3HHROI4XUEP4OBK4\n",
            Some(KeyKind::Account),
        )
        .unwrap();
        assert_eq!(
            key.public_key(),
            "ACODERUVFFAWZQDSS6SBIACUA5O6SXF7HJ3YTYXBALHZP3P7R4BUO4J2"
        );
    }

    #[test]
    fn wrong_kinds_and_garbage_are_refused() {
        let module = generate(KeyKind::Module);
        let err = parse_seed(&module.seed().unwrap(), Some(KeyKind::Account)).unwrap_err();
        assert!(matches!(
            err,
            KeyError::WrongKind {
                expected: KeyKind::Account,
                ..
            }
        ));
        let err = parse_public_key(&module.public_key(), Some(KeyKind::Account)).unwrap_err();
        assert!(matches!(err, KeyError::WrongKind { .. }));
        assert!(matches!(
            parse_seed("SAnope", None),
            Err(KeyError::InvalidSeed { .. })
        ));
        assert!(matches!(
            parse_public_key("", None),
            Err(KeyError::InvalidPublicKey { .. })
        ));
        let user = KeyPair::new_user();
        assert!(matches!(
            parse_seed(&user.seed().unwrap(), None),
            Err(KeyError::InvalidSeed { .. })
        ));
        assert!(matches!(
            parse_public_key(&user.public_key(), None),
            Err(KeyError::InvalidPublicKey { .. })
        ));
        assert_eq!("provider".parse::<KeyKind>().unwrap(), KeyKind::Service);
        assert_eq!("HOST".parse::<KeyKind>().unwrap(), KeyKind::Server);
        assert!("user".parse::<KeyKind>().is_err());
    }
}
