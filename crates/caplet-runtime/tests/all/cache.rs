//! The compile cache saves work and never trusts what it cannot have written itself.
//!
//! A cached entry must be used on the second load; a corrupted entry must be recompiled (not
//! fail the load, not be executed); and a different module must never hit another's entry.

use std::sync::Arc;

use caplet_runtime::NoHost;

use crate::common::{guest, runtime, test_limits};

fn cache_entries(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect()
}

#[tokio::test]
async fn second_load_uses_the_cache_and_a_corrupt_entry_is_recompiled() {
    let (runtime, dir) = runtime();
    let bytes = guest("probe");
    let first = runtime.load_actor("probe", &bytes, test_limits()).unwrap();
    let entries = cache_entries(dir.path());
    assert_eq!(entries.len(), 1, "one entry per compiled module");
    assert_eq!(first.hash(), caplet_runtime::module_hash(&bytes));
    let written = std::fs::metadata(&entries[0]).unwrap().modified().unwrap();

    let second = runtime.load_actor("probe", &bytes, test_limits()).unwrap();
    assert_eq!(
        second
            .call("echo", b"cached", Arc::new(NoHost))
            .await
            .unwrap(),
        b"cached"
    );
    assert_eq!(
        std::fs::metadata(&entries[0]).unwrap().modified().unwrap(),
        written
    );

    std::fs::write(
        &entries[0],
        b"\x7fELF garbage that is not a wasmtime artifact",
    )
    .unwrap();
    let third = runtime.load_actor("probe", &bytes, test_limits()).unwrap();
    assert_eq!(
        third
            .call("echo", b"recompiled", Arc::new(NoHost))
            .await
            .unwrap(),
        b"recompiled"
    );
    let rewritten = std::fs::read(&entries[0]).unwrap();
    assert!(
        rewritten.len() > 1000,
        "the corrupt entry was replaced by a fresh compilation"
    );

    runtime
        .load_actor("wapc_echo", &guest("wapc_echo"), test_limits())
        .unwrap();
    assert_eq!(cache_entries(dir.path()).len(), 2);
}

/// Appends a custom section, as signing does with the claims.
fn with_custom_section(bytes: &[u8], name: &str, data: &[u8]) -> Vec<u8> {
    let mut payload = vec![u8::try_from(name.len()).unwrap()];
    payload.extend_from_slice(name.as_bytes());
    payload.extend_from_slice(data);
    let mut out = bytes.to_vec();
    out.push(0);
    out.push(u8::try_from(payload.len()).unwrap());
    out.extend_from_slice(&payload);
    out
}

#[tokio::test]
async fn a_re_signed_module_reuses_the_compiled_code_of_the_same_instructions() {
    let (runtime, dir) = runtime();
    let code = guest("probe");
    let rev1 = with_custom_section(&code, "jwt", b"claims of rev 1");
    let rev2 = with_custom_section(&code, "jwt", b"claims of rev 2, re-signed");
    let first = runtime.load_actor("probe", &rev1, test_limits()).unwrap();
    let entries = cache_entries(dir.path());
    assert_eq!(entries.len(), 1);
    let written = std::fs::metadata(&entries[0]).unwrap().modified().unwrap();

    // Different bytes (and hash) for the host, the same compiled code for the cache.
    let second = runtime.load_actor("probe", &rev2, test_limits()).unwrap();
    assert_ne!(first.hash(), second.hash());
    assert_eq!(cache_entries(dir.path()), entries, "no second compilation");
    assert_eq!(
        std::fs::metadata(&entries[0]).unwrap().modified().unwrap(),
        written
    );
    assert_eq!(
        second
            .call("echo", b"rev 2", Arc::new(NoHost))
            .await
            .unwrap(),
        b"rev 2"
    );
}
