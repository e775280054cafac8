//! Deciding whether a module's claims can be trusted, and what they grant.
//!
//! [`inspect`] reads the token without judging it (for `caplet claims inspect`); [`verify`]
//! refuses a module unless the token is present, well-formed, signed by its issuer, matches the
//! module's bytes, is within its validity window and comes from an allowed issuer. The checks run
//! in that order, so no claim is trusted before its signature is. A [`VerifiedClaims`] can only
//! be obtained from [`verify`]; holding one is proof that every check passed.

use serde::Serialize;

use crate::embed::{TokenSection, scan, verbatim_hash};
use crate::error::{ClaimsError, KeyClaim, TokenError};
use crate::human_time::now_unix;
use crate::jwt::{Claims, Token};
use crate::keys::{KeyKind, KeyPair, parse_public_key};

/// What a host requires of a module's claims beyond a valid signature and hash.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Account keys (`A...`) whose modules are trusted. Empty means any issuer.
    pub allowed_issuers: Vec<String>,
    /// The time to check `exp`/`nbf` against, Unix seconds. `None` means now. For tests and for
    /// asking "will this still be valid then?".
    pub now: Option<u64>,
}

impl Policy {
    /// Trust modules from these accounts only.
    pub fn allow_issuers<I, S>(mut self, issuers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.allowed_issuers
            .extend(issuers.into_iter().map(Into::into));
        self
    }

    /// Check validity at `unix_secs` instead of now.
    pub fn at(mut self, unix_secs: u64) -> Self {
        self.now = Some(unix_secs);
        self
    }
}

/// A token found in a module, decoded but not judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inspection {
    section: TokenSection,
    token: Token,
    actual_hash: String,
    hash_matches: bool,
}

impl Inspection {
    /// The section the token was read from.
    pub fn section(&self) -> TokenSection {
        self.section
    }

    /// The parsed token.
    pub fn token(&self) -> &Token {
        &self.token
    }

    /// The token's claims.
    pub fn claims(&self) -> &Claims {
        self.token.claims()
    }

    /// The hash of the module as it is now.
    pub fn actual_hash(&self) -> &str {
        &self.actual_hash
    }

    /// True when the claimed hash matches the module.
    pub fn hash_matches(&self) -> bool {
        self.hash_matches
    }

    /// Checks that `iss` is an account key, `sub` a module key, and the signature valid for `iss`.
    pub fn check_signature(&self) -> Result<(), ClaimsError> {
        let claims = self.claims();
        let issuer = key_claim(KeyClaim::Issuer, &claims.issuer, KeyKind::Account)?;
        key_claim(KeyClaim::Subject, &claims.subject, KeyKind::Module)?;
        if self.token.is_signed_by(&issuer) {
            Ok(())
        } else {
            Err(ClaimsError::InvalidSignature {
                issuer: claims.issuer.clone(),
            })
        }
    }

    /// Checks that `now` lies within `[nbf, exp]`.
    pub fn check_validity_window(&self, now: u64) -> Result<(), ClaimsError> {
        let claims = self.claims();
        if let Some(not_before) = claims.not_before.filter(|&nbf| now < nbf) {
            return Err(ClaimsError::NotYetValid { not_before, now });
        }
        if let Some(expires_at) = claims.expires.filter(|&exp| now > exp) {
            return Err(ClaimsError::Expired { expires_at, now });
        }
        Ok(())
    }
}

/// Finds and decodes the token of `module`. Fails only when there is no single readable token;
/// the signature, hash and dates are reported, not enforced.
pub fn inspect(module: &[u8]) -> Result<Inspection, ClaimsError> {
    let scan = scan(module)?;
    let Some((section, bytes)) = scan.first_token else {
        return Err(ClaimsError::Unsigned);
    };
    if scan.token_count > 1 {
        return Err(ClaimsError::MultipleTokens {
            count: scan.token_count,
        });
    }
    if bytes.is_empty() {
        return Err(ClaimsError::EmptyToken { section });
    }
    let token = Token::parse(bytes).map_err(|error| malformed(section, error))?;
    let claimed = &token.claims().metadata.module_hash;
    let mut hash_matches = claimed.eq_ignore_ascii_case(&scan.hash);
    if !hash_matches && scan.has_padded_sizes {
        // Tokens from wascap before 0.10 hashed the module with its token cut out verbatim.
        hash_matches = claimed.eq_ignore_ascii_case(&verbatim_hash(module)?);
    }
    Ok(Inspection {
        section,
        token,
        actual_hash: scan.hash,
        hash_matches,
    })
}

