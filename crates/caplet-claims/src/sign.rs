//! Signing a module: remove old tokens, hash, build the claims, sign with the account, embed.
//!
//! Signing an already-signed module replaces its token; it never adds a second one. The account
//! key (issuer) needs its seed; the module key (subject) only lends its public key. Every token
//! written here is parsed back before it is returned, so a token this crate writes always reads.

use crate::embed::{embed_token, module_hash};
use crate::human_time::now_unix;
use crate::jwt::{self, ActorMetadata, Claims, MAX_TOKEN_BYTES, Token, WASCAP_REVISION};
use crate::keys::{KeyKind, KeyPair, kind_of};
use crate::section::WasmError;
use crate::token_id::new_token_id;

/// What to claim about a module.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActorSpec {
    /// Human name (required, not empty).
    pub name: String,
    /// Capability contract ids, e.g. [`crate::caps::KEY_VALUE`]. Duplicates are dropped.
    pub caps: Vec<String>,
    /// Free-form tags. Duplicates are dropped.
    pub tags: Vec<String>,
    /// Revision number.
    pub rev: Option<i32>,
    /// Human version, e.g. `1.2.0`.
    pub ver: Option<String>,
    /// Call alias; normalized as wascap does (see [`normalize_call_alias`]).
    pub call_alias: Option<String>,
    /// `exp`, Unix seconds.
    pub expires: Option<u64>,
    /// `nbf`, Unix seconds.
    pub not_before: Option<u64>,
    /// `iat`, Unix seconds; `None` means now.
    pub issued_at: Option<u64>,
}

impl ActorSpec {
    /// A spec with only a name.
    pub fn new(name: impl Into<String>) -> Self {
        ActorSpec {
            name: name.into(),
            ..ActorSpec::default()
        }
    }
}

/// A signed module and its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedModule {
    /// The module with exactly one `wasmcloud_jwt` section, at the end.
    pub module: Vec<u8>,
    /// The token embedded in it.
    pub token: Token,
}

/// Why a module could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The input is not a well-framed Wasm module.
    #[error("the input is not a readable Wasm module: {0}")]
    Module(#[from] WasmError),
    /// A key of the wrong kind was given for a role.
    #[error("the {role} key must be {} key ({}...), but {found} was given", expected.name(), expected.prefix())]
    WrongKeyKind {
        role: &'static str,
        expected: KeyKind,
        found: String,
    },
    /// The issuer key has no seed, so it cannot sign.
    #[error(
        "the issuer key {public_key} has no seed; signing needs the account's seed, not only its public key"
    )]
    MissingSeed { public_key: String },
    /// The spec cannot be written as claims.
    #[error("invalid claims: {0}")]
    InvalidSpec(String),
    /// The OS random source failed while making the token id.
    #[error("cannot generate a token id: {0}")]
    Random(String),
    /// JSON encoding or the Ed25519 signature failed.
    #[error("cannot encode or sign the token: {0}")]
    Encoding(String),
    /// The token would exceed [`MAX_TOKEN_BYTES`].
    #[error(
        "the token would be {len} bytes, over the {max}-byte limit; shorten the capability or tag lists"
    )]
    TokenTooLarge { len: usize, max: usize },
}

/// Signs `module` for `spec`, issued by `issuer` (an account key with seed) for `subject`
/// (a module key). Any token the module already has is replaced.
pub fn sign(
    module: &[u8],
    spec: &ActorSpec,
    issuer: &KeyPair,
    subject: &KeyPair,
) -> Result<SignedModule, SignError> {
    check_role("issuer", issuer, KeyKind::Account)?;
    check_role("subject", subject, KeyKind::Module)?;
    if issuer.seed().is_err() {
        return Err(SignError::MissingSeed {
            public_key: issuer.public_key(),
        });
    }
    let metadata = metadata(spec, module_hash(module)?)?;
    let claims = Claims {
        expires: spec.expires,
        id: new_token_id().map_err(|e| SignError::Random(e.to_string()))?,
        issued_at: spec.issued_at.unwrap_or_else(now_unix),
        issuer: issuer.public_key(),
        subject: subject.public_key(),
        not_before: spec.not_before,
        metadata,
        wascap_revision: Some(WASCAP_REVISION),
    };
    let jwt = jwt::encode(&claims, issuer).map_err(SignError::Encoding)?;
    if jwt.len() > MAX_TOKEN_BYTES {
        return Err(SignError::TokenTooLarge {
            len: jwt.len(),
            max: MAX_TOKEN_BYTES,
        });
    }
    let token = Token::parse(jwt.as_bytes()).map_err(|e| SignError::Encoding(e.to_string()))?;
    let module = embed_token(module, &jwt)?;
    Ok(SignedModule { module, token })
}

/// Normalizes a call alias as wascap does: lowercase, trimmed, non-ASCII dropped, and
/// space, `-` and `.` turned into `_`.
pub fn normalize_call_alias(alias: &str) -> String {
    alias
        .to_lowercase()
        .trim()
        .chars()
        .filter(char::is_ascii)
        .map(|c| if matches!(c, ' ' | '-' | '.') { '_' } else { c })
        .collect()
}

