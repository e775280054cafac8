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
    let name = entries[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert!(
        name.starts_with(first.hash()),
        "entry {name} is keyed by the module hash"
    );
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
