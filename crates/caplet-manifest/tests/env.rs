#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! `${VAR}` substitution through the whole manifest, with the environment passed in.

mod common;

use std::path::Path;

use caplet_manifest::parse;
use common::{Fixture, MINIMAL};

fn link_with(value: &str) -> String {
    format!(
        "{MINIMAL}\n[[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:httpserver\"\n[link.values]\naddress = \"{value}\"\n"
    )
}

#[test]
fn set_variables_are_substituted() {
    let fx = Fixture::new();
    let m = fx.parse(&link_with("0.0.0.0:${ADMIN_PORT}")).unwrap();
    assert_eq!(m.links[0].values["address"], "0.0.0.0:9090");
}

#[test]
fn defaults_apply_when_unset_or_empty() {
    let fx = Fixture::new();
    let m = fx.parse(&link_with("${LISTEN:-127.0.0.1:8080}")).unwrap();
    assert_eq!(m.links[0].values["address"], "127.0.0.1:8080");
    let m = fx.parse(&link_with("${EMPTY:-fallback}")).unwrap();
    assert_eq!(m.links[0].values["address"], "fallback");
    let m = fx.parse(&link_with("${ADMIN_PORT:-1}")).unwrap();
    assert_eq!(m.links[0].values["address"], "9090");
}

#[test]
fn escapes_are_literal() {
    let fx = Fixture::new();
    let m = fx.parse(&link_with("$${ADMIN_PORT} costs $5")).unwrap();
    assert_eq!(m.links[0].values["address"], "${ADMIN_PORT} costs $5");
}

#[test]
fn missing_variables_are_errors_at_their_line() {
    let fx = Fixture::new();
    let errors = fx.errors(&link_with("${HOST}:${PORT}"));
    assert_eq!(errors.len(), 2, "{errors:#?}");
    for (error, name) in errors.iter().zip(["HOST", "PORT"]) {
        assert_eq!((error.line, error.column), (12, 11));
        assert_eq!(
            error.message,
            format!("environment variable `{name}` is not set (in `address` in [link.values])")
        );
        assert!(
            error
                .hint
                .as_deref()
                .unwrap()
                .contains(&format!("${{{name}:-value}}"))
        );
    }

    let e = fx.error(&link_with("${HOST"));
    assert!(e.message.contains("without a closing"), "{e}");
    let e = fx.error(&link_with("${9LIVES}"));
    assert!(
        e.message
            .contains("`9LIVES` is not a valid environment variable name"),
        "{e}"
    );
}

#[test]
fn every_string_is_substituted() {
    let fx = Fixture::new();
    let text = r#"[host]
issuers = ["${ISSUER_KEY}"]
control_api = "127.0.0.1:${API_PORT:-7171}"
control_token_file = "${TOKEN_DIR:-secrets}/token"

[[actor]]
name = "${ACTOR:-kv}"
path = "${MODULE}"

[[provider]]
contract = "${KV_CONTRACT}"
implementation = "${KV_IMPL}"
link_name = "${LINK:-default}"

[provider.config]
url = "redis://${REDIS_HOST}/"
"#;
    let issuer = fx.issuer.clone();
    let env = move |name: &str| -> Option<String> {
        Some(
            match name {
                "ISSUER_KEY" => issuer.as_str(),
                "MODULE" => "build/echo.wasm",
                "KV_CONTRACT" => "wascc:keyvalue",
                "KV_IMPL" => "redis",
                "REDIS_HOST" => "db:6379",
                _ => return None,
            }
            .to_string(),
        )
    };
    let m = parse(text, Path::new("caplet.toml"), fx.base(), &env).unwrap();
    assert_eq!(m.host.issuers, vec![fx.issuer.clone()]);
    assert_eq!(m.host.control_api, Some("127.0.0.1:7171".parse().unwrap()));
    assert_eq!(
        m.host.control_token_file,
        Some(fx.base().join("secrets/token"))
    );
    assert_eq!(m.actors[0].name, "kv");
    assert_eq!(m.actors[0].path, fx.base().join("build/echo.wasm"));
    assert_eq!(m.providers[0].contract, "wasmcloud:keyvalue");
    assert_eq!(m.providers[0].implementation, "redis");
    assert_eq!(m.providers[0].config["url"], "redis://db:6379/");

    // Without the environment, each reference fails at its own line.
    let errors = parse(text, Path::new("caplet.toml"), fx.base(), &|_| None).unwrap_err();
    let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 8, 11, 12, 16], "{errors}");
}

#[test]
fn keys_and_non_strings_are_not_substituted() {
    let fx = Fixture::new();
    let m = fx
        .parse(&format!(
            "{MINIMAL}\n[[provider]]\ncontract = \"wasmcloud:keyvalue\"\n[provider.config]\n\"${{KEY}}\" = 1\n"
        ))
        .unwrap();
    assert_eq!(m.providers[0].config["${KEY}"], "1");
}