/// Verifies the claims of `module` under `policy`.
///
/// The checks, in order, each with its own error: a single token section exists
/// ([`ClaimsError::Unsigned`], [`ClaimsError::MultipleTokens`]); it holds a well-formed token
/// ([`ClaimsError::EmptyToken`], [`ClaimsError::MalformedToken`]); `iss`/`sub` are account and
/// module keys ([`ClaimsError::InvalidKeyClaim`]); the signature is valid for `iss`
/// ([`ClaimsError::InvalidSignature`]); the module hash matches ([`ClaimsError::HashMismatch`]);
/// the time lies in `[nbf, exp]` ([`ClaimsError::NotYetValid`], [`ClaimsError::Expired`]); the
/// issuer is allowed ([`ClaimsError::IssuerNotAllowed`]). The hash is enforced whatever the
/// token's `wascap_revision`, unlike wascap, which skips it below revision 3.
pub fn verify(module: &[u8], policy: &Policy) -> Result<VerifiedClaims, ClaimsError> {
    let inspection = inspect(module)?;
    inspection.check_signature()?;
    if !inspection.hash_matches {
        return Err(ClaimsError::HashMismatch {
            claimed: inspection.claims().metadata.module_hash.clone(),
            actual: inspection.actual_hash,
        });
    }
    inspection.check_validity_window(policy.now.unwrap_or_else(now_unix))?;
    let issuer = &inspection.claims().issuer;
    if !policy.allowed_issuers.is_empty() && !policy.allowed_issuers.contains(issuer) {
        return Err(ClaimsError::IssuerNotAllowed {
            issuer: issuer.clone(),
            allowed: policy.allowed_issuers.len(),
        });
    }
    Ok(VerifiedClaims::from_inspection(inspection))
}

/// The claims of a module that passed [`verify`]. Only [`verify`] constructs this type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedClaims {
    subject: String,
    issuer: String,
    name: Option<String>,
    caps: Vec<String>,
    tags: Vec<String>,
    rev: Option<i32>,
    ver: Option<String>,
    call_alias: Option<String>,
    issued_at: u64,
    expires: Option<u64>,
    not_before: Option<u64>,
    module_hash: String,
    token_id: String,
    wascap_revision: Option<u32>,
    section: TokenSection,
    #[serde(skip)]
    jwt: String,
}

impl VerifiedClaims {
    fn from_inspection(inspection: Inspection) -> Self {
        let jwt = inspection.token.as_str().to_string();
        let section = inspection.section;
        let claims = inspection.token.claims().clone();
        let meta = claims.metadata;
        VerifiedClaims {
            subject: claims.subject,
            issuer: claims.issuer,
            name: meta.name,
            caps: meta.caps.unwrap_or_default(),
            tags: meta.tags.unwrap_or_default(),
            rev: meta.rev,
            ver: meta.ver,
            call_alias: meta.call_alias,
            issued_at: claims.issued_at,
            expires: claims.expires,
            not_before: claims.not_before,
            module_hash: meta.module_hash,
            token_id: claims.id,
            wascap_revision: claims.wascap_revision,
            section,
            jwt,
        }
    }

    /// The module's public key (`M...`): its identity.
    pub fn subject(&self) -> &str {
        &self.subject
    }
    /// The signing account's public key (`A...`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }
    /// The human name, if the token has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
    /// Capability contract ids as written in the token.
    pub fn caps(&self) -> &[String] {
        &self.caps
    }
    /// True when the token grants `contract`; legacy waSCC names match their current ids.
    pub fn has_capability(&self, contract: &str) -> bool {
        let wanted = crate::caps::canonical(contract);
        self.caps
            .iter()
            .any(|cap| crate::caps::canonical(cap) == wanted)
    }
    /// Tags.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }
    /// Revision number.
    pub fn rev(&self) -> Option<i32> {
        self.rev
    }
    /// Human version.
    pub fn ver(&self) -> Option<&str> {
        self.ver.as_deref()
    }
    /// Call alias.
    pub fn call_alias(&self) -> Option<&str> {
        self.call_alias.as_deref()
    }
    /// `iat`, Unix seconds.
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }
    /// `exp`, Unix seconds; `None` means it never expires.
    pub fn expires(&self) -> Option<u64> {
        self.expires
    }
    /// `nbf`, Unix seconds; `None` means valid from issue.
    pub fn not_before(&self) -> Option<u64> {
        self.not_before
    }
    /// The verified module hash.
    pub fn module_hash(&self) -> &str {
        &self.module_hash
    }
    /// `jti`.
    pub fn token_id(&self) -> &str {
        &self.token_id
    }
    /// `wascap_revision`, absent in tokens from wascap before 0.9.
    pub fn wascap_revision(&self) -> Option<u32> {
        self.wascap_revision
    }
    /// The section the token was read from.
    pub fn section(&self) -> TokenSection {
        self.section
    }
    /// The token text.
    pub fn jwt(&self) -> &str {
        &self.jwt
    }
}

fn key_claim(claim: KeyClaim, value: &str, kind: KeyKind) -> Result<KeyPair, ClaimsError> {
    parse_public_key(value, Some(kind)).map_err(|e| ClaimsError::InvalidKeyClaim {
        claim,
        value: value.to_string(),
        reason: e.to_string(),
    })
}

fn malformed(section: TokenSection, error: TokenError) -> ClaimsError {
    ClaimsError::MalformedToken { section, error }
}
