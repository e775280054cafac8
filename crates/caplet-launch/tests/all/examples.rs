//! The shipped examples are what a new user runs first (`caplet up examples/kvcounter`): their
//! committed, signed modules must pass every pre-flight check against their own manifests —
//! signature, module hash, trusted issuer, and a capability for every link.

use std::path::PathBuf;

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

#[test]
fn shipped_examples_pass_preflight_against_their_manifests() {
    for name in ["kvcounter", "echo", "iot"] {
        let manifest = caplet_manifest::load(&example(name))
            .unwrap_or_else(|errors| panic!("examples/{name}: {errors}"));
        assert!(
            !manifest.host.allow_unsigned,
            "examples/{name} must not allow unsigned"
        );
        assert!(!manifest.host.issuers.is_empty());
        let prepared = caplet_launch::preflight(&manifest)
            .unwrap_or_else(|errors| panic!("examples/{name}: {errors}"));
        assert_eq!(prepared.len(), manifest.actors.len());
        for actor in prepared {
            assert!(actor.capabilities.is_some(), "{} is signed", actor.name);
        }
    }
}
