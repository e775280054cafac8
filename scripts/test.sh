#!/usr/bin/env bash
# Sets up and runs every check Caplet has: builds the Wasm guests (installing the toolchain
# route it needs), then formatting, lints and the whole test suite.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/lib/packages.sh
source scripts/lib/packages.sh
# The Redis and NATS providers are tested against real servers (crates/caplet-testkit).
ensure_packages "the Redis and NATS provider tests" redis-server:redis-server nats-server:nats-server

bash scripts/build-guests.sh

echo "==> cargo fmt --check"
cargo fmt --all --check
cargo fmt --all --check --manifest-path guests/Cargo.toml
cargo fmt --all --check --manifest-path fuzz/Cargo.toml

echo "==> cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The fuzz targets are their own workspace (running them needs nightly and cargo-fuzz, see
# fuzz/README.md); checking that they still compile catches an API change that breaks them.
echo "==> cargo check (fuzz targets)"
cargo check --manifest-path fuzz/Cargo.toml --bins --locked

echo "==> cargo test"
cargo test --workspace --locked
