//! Why a module's claims were refused: one variant per cause, so a host can branch on it.
//!
//! `Unsigned` is deliberately its own variant: a development flag may accept unsigned modules,
//! while every other variant means the module must be refused. Each message says what failed;
//! [`ClaimsError::hint`] says what to do next. Callers add which file or actor it was.

use std::fmt;

use crate::embed::TokenSection;
use crate::human_time::{format_relative, format_utc};
use crate::section::WasmError;

/// A verification failure. Produced by [`crate::verify`] and [`crate::inspect`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    /// The bytes are not a well-framed Wasm module (bad magic, truncated, too large, ...).
    #[error("not a readable Wasm module: {0}")]
    MalformedModule(#[from] WasmError),
    /// No `wasmcloud_jwt` or `jwt` custom section: the module is unsigned.
    #[error("the module is unsigned: it has no `wasmcloud_jwt` or `jwt` custom section")]
    Unsigned,
    /// More than one token section; which one counts would be ambiguous.
    #[error(
        "the module has {count} claims sections (`wasmcloud_jwt`/`jwt`); exactly one is allowed"
    )]
    MultipleTokens { count: usize },
    /// The token section is present but holds no bytes.
    #[error("the `{section}` custom section is empty: it holds no token")]
    EmptyToken { section: TokenSection },
    /// The token section's bytes are not a readable wascap JWT.
    #[error("the token in the `{section}` custom section is malformed: {error}")]
    MalformedToken {
        section: TokenSection,
        error: TokenError,
    },
    /// `iss` or `sub` is not a public key of the required kind.
    #[error("the `{claim}` claim {value:?} is not a valid {claim_role} public key: {reason}", claim_role = claim.role())]
    InvalidKeyClaim {
        claim: KeyClaim,
        value: String,
        reason: String,
    },
    /// The Ed25519 signature does not verify against the issuer's key.
    #[error("the token's signature is not valid for its issuer {issuer}")]
    InvalidSignature { issuer: String },
    /// The module's bytes differ from the ones the token was signed for.
    #[error(
        "module hash mismatch: the token was signed for a module with hash {claimed}, but this module's hash is {actual}"
    )]
    HashMismatch { claimed: String, actual: String },
    /// `exp` lies in the past.
    #[error("the token expired at {} ({})", format_utc(*.expires_at), format_relative(*.expires_at, *.now))]
    Expired { expires_at: u64, now: u64 },
    /// `nbf` lies in the future.
    #[error("the token is not valid before {} ({})", format_utc(*.not_before), format_relative(*.not_before, *.now))]
    NotYetValid { not_before: u64, now: u64 },
    /// The issuer is not in the policy's allow-list.
    #[error("the issuer {issuer} is not in the allow-list of {allowed} trusted account key(s)")]
    IssuerNotAllowed { issuer: String, allowed: usize },
}

impl ClaimsError {
    /// What the person reading the error should do next.
    pub fn hint(&self) -> &'static str {
        match self {
            ClaimsError::MalformedModule(_) => {
                "check that the file is a complete binary .wasm module (not truncated, not .wat text); rebuild or download it again"
            }
            ClaimsError::Unsigned => {
                "sign it with `caplet claims sign`, or run it only where unsigned modules are explicitly allowed for development"
            }
            ClaimsError::MultipleTokens { .. } => {
                "sign it again with `caplet claims sign`, which replaces every claims section with exactly one"
            }
            ClaimsError::EmptyToken { .. } | ClaimsError::MalformedToken { .. } => {
                "the token cannot be read; sign the module again with `caplet claims sign`"
            }
            ClaimsError::InvalidKeyClaim { .. } => {
                "the signer wrote an invalid token; sign again with an account key (A...) as issuer and a module key (M...) as subject"
            }
            ClaimsError::InvalidSignature { .. } => {
                "the token was altered after signing; do not run this module, get a copy signed by its issuer"
            }
            ClaimsError::HashMismatch { .. } => {
                "the module's bytes changed after it was signed; get the original module, or sign the new build"
            }
            ClaimsError::Expired { .. } => {
                "ask the issuer for a newly signed module (`caplet claims sign --expires-in ...`)"
            }
            ClaimsError::NotYetValid { .. } => {
                "wait until the not-before time, or check this machine's clock"
            }
            ClaimsError::IssuerNotAllowed { .. } => {
                "if you trust this account, add its key to the allow-list (`--issuer`); otherwise use a module signed by a trusted account"
            }
        }
    }
}

/// Why the bytes of a token section are not a readable wascap JWT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Longer than [`crate::MAX_TOKEN_BYTES`].
    #[error("the token is {len} bytes, over the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    /// Not UTF-8 text.
    #[error("the token is not UTF-8 text")]
    NotUtf8,
    /// Not `header.claims.signature`.
    #[error("expected 3 dot-separated segments (header.claims.signature), found {found}")]
    SegmentCount { found: usize },
    /// A segment is not unpadded base64url.
    #[error("the {segment} segment is not unpadded base64url")]
    Base64 { segment: Segment },
    /// A segment decodes to something other than the expected JSON object.
    #[error("the {segment} segment is not the expected JSON: {message}")]
    Json { segment: Segment, message: String },
    /// The header is not `{"typ":"jwt","alg":"Ed25519"}`.
    #[error(
        "unsupported header typ={typ:?} alg={alg:?}; wascap tokens use typ \"jwt\" and alg \"Ed25519\""
    )]
    UnsupportedHeader { typ: String, alg: String },
    /// The signature is not 64 bytes.
    #[error("the signature is {len} bytes; Ed25519 signatures are 64")]
    SignatureLength { len: usize },
    /// The claims have no `wascap` object, so they say nothing about a module.
    #[error("the claims have no `wascap` object (module name, hash, capabilities)")]
    MissingMetadata,
}

/// The three parts of a JWT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment {
    Header,
    Claims,
    Signature,
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Segment::Header => "header",
            Segment::Claims => "claims",
            Segment::Signature => "signature",
        })
    }
}

/// The two claims that hold keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyClaim {
    /// `iss`, the signing account.
    Issuer,
    /// `sub`, the module's own identity.
    Subject,
}

impl KeyClaim {
    fn role(self) -> &'static str {
        match self {
            KeyClaim::Issuer => "account (A...)",
            KeyClaim::Subject => "module (M...)",
        }
    }
}

impl fmt::Display for KeyClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyClaim::Issuer => "iss",
            KeyClaim::Subject => "sub",
        })
    }
}
