#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Each class of error: its message, hint and position; and all of them reported at once.

mod common;

use std::path::Path;

use caplet_claims::{KeyKind, generate};
use caplet_manifest::{MAX_MANIFEST_BYTES, MAX_REPORTED_ERRORS, ManifestError, load, parse};
use common::{FULL, Fixture, MINIMAL, env};

/// Asserts position and message fragment, printing the error on failure.
#[track_caller]
fn check(error: &ManifestError, line: usize, column: usize, message: &str, hint: &str) {
    let shown = error.to_string();
    assert_eq!((error.line, error.column), (line, column), "{shown}");
    assert!(error.message.contains(message), "{shown}");
    let hint_text = error.hint.as_deref().unwrap_or("");
    assert!(hint_text.contains(hint), "{shown}");
}

#[test]
fn display_format() {
    let fx = Fixture::new();
    let e = fx.error(&format!("{MINIMAL}instances = 0\n"));
    assert_eq!(
        e.to_string(),
        "caplet.toml:7:13: error: `instances` in [[actor]] = 0 is out of range 1..=256\n  hint: keep 1 to 256 warm instances; leave it out for 1"
    );
}

#[test]
fn toml_syntax_errors() {
    let fx = Fixture::new();
    // An unclosed array: the parser's recovery may add echoes, but the first error is where
    // the array should have ended, and nothing else is checked.
    let errors = fx.errors("[host]\nissuers = [\"x\"\n\n[[actor]]\nname = \"a\"\n");
    assert!(
        errors
            .iter()
            .all(|e| e.message.starts_with("invalid TOML:")),
        "{errors:#?}"
    );
    assert!(errors[0].line <= 4, "{errors:#?}");

    // Independent mistakes on separate lines are all reported.
    let errors = fx.errors("[host]\nissuers = [\"ISSUER\"]\nallow_unsigned = yes\n[[actor]]\nname = 'a'\npath = kvcounter.wasm\n");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    check(
        &errors[0],
        3,
        18,
        "invalid TOML: string values must be quoted",
        "",
    );
    check(
        &errors[1],
        6,
        8,
        "invalid TOML: string values must be quoted",
        "",
    );

    let errors = fx.errors("[[actor]]\nname = \"a\"\nname = \"b\"\n");
    assert_eq!(errors.len(), 1);
    check(&errors[0], 3, 1, "duplicate key", "");
}

#[test]
fn unknown_keys_are_reported_with_the_known_ones() {
    let fx = Fixture::new();
    let e = fx.error(&format!("{MINIMAL}instance = 2\n"));
    check(
        &e,
        7,
        1,
        "unknown key `instance` in [[actor]]",
        "did you mean `instances`?",
    );
    assert!(e.hint.unwrap().contains("`instances`, "));

    let e = fx.error(&format!("{MINIMAL}\n[[actors]]\nname = \"x\"\n"));
    check(
        &e,
        8,
        3,
        "unknown key `actors` in the manifest's top level",
        "did you mean `actor`?",
    );

    let e = fx.error(&format!("{MINIMAL}[actor.limits]\nmemory_mib = 3\n"));
    check(
        &e,
        8,
        1,
        "unknown key `memory_mib` in [actor.limits]",
        "max_memory_mib",
    );

    let e = fx.error(&format!("{MINIMAL}\n[[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:keyvalue\"\nvalue = {{ a = 1 }}\n"));
    check(
        &e,
        11,
        1,
        "unknown key `value` in [[link]]",
        "did you mean `values`?",
    );
}

#[test]
fn wrong_types() {
    let fx = Fixture::new();
    let e = fx.error(
        "[host]\nallow_unsigned = \"yes\"\n[[actor]]\nname = \"a\"\npath = \"kvcounter.wasm\"\n",
    );
    check(
        &e,
        2,
        18,
        "`allow_unsigned` in [host] must be true or false, found a string",
        "",
    );

    let e = fx.error(&format!("{MINIMAL}instances = \"4\"\n"));
    check(&e, 7, 13, "must be an integer, found a string", "");

    let e = fx.error(
        "[host]\nissuers = [\"ISSUER\"]\n[actor]\nname = \"a\"\npath = \"kvcounter.wasm\"\n",
    );
    check(&e, 3, 1, "`actor` must be an array of tables", "[[actor]]");

    let e = fx.error(&format!("{MINIMAL}\n[[provider]]\ncontract = \"wasmcloud:keyvalue\"\n[provider.config]\nhosts = [\"a\", \"b\"]\n"));
    check(
        &e,
        11,
        9,
        "`hosts` in [provider.config] must be a string, integer, float or boolean, found an array",
        "",
    );

    let e = fx.error(&format!("{MINIMAL}\n[[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:keyvalue\"\n[link.values]\nopts = {{ a = 1 }}\n"));
    check(&e, 12, 8, "found a table", "");
}

