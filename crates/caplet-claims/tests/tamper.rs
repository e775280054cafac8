#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! A signed module that was changed in any way is refused, each cause with its own error.
//!
//! The host's deny-by-default promise rests on `verify`: a flipped code byte, an edited claim,
//! a stale or premature token, an untrusted issuer, a second or broken token section, or a cut
//! file must each be refused, and must say which of these it was, so the operator knows whether
//! they face an attacker, a clock problem or a build problem. None of it may panic.

mod common;

use caplet_claims::{
    ActorSpec, ClaimsError, KeyClaim, KeyKind, Policy, Segment, TokenError, TokenSection,
    WasmError, embed_token, generate, verify,
};
use common::{Signer, append_custom, module, now};
use data_encoding::BASE64URL_NOPAD;

fn signed(spec: &ActorSpec) -> (Signer, Vec<u8>) {
    let signer = Signer::new();
    let bytes = signer.sign(&module(), spec).module;
    (signer, bytes)
}

fn any() -> Policy {
    Policy::default()
}

#[test]
fn untouched_module_verifies() {
    let (signer, bytes) = signed(&ActorSpec::new("ok"));
    let claims = verify(&bytes, &any()).unwrap();
    assert_eq!(claims.issuer(), signer.account.public_key());
}

#[test]
fn one_code_byte_flipped_is_a_hash_mismatch() {
    let (_, mut bytes) = signed(&ActorSpec::new("ok"));
    // `i32.const 42; end` in the function body.
    let at = bytes
        .windows(3)
        .position(|w| w == [0x41, 42, 0x0b])
        .unwrap();
    bytes[at + 1] = 43;
    let err = verify(&bytes, &any()).unwrap_err();
    let ClaimsError::HashMismatch { claimed, actual } = &err else {
        panic!("expected HashMismatch, got {err:?}");
    };
    assert_ne!(claimed, actual);
}

#[test]
fn an_edited_claim_is_an_invalid_signature() {
    let (signer, bytes) = signed(&ActorSpec::new("ok"));
    let jwt = caplet_claims::inspect(&bytes)
        .unwrap()
        .token()
        .as_str()
        .to_string();
    let mut parts: Vec<String> = jwt.split('.').map(str::to_string).collect();
    let claims = BASE64URL_NOPAD.decode(parts[1].as_bytes()).unwrap();
    let edited = String::from_utf8(claims).unwrap().replace(
        "\"prov\":false",
        "\"caps\":[\"wasmcloud:httpclient\"],\"prov\":false",
    );
    parts[1] = BASE64URL_NOPAD.encode(edited.as_bytes());
    let forged = embed_token(&bytes, &parts.join(".")).unwrap();
    assert_eq!(
        verify(&forged, &any()),
        Err(ClaimsError::InvalidSignature {
            issuer: signer.account.public_key()
        })
    );
}

#[test]
fn a_token_signed_by_another_account_is_an_invalid_signature() {
    let signer = Signer::new();
    let impostor = generate(KeyKind::Account);
    let claims = wascap::jwt::Claims::<wascap::jwt::Component>::new(
        "x".to_string(),
        signer.account.public_key(),
        signer.module_key.public_key(),
        None,
        false,
        None,
        None,
        None,
    );
    let bytes = wascap::wasm::embed_claims(&module(), &claims, &impostor).unwrap();
    assert!(matches!(
        verify(&bytes, &any()),
        Err(ClaimsError::InvalidSignature { .. })
    ));
}

#[test]
fn keys_in_the_wrong_role_are_refused() {
    let signer = Signer::new();
    let operator = generate(KeyKind::Operator);
    let by_operator = wascap::jwt::Claims::<wascap::jwt::Component>::new(
        "x".to_string(),
        operator.public_key(),
        signer.module_key.public_key(),
        None,
        false,
        None,
        None,
        None,
    );
    let bytes = wascap::wasm::embed_claims(&module(), &by_operator, &operator).unwrap();
    assert!(matches!(
        verify(&bytes, &any()),
        Err(ClaimsError::InvalidKeyClaim {
            claim: KeyClaim::Issuer,
            ..
        })
    ));

    let no_module_key = wascap::jwt::Claims::<wascap::jwt::Component>::new(
        "x".to_string(),
        signer.account.public_key(),
        "test.wasm".to_string(),
        None,
        false,
        None,
        None,
        None,
    );
    let bytes = wascap::wasm::embed_claims(&module(), &no_module_key, &signer.account).unwrap();
    assert!(matches!(
        verify(&bytes, &any()),
        Err(ClaimsError::InvalidKeyClaim {
            claim: KeyClaim::Subject,
            ..
        })
    ));
}

#[test]
fn an_expired_token_is_refused_from_the_second_after_exp() {
    let exp = now() - 60;
    let mut spec = ActorSpec::new("old");
    spec.expires = Some(exp);
    let (_, bytes) = signed(&spec);
    assert!(matches!(
        verify(&bytes, &any()),
        Err(ClaimsError::Expired { expires_at, .. }) if expires_at == exp
    ));
    assert!(verify(&bytes, &any().at(exp)).is_ok());
    assert_eq!(
        verify(&bytes, &any().at(exp + 1)),
        Err(ClaimsError::Expired {
            expires_at: exp,
            now: exp + 1
        })
    );
}

