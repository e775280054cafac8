//! The wascap JWT: `base64url(header).base64url(claims).base64url(Ed25519 signature)`.
//!
//! The types mirror wascap's JSON field for field and in the same order, so tokens written here
//! are byte-compatible with wascap's and tokens written there decode here. Parsing keeps the
//! text exactly as received: the signature is checked over those bytes, never a re-encoding.

use data_encoding::BASE64URL_NOPAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Segment, TokenError};
use crate::keys::KeyPair;

/// Largest token this crate will parse or write.
///
/// Default: 64 KiB (bytes). Fixed. A typical token is under 1 KiB; the margin allows long
/// capability and tag lists. When hit: [`TokenError::TooLarge`] before decoding, or
/// `SignError::TokenTooLarge` when signing.
pub const MAX_TOKEN_BYTES: usize = 64 << 10;

/// The header `typ` of every wascap token.
pub const HEADER_TYPE: &str = "jwt";
/// The header `alg` of every wascap token.
pub const HEADER_ALGORITHM: &str = "Ed25519";
/// The `wascap_revision` written here, as by wascap 0.10.1+: the hash covers the module with
/// its token sections removed and section sizes re-encoded minimally.
pub const WASCAP_REVISION: u32 = 3;
/// Length of an Ed25519 signature.
const SIGNATURE_BYTES: usize = 64;

/// The JWT header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always `"jwt"`.
    pub typ: String,
    /// Always `"Ed25519"`.
    pub alg: String,
}

impl Header {
    /// `{"typ":"jwt","alg":"Ed25519"}`.
    pub fn wascap() -> Self {
        Header {
            typ: HEADER_TYPE.to_string(),
            alg: HEADER_ALGORITHM.to_string(),
        }
    }
}

/// The registered JWT fields plus the `wascap` object of an actor module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claims {
    /// `exp`: Unix seconds after which the token is invalid.
    #[serde(rename = "exp", skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
    /// `jti`: a unique token id.
    #[serde(rename = "jti")]
    pub id: String,
    /// `iat`: Unix seconds when the token was signed.
    #[serde(rename = "iat")]
    pub issued_at: u64,
    /// `iss`: the signing account's public key (`A...`).
    #[serde(rename = "iss")]
    pub issuer: String,
    /// `sub`: the module's public key (`M...`).
    #[serde(rename = "sub")]
    pub subject: String,
    /// `nbf`: Unix seconds before which the token is invalid.
    #[serde(rename = "nbf", skip_serializing_if = "Option::is_none")]
    pub not_before: Option<u64>,
    /// `wascap`: what the module is and may do.
    #[serde(rename = "wascap")]
    pub metadata: ActorMetadata,
    /// `wascap_revision`: 3 for tokens written here; absent in tokens from wascap before 0.9.
    #[serde(rename = "wascap_revision", skip_serializing_if = "Option::is_none")]
    pub wascap_revision: Option<u32>,
}

/// The `wascap` object of an actor module's token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorMetadata {
    /// A human name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `hash`: the module hash, uppercase hex SHA-256 (see [`crate::module_hash`]).
    #[serde(rename = "hash")]
    pub module_hash: String,
    /// Free-form tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Capability contract ids the module may call (see [`crate::caps`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caps: Option<Vec<String>>,
    /// Revision number; a live update must raise it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rev: Option<i32>,
    /// Human version string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ver: Option<String>,
    /// A unique, friendly name other actors may call this one by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_alias: Option<String>,
    /// `prov`: true for capability providers; always false for actors, always written.
    #[serde(rename = "prov", default)]
    pub provider: bool,
}

/// The claims as they may appear on the wire: `wascap` may be missing, `jti`/`iat` are tolerated
/// missing (neither affects security).
#[derive(Deserialize)]
struct WireClaims {
    #[serde(rename = "exp", default)]
    expires: Option<u64>,
    #[serde(rename = "jti", default)]
    id: String,
    #[serde(rename = "iat", default)]
    issued_at: u64,
    #[serde(rename = "iss")]
    issuer: String,
    #[serde(rename = "sub")]
    subject: String,
    #[serde(rename = "nbf", default)]
    not_before: Option<u64>,
    #[serde(rename = "wascap", default)]
    metadata: Option<ActorMetadata>,
    #[serde(rename = "wascap_revision", default)]
    wascap_revision: Option<u32>,
}

