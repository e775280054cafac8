#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Interop with the public `wascap` crate (0.16), both ways.
//!
//! Caplet promises that actors signed with wash/wascap run under Caplet and that modules signed
//! by `caplet claims sign` load in wasmCloud tooling. These tests sign with one implementation and
//! read with the other, comparing issuer, subject, name, tags and the rest field by field, and
//! cover the legacy `jwt` section and padded section sizes, where the module hash rules differ.

mod common;

use caplet_claims::{ActorSpec, ClaimsError, Policy, TokenSection, inspect, module_hash, verify};
use common::{Signer, append_custom, module, now, pad_first_section_size};
use wascap::jwt::{ClaimsBuilder, Component, validate_token};
use wascap::wasm::{embed_claims, extract_claims, sign_buffer_with_claims};

#[test]
fn wascap_signed_module_verifies_in_caplet_with_all_fields() {
    let signer = Signer::new();
    let signed = sign_buffer_with_claims(
        "Echo Actor".to_string(),
        module(),
        &signer.module_key,
        &signer.account,
        Some(30),
        None,
        vec!["web".to_string(), "demo".to_string()],
        false,
        Some(7),
        Some("1.2.3".to_string()),
        Some("Echo-Service".to_string()),
    )
    .unwrap();

    let policy = Policy::default().allow_issuers([signer.account.public_key()]);
    let claims = verify(&signed, &policy).unwrap();
    assert_eq!(claims.issuer(), signer.account.public_key());
    assert_eq!(claims.subject(), signer.module_key.public_key());
    assert_eq!(claims.name(), Some("Echo Actor"));
    assert_eq!(claims.tags(), ["web", "demo"]);
    assert_eq!(claims.rev(), Some(7));
    assert_eq!(claims.ver(), Some("1.2.3"));
    assert_eq!(claims.call_alias(), Some("echo_service"));
    assert_eq!(claims.wascap_revision(), Some(3));
    assert_eq!(claims.section(), TokenSection::WasmcloudJwt);
    assert!(claims.caps().is_empty(), "wascap 0.16 writes no caps");
    let expires = claims.expires().unwrap();
    assert!(expires > now() + 29 * 86_400 && expires <= now() + 30 * 86_400);
    assert_eq!(claims.module_hash(), module_hash(&module()).unwrap());
}

#[test]
fn caplet_signed_module_is_read_by_wascap_with_the_same_claims() {
    let signer = Signer::new();
    let mut spec = ActorSpec::new("Key Value Counter");
    spec.tags = vec!["counter".to_string(), "kv".to_string()];
    spec.caps = vec![caplet_claims::caps::KEY_VALUE.to_string()];
    spec.rev = Some(2);
    spec.ver = Some("0.2.0".to_string());
    spec.call_alias = Some("counter".to_string());
    spec.expires = Some(now() + 3600);
    let signed = signer.sign(&module(), &spec);

    let token = extract_claims(&signed.module)
        .expect("wascap accepts Caplet's hash")
        .expect("wascap finds Caplet's section");
    assert_eq!(token.jwt, signed.token.as_str());
    assert_eq!(token.claims.issuer, signer.account.public_key());
    assert_eq!(token.claims.subject, signer.module_key.public_key());
    let meta = token.claims.metadata.as_ref().unwrap();
    assert_eq!(meta.name.as_deref(), Some("Key Value Counter"));
    assert_eq!(
        meta.tags,
        Some(vec!["counter".to_string(), "kv".to_string()])
    );
    assert_eq!(meta.rev, Some(2));
    assert_eq!(meta.ver.as_deref(), Some("0.2.0"));
    assert_eq!(meta.call_alias.as_deref(), Some("counter"));
    assert_eq!(meta.module_hash, module_hash(&module()).unwrap());
    assert_eq!(token.claims.expires, spec.expires);

    let validation = validate_token::<Component>(&token.jwt).unwrap();
    assert!(validation.signature_valid);
    assert!(!validation.expired);
    assert!(!validation.cannot_use_yet);
}

#[test]
fn wascap_token_in_the_legacy_jwt_section_verifies() {
    let signer = Signer::new();
    let by_wascap = sign_buffer_with_claims(
        "Legacy".to_string(),
        module(),
        &signer.module_key,
        &signer.account,
        None,
        None,
        vec![],
        false,
        None,
        None,
        None,
    )
    .unwrap();
    let jwt = inspect(&by_wascap).unwrap().token().as_str().to_string();
    let mut legacy = module();
    append_custom(&mut legacy, "jwt", jwt.as_bytes());

    let claims = verify(&legacy, &Policy::default()).unwrap();
    assert_eq!(claims.section(), TokenSection::LegacyJwt);
    assert_eq!(claims.name(), Some("Legacy"));
}