#[test]
fn a_token_not_yet_valid_is_refused_until_nbf() {
    let nbf = now() + 3600;
    let mut spec = ActorSpec::new("early");
    spec.not_before = Some(nbf);
    let (_, bytes) = signed(&spec);
    assert!(matches!(
        verify(&bytes, &any()),
        Err(ClaimsError::NotYetValid { not_before, .. }) if not_before == nbf
    ));
    assert!(verify(&bytes, &any().at(nbf)).is_ok());
    assert_eq!(
        verify(&bytes, &any().at(nbf - 1)),
        Err(ClaimsError::NotYetValid {
            not_before: nbf,
            now: nbf - 1
        })
    );
}

#[test]
fn an_issuer_outside_the_allow_list_is_refused() {
    let (signer, bytes) = signed(&ActorSpec::new("ok"));
    let stranger = generate(KeyKind::Account).public_key();
    assert_eq!(
        verify(&bytes, &any().allow_issuers([stranger.clone()])),
        Err(ClaimsError::IssuerNotAllowed {
            issuer: signer.account.public_key(),
            allowed: 1
        })
    );
    assert!(
        verify(
            &bytes,
            &any().allow_issuers([stranger, signer.account.public_key()])
        )
        .is_ok()
    );
}

#[test]
fn two_token_sections_are_refused() {
    let (_, bytes) = signed(&ActorSpec::new("ok"));
    let jwt = caplet_claims::inspect(&bytes)
        .unwrap()
        .token()
        .as_str()
        .to_string();
    for name in ["jwt", "wasmcloud_jwt"] {
        let mut doubled = bytes.clone();
        append_custom(&mut doubled, name, jwt.as_bytes());
        assert_eq!(
            verify(&doubled, &any()),
            Err(ClaimsError::MultipleTokens { count: 2 })
        );
    }
}

#[test]
fn an_empty_token_section_is_refused() {
    let mut bytes = module();
    append_custom(&mut bytes, "wasmcloud_jwt", b"");
    assert_eq!(
        verify(&bytes, &any()),
        Err(ClaimsError::EmptyToken {
            section: TokenSection::WasmcloudJwt
        })
    );
}

#[test]
fn garbage_token_sections_are_malformed_tokens() {
    let b64 = |s: &str| BASE64URL_NOPAD.encode(s.as_bytes());
    let none_alg = format!("{}.{}.", b64(r#"{"typ":"jwt","alg":"none"}"#), b64("{}"));
    let cases: Vec<(Vec<u8>, TokenError)> = vec![
        (b"\xff\xfe\x00garbage".to_vec(), TokenError::NotUtf8),
        (
            b"hello world".to_vec(),
            TokenError::SegmentCount { found: 1 },
        ),
        (
            b"not base64!.x.y".to_vec(),
            TokenError::Base64 {
                segment: Segment::Header,
            },
        ),
        (
            none_alg.into_bytes(),
            TokenError::UnsupportedHeader {
                typ: "jwt".to_string(),
                alg: "none".to_string(),
            },
        ),
    ];
    for (garbage, expected) in cases {
        let mut bytes = module();
        append_custom(&mut bytes, "jwt", &garbage);
        assert_eq!(
            verify(&bytes, &any()),
            Err(ClaimsError::MalformedToken {
                section: TokenSection::LegacyJwt,
                error: expected
            }),
            "{garbage:?}"
        );
    }
    // `{}` as the header: a JSON error naming the header segment.
    let mut bytes = module();
    append_custom(&mut bytes, "jwt", b"e30.e30.e30");
    assert!(matches!(
        verify(&bytes, &any()),
        Err(ClaimsError::MalformedToken {
            error: TokenError::Json {
                segment: Segment::Header,
                ..
            },
            ..
        })
    ));
}

#[test]
fn a_truncated_module_is_malformed() {
    let (_, bytes) = signed(&ActorSpec::new("ok"));
    let cut = &bytes[..bytes.len() - 10];
    assert!(matches!(
        verify(cut, &any()),
        Err(ClaimsError::MalformedModule(WasmError::Truncated { .. }))
    ));
    assert_eq!(
        verify(&bytes[..3], &any()),
        Err(ClaimsError::MalformedModule(WasmError::NotWasm))
    );
}

#[test]
fn an_unsigned_module_is_its_own_error() {
    assert_eq!(verify(&module(), &any()), Err(ClaimsError::Unsigned));
}

#[test]
fn every_prefix_and_every_single_byte_change_is_refused_without_panic() {
    let (_, bytes) = signed(&ActorSpec::new("ok"));
    for len in 0..bytes.len() {
        // A prefix that ends exactly at a section boundary before the token is unsigned;
        // every other prefix is malformed. None verifies.
        assert!(
            verify(&bytes[..len], &any()).is_err(),
            "prefix of {len} bytes"
        );
    }
    for at in 0..bytes.len() {
        for mask in [0x01u8, 0x80] {
            let mut changed = bytes.clone();
            changed[at] ^= mask;
            assert!(
                verify(&changed, &any()).is_err(),
                "byte {at} ^ {mask:#x} was accepted"
            );
        }
    }
}
