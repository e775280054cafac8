//! What the criterion benchmarks share: the guests they load, the request they send, where
//! criterion writes its estimates, and the table of Caplet ÷ baseline ratios they print.
//!
//! Every benchmark measures Caplet beside a baseline in the same run (BENCHMARKS.md); this
//! module reads criterion's estimates back so each bench can print the ratios itself.

use std::path::PathBuf;

/// The workspace root (two levels above this crate's manifest).
fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The bytes of `guests/out/<name>.wasm`; panics with the command to run when it is missing.
pub fn guest(name: &str) -> Vec<u8> {
    let path = workspace().join("guests/out").join(format!("{name}.wasm"));
    std::fs::read(&path)
        .unwrap_or_else(|_| panic!("{} is missing: run scripts/build-guests.sh", path.display()))
}

/// The `HttpRequest` of `GET /` with one `host` header, as the HTTP server encodes it for
/// `wrk` or `curl /`.
pub fn small_get() -> Vec<u8> {
    let mut out = Vec::new();
    let _ = rmp::encode::write_map_len(&mut out, 5);
    for (key, value) in [("method", "GET"), ("path", "/"), ("queryString", "")] {
        let _ = rmp::encode::write_str(&mut out, key);
        let _ = rmp::encode::write_str(&mut out, value);
    }
    let _ = rmp::encode::write_str(&mut out, "header");
    let _ = rmp::encode::write_map_len(&mut out, 1);
    let _ = rmp::encode::write_str(&mut out, "host");
    let _ = rmp::encode::write_array_len(&mut out, 1);
    let _ = rmp::encode::write_str(&mut out, "127.0.0.1:8080");
    let _ = rmp::encode::write_str(&mut out, "body");
    let _ = rmp::encode::write_bin(&mut out, b"");
    out
}

/// Where criterion writes its reports: `$CARGO_TARGET_DIR/criterion`, else `target/criterion`.
pub fn output_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("criterion"),
        None => workspace().join("target/criterion"),
    }
}

/// Prints, for each case of `group`, the means of `<case>/caplet` and `<case>/<baseline id>`
/// and their ratio (Caplet ÷ baseline, lower is better). `baseline` heads the column.
pub fn print_ratios(group: &str, cases: &[&str], baseline: &str) {
    let mean_ns = |id: &str| -> Option<f64> {
        let path = output_dir().join(group).join(id).join("new/estimates.json");
        let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        json.get("mean")?.get("point_estimate")?.as_f64()
    };
    let baseline_id = baseline.split_whitespace().next().unwrap_or(baseline);
    println!(
        "\n{:<18} {:>14} {:>14} {:>8}",
        "benchmark", "caplet", baseline, "ratio"
    );
    for case in cases {
        let (Some(ours), Some(theirs)) = (
            mean_ns(&format!("{case}_caplet")),
            mean_ns(&format!("{case}_{baseline_id}")),
        ) else {
            println!("{case:<18} (no estimates: run without a filter)");
            continue;
        };
        println!(
            "{case:<18} {:>11.2} µs {:>11.2} µs {:>7.2}x",
            ours / 1000.0,
            theirs / 1000.0,
            ours / theirs
        );
    }
}