/// A parsed token: the decoded header and claims, the signature, and the exact text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    jwt: String,
    header: Header,
    claims: Claims,
    signature: Vec<u8>,
    signed_len: usize,
}

impl Token {
    /// Decodes the bytes of a token section. Checks the structure only (three segments,
    /// base64url, JSON, header, signature length, `wascap` present), not the signature.
    pub fn parse(bytes: &[u8]) -> Result<Token, TokenError> {
        if bytes.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge {
                len: bytes.len(),
                max: MAX_TOKEN_BYTES,
            });
        }
        let jwt = std::str::from_utf8(bytes).map_err(|_| TokenError::NotUtf8)?;
        let segments: Vec<&str> = jwt.split('.').collect();
        let &[header_text, claims_text, signature_text] = segments.as_slice() else {
            return Err(TokenError::SegmentCount {
                found: segments.len(),
            });
        };
        let header: Header = decode_json(header_text, Segment::Header)?;
        if header.typ != HEADER_TYPE || header.alg != HEADER_ALGORITHM {
            return Err(TokenError::UnsupportedHeader {
                typ: header.typ,
                alg: header.alg,
            });
        }
        let wire: WireClaims = decode_json(claims_text, Segment::Claims)?;
        let signature = decode_base64(signature_text, Segment::Signature)?;
        if signature.len() != SIGNATURE_BYTES {
            return Err(TokenError::SignatureLength {
                len: signature.len(),
            });
        }
        let metadata = wire.metadata.ok_or(TokenError::MissingMetadata)?;
        let claims = Claims {
            expires: wire.expires,
            id: wire.id,
            issued_at: wire.issued_at,
            issuer: wire.issuer,
            subject: wire.subject,
            not_before: wire.not_before,
            metadata,
            wascap_revision: wire.wascap_revision,
        };
        Ok(Token {
            jwt: jwt.to_string(),
            header,
            claims,
            signature,
            signed_len: header_text.len() + 1 + claims_text.len(),
        })
    }

    /// The token text exactly as found.
    pub fn as_str(&self) -> &str {
        &self.jwt
    }

    /// The decoded header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The decoded claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// True when the signature is valid for `signer` over `header.claims` as received.
    pub fn is_signed_by(&self, signer: &KeyPair) -> bool {
        let signed = self
            .jwt
            .as_bytes()
            .get(..self.signed_len)
            .unwrap_or_default();
        signer.verify(signed, &self.signature).is_ok()
    }
}

/// Encodes and signs `claims`: `header.claims.signature`, each unpadded base64url.
pub(crate) fn encode(claims: &Claims, signer: &KeyPair) -> Result<String, String> {
    let header = encode_json(&Header::wascap())?;
    let claims = encode_json(claims)?;
    let signed = format!("{header}.{claims}");
    let signature = signer.sign(signed.as_bytes()).map_err(|e| e.to_string())?;
    Ok(format!("{signed}.{}", BASE64URL_NOPAD.encode(&signature)))
}

fn encode_json<T: Serialize>(value: &T) -> Result<String, String> {
    let json = serde_json::to_string(value).map_err(|e| e.to_string())?;
    Ok(BASE64URL_NOPAD.encode(json.as_bytes()))
}

fn decode_base64(text: &str, segment: Segment) -> Result<Vec<u8>, TokenError> {
    BASE64URL_NOPAD
        .decode(text.as_bytes())
        .map_err(|_| TokenError::Base64 { segment })
}

