#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Valid manifests parse into the expected model.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use caplet_manifest::{
    LimitOverrides, LinkSpec, LoadOptions, ManifestActor, ProviderSpec, load, load_with,
};
use common::{FULL, Fixture, MINIMAL};

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn lines(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn full_manifest_parses_into_the_model() {
    let fx = Fixture::new();
    let m = fx.parse(FULL).unwrap();
    let base = fx.base();

    assert_eq!(m.file, Path::new("caplet.toml"));
    assert_eq!(m.base_dir, base);
    assert_eq!(m.host.issuers, vec![fx.issuer.clone()]);
    assert!(!m.host.allow_unsigned);
    assert_eq!(m.host.control_api, Some("127.0.0.1:7171".parse().unwrap()));
    assert_eq!(m.host.control_token_file, Some(base.join("secrets/token")));
    let host_limits = LimitOverrides {
        max_memory_mib: Some(64),
        deadline_ms: Some(2000),
        max_payload_kib: Some(1024),
        max_stack_kib: Some(512),
        max_host_call_payload_kib: Some(1024),
    };
    assert_eq!(m.host.limits, host_limits);

    assert_eq!(
        m.actors,
        vec![
            ManifestActor {
                name: "kvcounter".into(),
                path: base.join("kvcounter.wasm"),
                instances: 4,
                limits: LimitOverrides {
                    deadline_ms: Some(500),
                    ..LimitOverrides::default()
                },
                line: 15,
            },
            ManifestActor {
                name: "echo".into(),
                path: base.join("build/echo.wasm"),
                instances: 1,
                limits: LimitOverrides::default(),
                line: 23,
            },
        ]
    );
    let effective = m.effective_limits(&m.actors[0]);
    assert_eq!(effective.deadline_ms, Some(500));
    assert_eq!(effective.max_memory_mib, Some(64));

    assert_eq!(
        m.providers,
        vec![
            ProviderSpec {
                contract: "wasmcloud:keyvalue".into(),
                implementation: "redis".into(),
                link_name: "default".into(),
                config: map(&[
                    ("url", "redis://127.0.0.1:6379/"),
                    ("pool", "8"),
                    ("ratio", "0.5"),
                    ("tls", "false"),
                ]),
                config_lines: lines(&[("url", 32), ("pool", 33), ("ratio", 34), ("tls", 35)]),
                declared: true,
                line: 27,
            },
            // Implied by the first link: the default implementation under its link name.
            ProviderSpec {
                contract: "wasmcloud:httpserver".into(),
                implementation: "hyper".into(),
                link_name: "default".into(),
                config: BTreeMap::new(),
                config_lines: BTreeMap::new(),
                declared: false,
                line: 37,
            },
            ProviderSpec {
                contract: "wasmcloud:httpserver".into(),
                implementation: "hyper".into(),
                link_name: "admin".into(),
                config: BTreeMap::new(),
                config_lines: BTreeMap::new(),
                declared: false,
                line: 48,
            },
        ]
    );

    assert_eq!(
        m.links,
        vec![
            LinkSpec {
                actor: "kvcounter".into(),
                contract: "wasmcloud:httpserver".into(),
                link_name: "default".into(),
                values: map(&[("address", "127.0.0.1:8080")]),
                value_lines: lines(&[("address", 42)]),
                line: 37,
            },
            // The legacy id is stored canonical and resolves to the declared redis provider.
            LinkSpec {
                actor: "kvcounter".into(),
                contract: "wasmcloud:keyvalue".into(),
                link_name: "default".into(),
                values: BTreeMap::new(),
                value_lines: BTreeMap::new(),
                line: 44,
            },
            LinkSpec {
                actor: "echo".into(),
                contract: "wasmcloud:httpserver".into(),
                link_name: "admin".into(),
                values: map(&[("address", "127.0.0.1:9090")]),
                value_lines: lines(&[("address", 54)]),
                line: 48,
            },
        ]
    );
    assert_eq!(m.provider_for(&m.links[1]).unwrap().implementation, "redis");
    assert_eq!(m.links_of("kvcounter").count(), 2);
    assert_eq!(m.actor("echo").unwrap().line, 23);
}

#[test]
fn minimal_manifest_gets_defaults() {
    let fx = Fixture::new();
    let m = fx.parse(MINIMAL).unwrap();
    assert_eq!(m.actors.len(), 1);
    assert_eq!(m.actors[0].instances, 1);
    assert!(m.actors[0].limits.is_empty());
    assert!(m.host.limits.is_empty());
    assert_eq!(m.host.control_api, None);
    assert!(m.providers.is_empty() && m.links.is_empty());
}

#[test]
fn legacy_aliases_are_canonicalised_everywhere() {
    let fx = Fixture::new();
    let m = fx
        .parse(&format!(
            r#"{MINIMAL}
[[provider]]
contract = "wascc:messaging"
implementation = "nats"

[[link]]
actor = "kvcounter"
contract = "wascc:messaging"

[[link]]
actor = "kvcounter"
contract = "wascc:http_client"

[[link]]
actor = "kvcounter"
contract = "wasmcloud:logging"
"#
        ))
        .unwrap();
    let contracts: Vec<&str> = m.links.iter().map(|l| l.contract.as_str()).collect();
    assert_eq!(
        contracts,
        [
            "wasmcloud:messaging",
            "wasmcloud:httpclient",
            "wasmcloud:builtin:logging"
        ]
    );
    let providers: Vec<(&str, &str, bool)> = m
        .providers
        .iter()
        .map(|p| (p.contract.as_str(), p.implementation.as_str(), p.declared))
        .collect();
    assert_eq!(
        providers,
        [
            ("wasmcloud:messaging", "nats", true),
            ("wasmcloud:httpclient", "hyper", false),
            ("wasmcloud:builtin:logging", "builtin", false),
        ]
    );
}

#[test]
fn implied_providers_are_added_once_per_key() {
    let fx = Fixture::new();
    let m = fx
        .parse(&format!(
            r#"{MINIMAL}
[[actor]]
name = "other"
path = "kvcounter.wasm"

[[link]]
actor = "kvcounter"
contract = "wasmcloud:keyvalue"

[[link]]
actor = "other"
contract = "wasmcloud:keyvalue"

[[link]]
actor = "other"
contract = "wasmcloud:keyvalue"
link_name = "cache"
"#
        ))
        .unwrap();
    let keys: Vec<(&str, &str, &str)> = m
        .providers
        .iter()
        .map(|p| {
            (
                p.contract.as_str(),
                p.link_name.as_str(),
                p.implementation.as_str(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        [
            ("wasmcloud:keyvalue", "default", "memory"),
            ("wasmcloud:keyvalue", "cache", "memory"),
        ]
    );
    assert!(m.providers.iter().all(|p| !p.declared));
    for link in &m.links {
        assert!(m.provider_for(link).is_some());
    }
}

#[test]
fn builtin_providers_may_be_declared_without_config() {
    let fx = Fixture::new();
    let m = fx
        .parse(&format!(
            "{MINIMAL}\n[[provider]]\ncontract = \"wasmcloud:builtin:numbergen\"\nimplementation = \"builtin\"\n\n[[provider]]\ncontract = \"wasmcloud:builtin:logging\"\n"
        ))
        .unwrap();
    assert_eq!(m.providers.len(), 2);
    assert!(
        m.providers
            .iter()
            .all(|p| p.implementation == "builtin" && p.declared)
    );
}

#[test]
fn unsigned_development_manifest() {
    let fx = Fixture::new();
    let text =
        "[host]\nallow_unsigned = true\n\n[[actor]]\nname = \"a\"\npath = \"kvcounter.wasm\"\n";
    let m = fx.parse(text).unwrap();
    assert!(m.host.allow_unsigned);
    assert!(m.host.issuers.is_empty());
}

#[test]
fn load_takes_a_file_or_its_folder() {
    let fx = Fixture::new();
    let file = fx.base().join("caplet.toml");
    std::fs::write(&file, fx.text(MINIMAL)).unwrap();

    let from_file = load(&file).unwrap();
    let from_dir = load(fx.base()).unwrap();
    assert_eq!(from_file.file, file);
    assert_eq!(from_dir.file, file);
    assert_eq!(from_file.actors, from_dir.actors);
    assert_eq!(from_dir.actors[0].path, fx.base().join("kvcounter.wasm"));
    assert!(from_dir.base_dir.is_absolute());

    // Another name works when given as a file.
    let other = fx.base().join("staging.toml");
    std::fs::write(&other, fx.text(MINIMAL)).unwrap();
    assert_eq!(load(&other).unwrap().file, other);
}

#[test]
fn allow_unsigned_option_replaces_issuers() {
    let fx = Fixture::new();
    let file = fx.base().join("caplet.toml");
    std::fs::write(
        &file,
        "[[actor]]\nname = \"a\"\npath = \"kvcounter.wasm\"\n",
    )
    .unwrap();
    assert!(load(&file).is_err());
    let m = load_with(
        &file,
        &LoadOptions {
            allow_unsigned: true,
        },
    )
    .unwrap();
    assert!(m.host.allow_unsigned);
}

#[test]
fn provider_errors_join_the_same_report() {
    let fx = Fixture::new();
    let m = fx.parse(FULL).unwrap();
    let link = &m.links[0];
    let mut errors = caplet_manifest::ManifestErrors::new();
    errors.push(m.error_at(
        link.value_lines["address"],
        "address already in use",
        Some("pick another port".into()),
    ));
    assert_eq!(
        errors.to_string(),
        "caplet.toml:42:1: error: address already in use\n  hint: pick another port"
    );
    assert!(errors.into_result(()).is_err());
}

#[test]
fn the_documented_example_is_valid() {
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/manifest.md"
    ))
    .unwrap();
    let start = docs.find("```toml\n").unwrap() + "```toml\n".len();
    let example = &docs[start..start + docs[start..].find("```").unwrap()];
    let fx = Fixture::new();
    let m = caplet_manifest::parse(example, Path::new("caplet.toml"), fx.base(), &|_| None)
        .unwrap_or_else(|errors| panic!("{errors}"));
    assert_eq!(m.actors[0].instances, 4);
    assert_eq!(m.providers[0].config["url"], "redis://127.0.0.1:6379/");
    assert_eq!(m.providers[0].config["pool_size"], "8");
    assert_eq!(m.links[0].values["address"], "127.0.0.1:8080");
    assert_eq!(m.provider_for(&m.links[1]).unwrap().implementation, "redis");
    assert_eq!(m.provider_for(&m.links[0]).unwrap().implementation, "hyper");
}
