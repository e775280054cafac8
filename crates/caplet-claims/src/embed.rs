//! Where a token lives in a module, and the module hash that the token signs.
//!
//! The token is the payload of a top-level custom section named `wasmcloud_jwt` (written) or
//! `jwt` (read, as written by wascap before 0.9). The module hash is
//! `HEXUPPER(SHA-256(module without those sections))`, with section sizes re-encoded minimally,
//! as wascap 0.10+ computes it, so modules signed by either tool verify in both.

use std::fmt;

use data_encoding::HEXUPPER;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::section::{self, CUSTOM_SECTION_ID, Section, WasmError};

/// The custom section name this crate writes, and wascap 0.9+ writes.
pub const SECTION_WASMCLOUD_JWT: &str = "wasmcloud_jwt";
/// The custom section name wascap wrote before 0.9; read, never written.
pub const SECTION_LEGACY_JWT: &str = "jwt";

/// Which of the two token sections a token was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSection {
    /// `wasmcloud_jwt`, written by Caplet and wascap 0.9+.
    WasmcloudJwt,
    /// `jwt`, written by wascap before 0.9 (waSCC, wasmCloud 0.18 and earlier).
    #[serde(rename = "jwt")]
    LegacyJwt,
}

impl TokenSection {
    /// The custom section name.
    pub fn name(self) -> &'static str {
        match self {
            TokenSection::WasmcloudJwt => SECTION_WASMCLOUD_JWT,
            TokenSection::LegacyJwt => SECTION_LEGACY_JWT,
        }
    }

    fn from_name(name: &[u8]) -> Option<Self> {
        if name == SECTION_WASMCLOUD_JWT.as_bytes() {
            Some(TokenSection::WasmcloudJwt)
        } else if name == SECTION_LEGACY_JWT.as_bytes() {
            Some(TokenSection::LegacyJwt)
        } else {
            None
        }
    }
}

impl fmt::Display for TokenSection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The result of one pass over a module: its token sections and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleScan<'a> {
    /// The first token section found, with its payload (the token bytes).
    pub first_token: Option<(TokenSection, &'a [u8])>,
    /// How many token sections the module has in all.
    pub token_count: usize,
    /// `HEXUPPER(SHA-256(...))` of the module without token sections, sizes re-encoded minimally.
    pub hash: String,
    /// True when some kept section had a padded size field, so cutting the token sections out
    /// verbatim gives different bytes from the minimal re-encoding; see [`verbatim_hash`].
    pub has_padded_sizes: bool,
}

/// Walks `module` once: finds the token sections and computes the module hash.
pub fn scan(module: &[u8]) -> Result<ModuleScan<'_>, WasmError> {
    let (header, sections) = section::sections(module)?;
    let mut hasher = Sha256::new();
    hasher.update(header);
    let mut first_token = None;
    let mut token_count = 0usize;
    let mut has_padded_sizes = false;
    for section in sections {
        let section = section?;
        if let Some(kind) = token_section(&section)? {
            token_count = token_count.saturating_add(1);
            if first_token.is_none() {
                let data = section.as_custom()?.map(|c| c.data).unwrap_or_default();
                first_token = Some((kind, data));
            }
            continue;
        }
        has_padded_sizes |= section.has_padded_size();
        hash_minimal(&mut hasher, &section);
    }
    Ok(ModuleScan {
        first_token,
        token_count,
        hash: HEXUPPER.encode(&hasher.finalize()),
        has_padded_sizes,
    })
}

/// The module hash that a token for `module` must carry.
pub fn module_hash(module: &[u8]) -> Result<String, WasmError> {
    scan(module).map(|scan| scan.hash)
}

/// The hash of `module` with its token sections cut out byte for byte, keeping padded size
/// fields as they are. Tokens written by wascap before 0.10 hashed these bytes; for modules
/// without padded sizes it equals [`module_hash`].
pub fn verbatim_hash(module: &[u8]) -> Result<String, WasmError> {
    let (header, sections) = section::sections(module)?;
    let mut hasher = Sha256::new();
    hasher.update(header);
    for section in sections {
        let section = section?;
        if token_section(&section)?.is_none() {
            hasher.update(section.raw);
        }
    }
    Ok(HEXUPPER.encode(&hasher.finalize()))
}

/// `module` without any token section, section sizes re-encoded minimally: the bytes the
/// module hash covers.
pub fn strip_tokens(module: &[u8]) -> Result<Vec<u8>, WasmError> {
    let (header, sections) = section::sections(module)?;
    let mut out = Vec::with_capacity(module.len());
    out.extend_from_slice(header);
    for section in sections {
        let section = section?;
        if token_section(&section)?.is_none() {
            write_section(&mut out, section.id, &[section.payload]);
        }
    }
    Ok(out)
}