#[test]
fn re_signing_replaces_the_token_in_either_direction() {
    let signer = Signer::new();
    let by_wascap = sign_buffer_with_claims(
        "First".to_string(),
        module(),
        &signer.module_key,
        &signer.account,
        None,
        None,
        vec![],
        false,
        None,
        None,
        None,
    )
    .unwrap();
    let by_caplet = signer.sign(&by_wascap, &ActorSpec::new("Second"));
    assert_eq!(
        caplet_claims::scan(&by_caplet.module).unwrap().token_count,
        1
    );
    assert_eq!(
        verify(&by_caplet.module, &Policy::default())
            .unwrap()
            .name(),
        Some("Second")
    );

    let claims = wascap::jwt::Claims::<Component>::new(
        "Third".to_string(),
        signer.account.public_key(),
        signer.module_key.public_key(),
        None,
        false,
        None,
        None,
        None,
    );
    let by_wascap_again = embed_claims(&by_caplet.module, &claims, &signer.account).unwrap();
    assert_eq!(
        caplet_claims::scan(&by_wascap_again).unwrap().token_count,
        1
    );
    assert_eq!(
        verify(&by_wascap_again, &Policy::default()).unwrap().name(),
        Some("Third")
    );
}

#[test]
fn padded_section_sizes_hash_the_same_in_both_implementations() {
    let padded = pad_first_section_size(&module());
    assert_ne!(padded, module());
    assert_eq!(
        module_hash(&padded).unwrap(),
        module_hash(&module()).unwrap()
    );

    let signer = Signer::new();
    let by_wascap = sign_buffer_with_claims(
        "Padded".to_string(),
        &padded,
        &signer.module_key,
        &signer.account,
        None,
        None,
        vec![],
        false,
        None,
        None,
        None,
    )
    .unwrap();
    verify(&by_wascap, &Policy::default()).unwrap();

    // Signing re-encodes sizes minimally, as wascap does; wascap reads the result.
    let by_caplet = signer.sign(&padded, &ActorSpec::new("Padded"));
    assert_eq!(
        caplet_claims::strip_tokens(&by_caplet.module).unwrap(),
        module()
    );
    assert!(extract_claims(&by_caplet.module).unwrap().is_some());
    verify(&by_caplet.module, &Policy::default()).unwrap();
}

#[test]
fn legacy_token_hashed_over_the_verbatim_module_verifies() {
    // Tokens from wascap before 0.10 (no `wascap_revision`) hashed the module with the token cut
    // out byte for byte, padded sizes included.
    let signer = Signer::new();
    let padded = pad_first_section_size(&module());
    let verbatim = caplet_claims::verbatim_hash(&padded).unwrap();
    assert_ne!(verbatim, module_hash(&padded).unwrap());
    let claims = ClaimsBuilder::<Component>::new()
        .issuer(&signer.account.public_key())
        .subject(&signer.module_key.public_key())
        .with_metadata(Component {
            name: Some("Old".to_string()),
            module_hash: verbatim,
            ..Component::default()
        })
        .build();
    let jwt = claims.encode(&signer.account).unwrap();
    let mut legacy = padded.clone();
    append_custom(&mut legacy, "jwt", jwt.as_bytes());

    let verified = verify(&legacy, &Policy::default()).unwrap();
    assert_eq!(verified.wascap_revision(), None);
    assert_eq!(verified.name(), Some("Old"));

    // ...but a wrong hash is refused even without a revision, unlike wascap, which skips it.
    let claims = ClaimsBuilder::<Component>::new()
        .issuer(&signer.account.public_key())
        .subject(&signer.module_key.public_key())
        .with_metadata(Component {
            module_hash: "00".repeat(32),
            ..Component::default()
        })
        .build();
    let mut wrong = padded;
    append_custom(
        &mut wrong,
        "jwt",
        claims.encode(&signer.account).unwrap().as_bytes(),
    );
    assert!(extract_claims(&wrong).unwrap().is_some());
    assert!(matches!(
        verify(&wrong, &Policy::default()),
        Err(ClaimsError::HashMismatch { .. })
    ));
}
