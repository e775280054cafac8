#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! `parse` reads untrusted text: arbitrary input yields errors, never a panic.

mod common;

use std::path::Path;

use caplet_manifest::{MAX_REPORTED_ERRORS, parse};
use common::{FULL, Fixture, env};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn run(fx: &Fixture, text: &str) {
    // Either outcome is fine; errors must be well-formed.
    if let Err(errors) = parse(text, Path::new("caplet.toml"), fx.base(), &env) {
        assert!(!errors.is_empty());
        assert!(errors.len() <= MAX_REPORTED_ERRORS + 1);
        for error in &errors {
            assert!(!error.message.is_empty());
            assert_eq!(error.line == 0, error.column == 0, "{error}");
        }
        let _ = errors.to_string();
    }
}

#[test]
fn every_prefix_of_a_valid_manifest() {
    let fx = Fixture::new();
    let text = fx.text(FULL);
    let mut ok = 0;
    for (end, _) in text.char_indices().chain([(text.len(), ' ')]) {
        let prefix = &text[..end];
        run(&fx, prefix);
        ok += usize::from(parse(prefix, Path::new("caplet.toml"), fx.base(), &env).is_ok());
    }
    // Only prefixes that end after the last link's value parse.
    assert!(ok >= 1);
}

#[test]
fn random_mutations_of_a_valid_manifest() {
    let fx = Fixture::new();
    let text = fx.text(FULL).into_bytes();
    let alphabet = b"[]{}=\"'$\\,.#\n\t :-_0aZ\xff\xc3";
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let mut bytes = text.clone();
        for _ in 0..=rng.below(4) {
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[at] = alphabet[rng.below(alphabet.len())],
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.insert(at, alphabet[rng.below(alphabet.len())]),
            }
        }
        run(&fx, &String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn arbitrary_bytes() {
    let fx = Fixture::new();
    let mut rng = Rng(42);
    for _ in 0..3000 {
        let len = rng.below(256);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        run(&fx, &String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn pathological_shapes() {
    let fx = Fixture::new();
    let deep = format!("a = {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let inline = format!("a = {}1{}\n", "{b = ".repeat(5_000), "}".repeat(5_000));
    let long_key = format!("{} = 1\n", "k".repeat(100_000));
    let many_tables = "[[actor]]\n".repeat(20_000);
    let huge_int = "[[actor]]\ninstances = 99999999999999999999999999\n".to_string();
    let weird = "[host]\nissuers = [\"\u{0}\", \"ÅÅÅ\", \"$${\", \"${\u{1F600}}\"]\n[[link]]\nactor = 1\ncontract = []\nlink_name = {}\n".to_string();
    for text in [deep, inline, long_key, many_tables, huge_int, weird] {
        run(&fx, &text);
    }
}

#[test]
fn hostile_files_are_rejected_quickly() {
    // 1 MiB of unknown keys, and of links to unknown actors among 100 long names: each error
    // wants a "did you mean" ranking, which must stay bounded (about 2 s unoptimised).
    let fx = Fixture::new();
    let started = std::time::Instant::now();
    let key = "q".repeat(60);
    let mut keys = String::from("[[actor]]\nname = \"a\"\npath = \"kvcounter.wasm\"\n");
    let mut links = keys.clone();
    for i in 0..100 {
        links.push_str(&format!(
            "[[actor]]\nname = \"{key}{i}\"\npath = \"kvcounter.wasm\"\n"
        ));
    }
    let mut i = 0;
    while keys.len() < caplet_manifest::MAX_MANIFEST_BYTES - 100 {
        keys.push_str(&format!("{key}{i} = 1\n"));
        links.push_str(&format!(
            "[[link]]\nactor = \"{key}x{i}\"\ncontract = \"wasmcloud:keyvalue\"\n"
        ));
        i += 1;
    }
    links.truncate(caplet_manifest::MAX_MANIFEST_BYTES - 10);
    links.truncate(links.rfind("[[link]]").unwrap());
    run(&fx, &keys);
    run(&fx, &links);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