/// Removes every token section from `module` and appends one `wasmcloud_jwt` section holding
/// `token`. The caller must have computed the token's hash over [`strip_tokens`] of the same
/// module, which this function leaves unchanged.
pub fn embed_token(module: &[u8], token: &str) -> Result<Vec<u8>, WasmError> {
    let mut out = strip_tokens(module)?;
    let mut name = Vec::with_capacity(SECTION_WASMCLOUD_JWT.len() + 1);
    write_len(&mut name, SECTION_WASMCLOUD_JWT.len());
    name.extend_from_slice(SECTION_WASMCLOUD_JWT.as_bytes());
    write_section(&mut out, CUSTOM_SECTION_ID, &[&name, token.as_bytes()]);
    Ok(out)
}

/// Which token section `section` is, if any.
fn token_section(section: &Section<'_>) -> Result<Option<TokenSection>, WasmError> {
    Ok(section
        .as_custom()?
        .and_then(|custom| TokenSection::from_name(custom.name)))
}

fn hash_minimal(hasher: &mut Sha256, section: &Section<'_>) {
    let mut head = Vec::with_capacity(6);
    head.push(section.id);
    write_len(&mut head, section.payload.len());
    hasher.update(&head);
    hasher.update(section.payload);
}

fn write_section(out: &mut Vec<u8>, id: u8, parts: &[&[u8]]) {
    out.push(id);
    write_len(out, parts.iter().map(|p| p.len()).sum());
    for part in parts {
        out.extend_from_slice(part);
    }
}

/// Lengths here come from inputs of at most [`section::MAX_MODULE_BYTES`] plus a token, so
/// they fit a `u32`; saturate rather than wrap if that ever stops being true.
fn write_len(out: &mut Vec<u8>, len: usize) {
    section::write_leb_u32(out, u32::try_from(len).unwrap_or(u32::MAX));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(name: &str, data: &[u8]) -> Vec<u8> {
        let mut payload = vec![name.len() as u8];
        payload.extend_from_slice(name.as_bytes());
        payload.extend_from_slice(data);
        let mut out = vec![0, payload.len() as u8];
        out.extend_from_slice(&payload);
        out
    }

    fn module(sections: &[Vec<u8>]) -> Vec<u8> {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        for s in sections {
            bytes.extend_from_slice(s);
        }
        bytes
    }

    #[test]
    fn strip_removes_both_names_and_keeps_other_custom_sections() {
        let type_section = vec![1, 1, 0];
        let keep = custom("name", b"x");
        let bytes = module(&[
            type_section.clone(),
            custom("jwt", b"a.b.c"),
            keep.clone(),
            custom("wasmcloud_jwt", b"d.e.f"),
        ]);
        assert_eq!(strip_tokens(&bytes).unwrap(), module(&[type_section, keep]));
        let scan = scan(&bytes).unwrap();
        assert_eq!(scan.token_count, 2);
        assert_eq!(
            scan.first_token,
            Some((TokenSection::LegacyJwt, b"a.b.c".as_slice()))
        );
    }

    #[test]
    fn serializes_as_the_section_name() {
        for section in [TokenSection::WasmcloudJwt, TokenSection::LegacyJwt] {
            let json = serde_json::to_string(&section).unwrap();
            assert_eq!(json, format!("\"{}\"", section.name()));
        }
    }

    #[test]
    fn embed_replaces_rather_than_appends() {
        let bytes = module(&[vec![1, 1, 0]]);
        let once = embed_token(&bytes, "one").unwrap();
        let twice = embed_token(&once, "two").unwrap();
        let scan = scan(&twice).unwrap();
        assert_eq!(scan.token_count, 1);
        assert_eq!(
            scan.first_token,
            Some((TokenSection::WasmcloudJwt, b"two".as_slice()))
        );
        assert_eq!(scan.hash, module_hash(&bytes).unwrap());
        assert!(twice.ends_with(b"\x0dwasmcloud_jwttwo"));
    }

    #[test]
    fn hash_is_over_minimal_sizes_and_verbatim_hash_keeps_padding() {
        let padded = module(&[vec![1, 0x81, 0x80, 0x80, 0x80, 0x00, 7]]);
        let minimal = module(&[vec![1, 1, 7]]);
        assert_eq!(
            module_hash(&padded).unwrap(),
            module_hash(&minimal).unwrap()
        );
        assert_ne!(
            verbatim_hash(&padded).unwrap(),
            module_hash(&padded).unwrap()
        );
        assert_eq!(
            verbatim_hash(&minimal).unwrap(),
            module_hash(&minimal).unwrap()
        );
        assert!(scan(&padded).unwrap().has_padded_sizes);
        assert!(!scan(&minimal).unwrap().has_padded_sizes);
    }

    #[test]
    fn hash_matches_an_independent_sha256() {
        // sha256 of the bare 8-byte header, computed with `sha256sum`.
        assert_eq!(
            module_hash(&module(&[custom("jwt", b"t")])).unwrap(),
            "93A44BBB96C751218E4C00D479E4C14358122A389ACCA16205B1E4D0DC5F9476"
        );
    }
}
