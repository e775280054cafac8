#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! `[host.policy]` and the breaker keys of `[host]`: accepted shapes and errors at their lines.

mod common;

use common::Fixture;

const ACTOR: &str = "[[actor]]\nname = \"a\"\npath = \"kvcounter.wasm\"\n";

fn manifest(host_extra: &str) -> String {
    format!("[host]\nissuers = [\"ISSUER\"]\n{host_extra}\n{ACTOR}")
}

#[test]
fn rego_and_opa_settings_are_read() {
    let fx = Fixture::new();
    std::fs::write(fx.base().join("policy.rego"), "package caplet\n").unwrap();
    let m = fx
        .parse(&manifest(
            "breaker_failures = 3\nbreaker_open_ms = 250\n[host.policy]\nrego = \"policy.rego\"\nquery = \"data.caplet.ok\"\ncache_ttl_s = 0\n",
        ))
        .unwrap();
    let policy = m.host.policy.unwrap();
    assert_eq!(policy.rego, Some(fx.base().join("policy.rego")));
    assert_eq!(policy.query.as_deref(), Some("data.caplet.ok"));
    assert_eq!(policy.cache_ttl_s, Some(0));
    assert_eq!(m.host.breaker_failures, Some(3));
    assert_eq!(m.host.breaker_open_ms, Some(250));

    let m = fx
        .parse(&manifest(
            "[host.policy]\nopa_url = \"http://127.0.0.1:8181\"\nopa_path = \"caplet/allow\"\ntimeout_ms = 200\n",
        ))
        .unwrap();
    let policy = m.host.policy.unwrap();
    assert_eq!(policy.opa_url.as_deref(), Some("http://127.0.0.1:8181"));
    assert_eq!(policy.timeout_ms, Some(200));
}

#[test]
fn policy_mistakes_are_reported_at_their_lines() {
    let fx = Fixture::new();
    let errors = fx.errors(&manifest(
        "[host.policy]\nrego = \"missing.rego\"\nopa_url = \"https://opa:8181\"\ntimeout_ms = 0\n",
    ));
    let text: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.line, e.message))
        .collect();
    assert!(
        text.iter()
            .any(|t| t.starts_with("5:") && t.contains("both `rego` and `opa_url`")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("5:") && t.contains("not an http:// URL")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("6:") && t.contains("timeout_ms")),
        "{text:#?}"
    );
    assert!(
        text.iter()
            .any(|t| t.starts_with("4:") && t.contains("not a file")),
        "{text:#?}"
    );

    let errors = fx.errors(&manifest("[host.policy]\ncache_ttl_s = 5\n"));
    assert!(
        errors[0].message.contains("names no policy engine"),
        "{errors:#?}"
    );

    let errors = fx.errors(&manifest("breaker_open_ms = 1\n"));
    assert_eq!(errors[0].line, 3, "{errors:#?}");
    assert!(
        errors[0].message.contains("out of range 10..="),
        "{errors:#?}"
    );
}

#[test]
fn log_lines_per_second_is_read() {
    let fx = Fixture::new();
    let m = fx.parse(&manifest("log_lines_per_second = 5\n")).unwrap();
    assert_eq!(m.host.log_lines_per_second, Some(5));

    // 0 is accepted: the logging provider then drops every line.
    let m = fx.parse(&manifest("log_lines_per_second = 0\n")).unwrap();
    assert_eq!(m.host.log_lines_per_second, Some(0));

    let m = fx
        .parse(&manifest("log_lines_per_second = 4294967295\n"))
        .unwrap();
    assert_eq!(m.host.log_lines_per_second, Some(u32::MAX));

    let m = fx.parse(&manifest("")).unwrap();
    assert_eq!(m.host.log_lines_per_second, None);
}

#[test]
fn bad_log_lines_per_second_is_reported_at_its_line() {
    let fx = Fixture::new();
    for (value, expected) in [
        ("-1", "out of range 0..=4294967295 lines per second"),
        ("4294967296", "out of range 0..=4294967295 lines per second"),
        ("2.5", "must be an integer, found a float"),
        ("\"20\"", "must be an integer, found a string"),
    ] {
        let error = fx.error(&manifest(&format!(
            "breaker_failures = 3\nlog_lines_per_second = {value}\n"
        )));
        assert_eq!(
            error.file,
            std::path::Path::new("caplet.toml"),
            "{error:#?}"
        );
        assert_eq!(error.line, 4, "{value}: {error:#?}");
        assert!(
            error.message.contains("`log_lines_per_second` in [host]")
                && error.message.contains(expected),
            "{value}: {error:#?}"
        );
        if expected.starts_with("out of range") {
            let hint = error.hint.as_deref().unwrap_or_default();
            assert!(hint.contains("0 drops every line"), "{error:#?}");
        }
    }
}