#[test]
fn actor_errors() {
    let fx = Fixture::new();
    let e = fx.error(&format!(
        "{MINIMAL}\n[[actor]]\nname = \"kvcounter\"\npath = \"kvcounter.wasm\"\n"
    ));
    check(&e, 9, 8, "duplicate actor name \"kvcounter\"", "line 4");

    let e = fx.error("[host]\nissuers = [\"ISSUER\"]\n[[actor]]\nname = \"KV Counter\"\npath = \"kvcounter.wasm\"\n");
    check(&e, 4, 8, "invalid actor name \"KV Counter\"", "lowercase");

    let e = fx.error("[host]\nissuers = [\"ISSUER\"]\n[[actor]]\npath = \"kvcounter.wasm\"\n");
    check(&e, 3, 1, "[[actor]] is missing `name`", "add name =");

    let e = fx.error(
        "[host]\nissuers = [\"ISSUER\"]\n[[actor]]\nname = \"a\"\npath = \"missing.wasm\"\n",
    );
    check(&e, 5, 8, "actor module not found", "build the actor first");
    assert!(
        e.message
            .contains(&fx.base().join("missing.wasm").display().to_string())
    );

    let e = fx.error("[host]\nissuers = [\"ISSUER\"]\n[[actor]]\nname = \"a\"\npath = \"build\"\n");
    check(&e, 5, 8, "is not a file", "not a folder");

    let e = fx.error(
        "[host]\nissuers = [\"ISSUER\"]\n[[actor]]\nname = \"a\"\npath = \"oci://registry/a:1\"\n",
    );
    check(&e, 5, 8, "URL or registry reference", "download or build");

    for (value, column) in [("0", 13), ("257", 13), ("-1", 13), ("99999999999", 13)] {
        let e = fx.error(&format!("{MINIMAL}instances = {value}\n"));
        check(&e, 7, column, "out of range 1..=256", "");
    }
}

#[test]
fn limit_errors() {
    let fx = Fixture::new();
    let errors = fx.errors(&format!(
        "{MINIMAL}[actor.limits]\nmax_memory_mib = 0\ndeadline_ms = 600001\nmax_stack_kib = 32\nmax_payload_kib = -5\nmax_host_call_payload_kib = 1.5\n"
    ));
    assert_eq!(errors.len(), 5, "{errors:#?}");
    check(
        &errors[0],
        8,
        18,
        "`max_memory_mib` in [actor.limits] = 0 is out of range 1..=4096 MiB",
        "zero is not accepted",
    );
    check(
        &errors[1],
        9,
        15,
        "`deadline_ms` in [actor.limits] = 600001 is out of range 1..=600000 ms",
        "in ms",
    );
    check(&errors[2], 10, 17, "out of range 64..=16384 KiB", "");
    check(&errors[3], 11, 19, "out of range 1..=262144 KiB", "");
    check(&errors[4], 12, 29, "must be an integer, found a float", "");

    let e = fx.error("[host]\nissuers = [\"ISSUER\"]\n[host.limits]\nmax_memory_mib = 67108864\n[[actor]]\nname = \"a\"\npath = \"kvcounter.wasm\"\n");
    check(
        &e,
        4,
        18,
        "[host.limits] = 67108864 is out of range",
        "the value is in MiB",
    );
}

#[test]
fn host_errors() {
    let fx = Fixture::new();
    let actor = "[[actor]]\nname = \"a\"\npath = \"kvcounter.wasm\"\n";

    let e = fx.error(&format!("[host]\nissuers = [\"not-a-key\"]\n{actor}"));
    check(
        &e,
        2,
        12,
        "issuer \"not-a-key\" is not an account public key",
        "caplet keys gen account",
    );

    let module = generate(KeyKind::Module).public_key();
    let e = fx.error(&format!(
        "[host]\nissuers = [\"ISSUER\", \"{module}\"]\n{actor}"
    ));
    check(
        &e,
        2,
        72,
        "is not an account public key: expected account key",
        "56 characters starting with A",
    );

    let e = fx.error(actor);
    check(&e, 1, 1, "no trusted issuers", "allow_unsigned = true");
    assert!(e.hint.unwrap().contains("caplet keys gen account"));

    let e = fx.error(&format!(
        "[host]\nissuers = []\ncontrol_api = \"127.0.0.1:7171\"\n{actor}"
    ));
    check(&e, 1, 1, "no trusted issuers", "");

    let e = fx.error(&format!(
        "[host]\nissuers = [\"ISSUER\"]\ncontrol_api = \"localhost:7171\"\n{actor}"
    ));
    check(
        &e,
        3,
        15,
        "`control_api` in [host] is not a socket address: \"localhost:7171\"",
        "IP:PORT",
    );
}

