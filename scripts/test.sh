#!/usr/bin/env bash
# Sets up and runs every check Caplet has: builds the Wasm guests (installing the toolchain
# route it needs), then formatting, lints and the whole test suite.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/build-guests.sh

echo "==> cargo fmt --check"
cargo fmt --all --check
cargo fmt --all --check --manifest-path guests/Cargo.toml

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "==> cargo test"
cargo test --workspace --locked
