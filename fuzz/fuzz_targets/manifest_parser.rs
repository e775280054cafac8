//! Fuzzes `caplet_manifest::parse` on arbitrary UTF-8: the TOML parser, the walker of every
//! section (`[host]`, `[host.policy]`, `[[actor]]`, `[[provider]]`, `[[link]]`), `${VAR}`
//! substitution and the error report with line and column. It must never panic, and a
//! rejection must carry at least one error that renders.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let env = |name: &str| (name == "SET").then(|| "value".to_string());
    // A base folder that does not exist: module and policy files are never found, so the
    // checks after parsing run but nothing is read from disk.
    let base = Path::new("/nonexistent/caplet-fuzz");
    match caplet_manifest::parse(text, Path::new("caplet.toml"), base, &env) {
        Ok(manifest) => {
            let _ = format!("{manifest:?}");
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "a rejection without errors");
            let _ = errors.to_string();
        }
    }
    let options = caplet_manifest::LoadOptions {
        allow_unsigned: true,
    };
    let _ = caplet_manifest::parse_with(text, Path::new("caplet.toml"), base, &env, &options);
});