#[test]
fn empty_manifest_needs_an_actor() {
    let fx = Fixture::new();
    for text in [
        "",
        "\n# nothing yet\n",
        "[host]\nallow_unsigned = true\n",
        "actor = []\n",
    ] {
        let errors = fx.errors(text);
        let e = errors
            .iter()
            .find(|e| e.message.contains("at least one actor"))
            .unwrap_or_else(|| panic!("{errors:#?}"));
        assert!(e.hint.as_deref().unwrap().contains("[[actor]]"));
    }
    let e = fx.errors("")[0].clone();
    assert_eq!((e.line, e.column), (1, 1));
}

#[test]
fn provider_errors() {
    let fx = Fixture::new();
    let e = fx.error(&format!(
        "{MINIMAL}\n[[provider]]\ncontract = \"acme:ledger\"\n"
    ));
    check(
        &e,
        9,
        12,
        "unknown contract \"acme:ledger\" in [[provider]]",
        "`wasmcloud:keyvalue`",
    );

    let e = fx.error(&format!(
        "{MINIMAL}\n[[provider]]\ncontract = \"wasmcloud:keyvalue\"\nimplementation = \"etcd\"\n"
    ));
    check(
        &e,
        10,
        18,
        "contract wasmcloud:keyvalue has no implementation \"etcd\"",
        "`memory` (default), `redis`",
    );

    let e = fx.error(&format!("{MINIMAL}\n[[provider]]\ncontract = \"wasmcloud:builtin:logging\"\nimplementation = \"syslog\"\n"));
    check(
        &e,
        10,
        18,
        "has no implementation \"syslog\"",
        "`builtin` (default)",
    );

    let e = fx.error(&format!("{MINIMAL}\n[[provider]]\ncontract = \"wasmcloud:builtin:numbergen\"\n[provider.config]\nseed = 4\n"));
    check(
        &e,
        10,
        1,
        "built-in contract wasmcloud:builtin:numbergen takes no [provider.config]",
        "always present",
    );

    let e = fx.error(&format!(
        "{MINIMAL}\n[[provider]]\ncontract = \"wasmcloud:keyvalue\"\n\n[[provider]]\ncontract = \"wascc:keyvalue\"\nimplementation = \"redis\"\n"
    ));
    check(
        &e,
        11,
        1,
        "duplicate [[provider]] for wasmcloud:keyvalue with link_name \"default\"",
        "line 8",
    );

    let e = fx.error(&format!(
        "{MINIMAL}\n[[provider]]\ncontract = \"wasmcloud:keyvalue\"\nlink_name = \"\"\n"
    ));
    check(
        &e,
        10,
        13,
        "`link_name` in [[provider]] must not be empty",
        "",
    );
}

#[test]
fn link_errors() {
    let fx = Fixture::new();
    let e = fx.error(&format!(
        "{MINIMAL}\n[[actor]]\nname = \"echo\"\npath = \"build/echo.wasm\"\n\n[[link]]\nactor = \"kvcountr\"\ncontract = \"wasmcloud:keyvalue\"\n"
    ));
    check(
        &e,
        13,
        9,
        "link to unknown actor \"kvcountr\"",
        "declared actors: `kvcounter`, `echo`",
    );

    let e = fx.error(&format!(
        "{MINIMAL}\n[[link]]\nactor = \"kvcounter\"\ncontract = \"wasmcloud:keyvalue\"\n\n[[link]]\nactor = \"kvcounter\"\ncontract = \"wascc:keyvalue\"\nlink_name = \"default\"\n"
    ));
    check(
        &e,
        12,
        1,
        "duplicate [[link]]: actor \"kvcounter\" is already linked to wasmcloud:keyvalue with link_name \"default\"",
        "line 8",
    );

    let e = fx.error(&format!(
        "{MINIMAL}\n[[link]]\nactor = \"kvcounter\"\ncontract = \"acme:ledger\"\n"
    ));
    check(
        &e,
        10,
        12,
        "no provider for contract \"acme:ledger\"",
        "Caplet has providers for",
    );

    // Blob storage is a well-known id, but Caplet has no provider for it.
    let e = fx.error(&format!(
        "{MINIMAL}\n[[link]]\nactor = \"kvcounter\"\ncontract = \"wascc:blobstore\"\n"
    ));
    check(
        &e,
        10,
        12,
        "no provider for contract \"wasmcloud:blobstore\"",
        "",
    );

    let e = fx.error(&format!("{MINIMAL}\n[[link]]\nactor = \"kvcounter\"\n"));
    check(&e, 8, 1, "[[link]] is missing `contract`", "");
}