fn check_role(role: &'static str, key: &KeyPair, expected: KeyKind) -> Result<(), SignError> {
    if kind_of(key) == Some(expected) {
        return Ok(());
    }
    Err(SignError::WrongKeyKind {
        role,
        expected,
        found: key.public_key(),
    })
}

fn metadata(spec: &ActorSpec, module_hash: String) -> Result<ActorMetadata, SignError> {
    let invalid = |message: String| Err(SignError::InvalidSpec(message));
    let name = spec.name.trim();
    if name.is_empty() {
        return invalid("the module name is empty; give it a name".to_string());
    }
    let caps = checked_list("capability", &spec.caps)?;
    let tags = checked_list("tag", &spec.tags)?;
    let call_alias = match spec.call_alias.as_deref().map(normalize_call_alias) {
        Some(alias) if alias.is_empty() => {
            return invalid("the call alias is empty after normalization".to_string());
        }
        other => other,
    };
    if let (Some(expires), Some(not_before)) = (spec.expires, spec.not_before)
        && expires < not_before
    {
        return invalid(format!(
            "the token would expire ({expires}) before it becomes valid ({not_before})"
        ));
    }
    Ok(ActorMetadata {
        name: Some(name.to_string()),
        module_hash,
        tags: (!tags.is_empty()).then_some(tags),
        caps: (!caps.is_empty()).then_some(caps),
        rev: spec.rev,
        ver: spec.ver.clone(),
        call_alias,
        provider: false,
    })
}

/// Trims, refuses empty or control-character entries, drops duplicates, keeps order.
fn checked_list(what: &str, items: &[String]) -> Result<Vec<String>, SignError> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let item = item.trim();
        if item.is_empty() || item.chars().any(char::is_control) {
            return Err(SignError::InvalidSpec(format!(
                "invalid {what} {item:?}: it must be non-empty text without control characters"
            )));
        }
        if !out.iter().any(|seen| seen == item) {
            out.push(item.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::generate;

    const MODULE: &[u8] = b"\0asm\x01\0\0\0\x01\x01\x00";

    #[test]
    fn call_alias_is_normalized_like_wascap() {
        assert_eq!(normalize_call_alias("  My-Actor.v2 ünï "), "my_actor_v2_n");
    }

    #[test]
    fn keys_must_have_their_roles() {
        let account = generate(KeyKind::Account);
        let module = generate(KeyKind::Module);
        let spec = ActorSpec::new("x");
        assert!(matches!(
            sign(MODULE, &spec, &module, &module),
            Err(SignError::WrongKeyKind { role: "issuer", .. })
        ));
        assert!(matches!(
            sign(MODULE, &spec, &account, &account),
            Err(SignError::WrongKeyKind {
                role: "subject",
                ..
            })
        ));
        let public_only = KeyPair::from_public_key(&account.public_key()).unwrap();
        assert!(matches!(
            sign(MODULE, &spec, &public_only, &module),
            Err(SignError::MissingSeed { .. })
        ));
        let subject_public = KeyPair::from_public_key(&module.public_key()).unwrap();
        assert!(sign(MODULE, &spec, &account, &subject_public).is_ok());
    }

    #[test]
    fn spec_is_validated_and_deduplicated() {
        let account = generate(KeyKind::Account);
        let module = generate(KeyKind::Module);
        let mut spec = ActorSpec::new(" ");
        assert!(matches!(
            sign(MODULE, &spec, &account, &module),
            Err(SignError::InvalidSpec(_))
        ));
        spec.name = "ok".to_string();
        spec.caps = vec!["a:b".to_string(), "a:b ".to_string(), "c:d".to_string()];
        let signed = sign(MODULE, &spec, &account, &module).unwrap();
        assert_eq!(
            signed.token.claims().metadata.caps,
            Some(vec!["a:b".to_string(), "c:d".to_string()])
        );
        spec.tags = vec!["bad\ntag".to_string()];
        assert!(matches!(
            sign(MODULE, &spec, &account, &module),
            Err(SignError::InvalidSpec(_))
        ));
        spec.tags.clear();
        spec.expires = Some(10);
        spec.not_before = Some(20);
        assert!(matches!(
            sign(MODULE, &spec, &account, &module),
            Err(SignError::InvalidSpec(_))
        ));
        spec.not_before = None;
        spec.call_alias = Some("ü".to_string());
        assert!(matches!(
            sign(MODULE, &spec, &account, &module),
            Err(SignError::InvalidSpec(_))
        ));
    }

    #[test]
    fn refuses_oversized_tokens() {
        let account = generate(KeyKind::Account);
        let module = generate(KeyKind::Module);
        let mut spec = ActorSpec::new("big");
        spec.tags = (0..MAX_TOKEN_BYTES / 8).map(|i| format!("t{i}")).collect();
        assert!(matches!(
            sign(MODULE, &spec, &account, &module),
            Err(SignError::TokenTooLarge { .. })
        ));
    }
}