fn decode_json<T: DeserializeOwned>(text: &str, segment: Segment) -> Result<T, TokenError> {
    let bytes = decode_base64(text, segment)?;
    serde_json::from_slice(&bytes).map_err(|e| TokenError::Json {
        segment,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyKind, generate};

    fn sample_claims(issuer: &KeyPair) -> Claims {
        Claims {
            expires: None,
            id: "5uHKqDv3gSBAky15mvwuhp".to_string(),
            issued_at: 1_590_205_332,
            issuer: issuer.public_key(),
            subject: generate(KeyKind::Module).public_key(),
            not_before: None,
            metadata: ActorMetadata {
                name: Some("Secure Actor".to_string()),
                module_hash: "AB".repeat(32),
                tags: Some(vec![]),
                caps: Some(vec!["wasmcloud:keyvalue".to_string()]),
                rev: None,
                ver: Some("1.0.0".to_string()),
                call_alias: None,
                provider: false,
            },
            wascap_revision: Some(WASCAP_REVISION),
        }
    }

    #[test]
    fn header_and_field_order_match_wascap() {
        let account = generate(KeyKind::Account);
        let jwt = encode(&sample_claims(&account), &account).unwrap();
        let mut parts = jwt.split('.');
        assert_eq!(
            parts.next(),
            Some("eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0")
        );
        let claims = BASE64URL_NOPAD
            .decode(parts.next().unwrap().as_bytes())
            .unwrap();
        let claims = String::from_utf8(claims).unwrap();
        assert!(claims.starts_with(r#"{"jti":"5uHKqDv3gSBAky15mvwuhp","iat":1590205332,"iss":"A"#));
        assert!(claims.ends_with(
            r#""wascap":{"name":"Secure Actor","hash":"ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB","tags":[],"caps":["wasmcloud:keyvalue"],"ver":"1.0.0","prov":false},"wascap_revision":3}"#
        ));
        assert_eq!(parts.next().unwrap().len(), 86);
    }

    #[test]
    fn parse_round_trips_and_checks_the_signer() {
        let account = generate(KeyKind::Account);
        let claims = sample_claims(&account);
        let jwt = encode(&claims, &account).unwrap();
        let token = Token::parse(jwt.as_bytes()).unwrap();
        assert_eq!(token.claims(), &claims);
        assert_eq!(token.as_str(), jwt);
        assert!(token.is_signed_by(&account));
        assert!(!token.is_signed_by(&generate(KeyKind::Account)));
    }

    #[test]
    fn structural_errors_are_specific() {
        let account = generate(KeyKind::Account);
        let jwt = encode(&sample_claims(&account), &account).unwrap();
        let (signed, _) = jwt.rsplit_once('.').unwrap();
        let (header, _) = signed.split_once('.').unwrap();
        let json = |v: &str| BASE64URL_NOPAD.encode(v.as_bytes());
        let sig = BASE64URL_NOPAD.encode(&[0u8; 64]);
        let cases: Vec<(Vec<u8>, TokenError)> = vec![
            (vec![0xff, 0xfe], TokenError::NotUtf8),
            (b"a.b".to_vec(), TokenError::SegmentCount { found: 2 }),
            (
                b"!.b.c".to_vec(),
                TokenError::Base64 {
                    segment: Segment::Header,
                },
            ),
            (
                format!(
                    "{}.{}.{sig}",
                    json(r#"{"typ":"JWT","alg":"HS256"}"#),
                    json("{}")
                )
                .into_bytes(),
                TokenError::UnsupportedHeader {
                    typ: "JWT".to_string(),
                    alg: "HS256".to_string(),
                },
            ),
            (
                format!(
                    "{header}.{}.{}",
                    json(r#"{"iss":"A","sub":"M"}"#),
                    json("x")
                )
                .into_bytes(),
                TokenError::SignatureLength { len: 1 },
            ),
            (
                format!("{header}.{}.{sig}", json(r#"{"iss":"A","sub":"M"}"#)).into_bytes(),
                TokenError::MissingMetadata,
            ),
            (
                vec![b'a'; MAX_TOKEN_BYTES + 1],
                TokenError::TooLarge {
                    len: MAX_TOKEN_BYTES + 1,
                    max: MAX_TOKEN_BYTES,
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(Token::parse(&input), Err(expected));
        }
        let not_json = format!("{header}.{}.{sig}", json("[1,2"));
        assert!(matches!(
            Token::parse(not_json.as_bytes()),
            Err(TokenError::Json {
                segment: Segment::Claims,
                ..
            })
        ));
    }
}