#[test]
fn errors_do_not_cascade() {
    let fx = Fixture::new();
    // An actor with a bad path is still declared, and a provider with an unknown contract
    // still exists: the links to them report nothing more.
    let errors = fx.errors(
        "[host]\nissuers = [\"ISSUER\"]\n[[actor]]\nname = \"a\"\npath = \"gone.wasm\"\n\n[[provider]]\ncontract = \"acme:ledger\"\n\n[[link]]\nactor = \"a\"\ncontract = \"acme:ledger\"\n",
    );
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(errors[0].line, 5);
    assert_eq!(errors[1].line, 8);

    // A wrongly typed issuers list is one error, not also "no trusted issuers".
    let errors = fx.errors(
        "[host]\nissuers = \"ISSUER\"\n[[actor]]\nname = \"a\"\npath = \"kvcounter.wasm\"\n",
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
}

#[test]
fn all_errors_are_reported_in_file_order() {
    let fx = Fixture::new();
    let text = r#"[host]
issuers = ["AXXX"]
control_api = "nowhere"
colour = "blue"

[host.limits]
deadline_ms = 0

[[actor]]
name = "kvcounter"
path = "kvcounter.wasm"
instances = 1000

[[actor]]
name = "kvcounter"
path = "nope.wasm"

[[provider]]
contract = "wasmcloud:keyvalue"
implementation = "dynamo"

[[link]]
actor = "ghost"
contract = "wasmcloud:httpserver"

[link.values]
port = "${PORT}"
"#;
    let errors = fx.errors(text);
    let got: Vec<(usize, &str)> = errors
        .iter()
        .map(|e| (e.line, e.message.as_str()))
        .collect();
    let expected_lines = [2, 3, 4, 7, 12, 15, 16, 20, 23, 27];
    assert_eq!(
        got.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
        expected_lines,
        "{got:#?}"
    );
    assert!(got[8].1.contains("unknown actor \"ghost\""));
    assert!(got[9].1.contains("`PORT`"));
}

#[test]
fn too_many_errors_are_cut() {
    let fx = Fixture::new();
    let mut text = fx.text(MINIMAL);
    for i in 0..(MAX_REPORTED_ERRORS + 20) {
        text.push_str(&format!("bogus{i} = 1\n"));
    }
    let errors = parse(&text, Path::new("caplet.toml"), fx.base(), &env)
        .unwrap_err()
        .into_vec();
    assert_eq!(errors.len(), MAX_REPORTED_ERRORS + 1);
    assert_eq!(errors.last().unwrap().message, "20 more errors not shown");
}

#[test]
fn oversized_manifest_is_refused() {
    let fx = Fixture::new();
    let mut text = fx.text(FULL);
    text.push_str(&"#".repeat(MAX_MANIFEST_BYTES));
    let errors = parse(&text, Path::new("caplet.toml"), fx.base(), &env)
        .unwrap_err()
        .into_vec();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("larger than the limit"));

    let file = fx.base().join("big.toml");
    std::fs::write(&file, &text).unwrap();
    let errors = load(&file).unwrap_err().into_vec();
    assert!(
        errors[0].message.contains("larger than the limit"),
        "{errors:#?}"
    );
}

#[test]
fn load_errors_name_the_file() {
    let fx = Fixture::new();
    // A folder without caplet.toml: the error names the folder and the file.
    let e = load(fx.base()).unwrap_err().into_vec().remove(0);
    assert_eq!(e.file, fx.base().join("caplet.toml"));
    assert!(e.message.contains(&fx.base().display().to_string()));
    assert!(e.message.contains("caplet.toml"));
    assert_eq!(e.line, 0);
    assert!(
        e.to_string()
            .starts_with(&format!("{}: error: ", e.file.display()))
    );

    let missing = fx.base().join("nope.toml");
    let e = load(&missing).unwrap_err().into_vec().remove(0);
    assert_eq!(e.file, missing);
    assert!(e.message.contains("cannot read the manifest"), "{e}");

    let binary = fx.base().join("binary.toml");
    std::fs::write(&binary, b"[host]\nallow_unsigned = true\n# \xff\xfe\n").unwrap();
    let e = load(&binary).unwrap_err().into_vec().remove(0);
    assert_eq!((e.line, e.column), (3, 3), "{e}");
    assert!(e.message.contains("not UTF-8"));

    // Errors inside a loaded file carry its path.
    let file = fx.base().join("caplet.toml");
    std::fs::write(&file, "[[actor]]\nname = \"a\"\npath = \"x.wasm\"\n").unwrap();
    let errors = load(fx.base()).unwrap_err();
    assert!(errors.iter().all(|e| e.file == file));
    assert!(errors.to_string().contains(&format!(
        "{}:3:8: error: actor module not found",
        file.display()
    )));
}
