#!/usr/bin/env bash
# The release build of `caplet` with profile-guided optimisation (PGO), and of `caplet-baseline`
# (the HTTP benchmark's native side) the same way, so that benchmarks compare equal builds.
#
# Why: Caplet's request path runs through a lot of code (hyper, tokio, the host's tables, the
# runtime, wasmtime's entry and fibers, the providers), likely on caches the kernel's network
# stack has just used (an inference: this VM has no hardware counters; docs/release.md). PGO
# lets the compiler lay out and inline that path from a measured profile. On kvcounter-redis it
# cut Caplet's CPU per request by about 12 % (its user time by 20 %), the native server's by
# about 5 % (BENCHMARKS.md, fifteenth round). Guest code is compiled by wasmtime at load time
# and is not affected.
#
# Steps:
#   1. find `llvm-profdata` for rustc's LLVM (same major version): rustup's `llvm-tools`
#      component first (installed with `rustup component add llvm-tools` when missing), else
#      Debian's `llvm-profdata-<major>` (package `llvm-<major>`, installed when it can be);
#   2. build both binaries instrumented (`-Cprofile-generate`) in $target/pgo-train;
#   3. train them: `scripts/bench-http.sh` on the instrumented binaries, one short round of each
#      case (the hello actor, kvcounter on the in-memory store and on Redis, and the same
#      three on the native side), so the profile is the host's HTTP and key-value path;
#   4. merge the profiles and build both binaries with `-Cprofile-use` in $target/pgo. Prints
#      that folder's `release/` on stdout.
# Code the training does not run (messaging, NATS, the HTTP client, the control API) is built
# as cold: correct, but laid out for size. docs/release.md says how to train on another load.
#
# The extra flags go in through `cargo --config target.<host>.rustflags`, which cargo joins with
# .cargo/config.toml's flags instead of replacing them (RUSTFLAGS would replace them).
#
# Environment:
#   CARGO_TARGET_DIR  where cargo builds (default: the workspace's target/)
#   TRAIN_SECONDS     seconds of wrk per server while training (default 5)
#
# Needs wrk, redis-server and curl for the training (installed when missing, as the benchmark
# does). A cold run takes about 20 minutes on two cores: two whole-program-optimised builds.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/packages.sh
source "$root/scripts/lib/packages.sh"

readonly TRAIN_SECONDS="${TRAIN_SECONDS:-5}"

say() { printf 'build-release: %s\n' "$*" >&2; }
die() {
	printf 'build-release: error: %s\n' "$*" >&2
	exit 1
}

[[ "$TRAIN_SECONDS" =~ ^[1-9][0-9]*$ ]] || die "TRAIN_SECONDS must be a positive integer (got '$TRAIN_SECONDS')"

target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
/*) ;;
*) target_dir="$PWD/$target_dir" ;;
esac
train_dir="$target_dir/pgo-train"
final_dir="$target_dir/pgo"
profiles="$train_dir/profiles"
merged="$train_dir/merged.profdata"

host="$(rustc -vV | awk '/^host:/ { print $2 }')"
llvm_major="$(rustc -vV | awk '/^LLVM version:/ { split($3, v, "."); print v[1] }')"
[[ -n "$host" && -n "$llvm_major" ]] || die "cannot read the host triple and LLVM version from 'rustc -vV'"

# Prints the path of an llvm-profdata that reads rustc's profiles, or fails.
find_profdata() {
	local tool
	tool="$(rustc --print sysroot)/lib/rustlib/$host/bin/llvm-profdata"
	if [[ ! -x "$tool" ]] && command -v rustup >/dev/null 2>&1; then
		say "adding rustup's llvm-tools component (for llvm-profdata)"
		rustup component add llvm-tools >&2 2>/dev/null || true
	fi
	if [[ -x "$tool" ]]; then
		printf '%s\n' "$tool"
		return 0
	fi
	tool="llvm-profdata-$llvm_major"
	ensure_packages "PGO (llvm-profdata for rustc's LLVM $llvm_major)" "$tool:llvm-$llvm_major" >&2 ||
		return 1
	command -v "$tool"
}

profdata="$(find_profdata)" ||
	die "no llvm-profdata for LLVM $llvm_major: run 'rustup component add llvm-tools' or 'sudo apt-get install llvm-$llvm_major', or build without PGO: cargo build --release -p caplet"
say "llvm-profdata: $profdata"

# build DIR FLAG: both binaries, release profile, with FLAG added to the host's rustflags.
build() {
	(cd "$root" && CARGO_TARGET_DIR="$1" cargo build --release --quiet -p caplet -p caplet-baseline \
		--config "target.$host.rustflags = ['$2']")
}

say "1/3 instrumented build in $train_dir"
build "$train_dir" "-Cprofile-generate=$profiles"

say "2/3 training: scripts/bench-http.sh, one round of ${TRAIN_SECONDS}s per server"
rm -rf "$profiles"
mkdir -p "$profiles"
log="$train_dir/training.log"
# %m keeps one file per binary, %p one per process, so concurrent processes never share a file.
if ! LLVM_PROFILE_FILE="$profiles/%m-%p.profraw" CARGO_TARGET_DIR="$train_dir" NO_BUILD=1 PGO=0 \
	ROUNDS=1 DURATION="$TRAIN_SECONDS" WARMUP=1 bash "$root/scripts/bench-http.sh" >"$log" 2>&1; then
	sed 's/^/    /' "$log" >&2
	die "the training run failed (output above)"
fi
compgen -G "$profiles/*.profraw" >/dev/null || die "the training run wrote no profile to $profiles"
"$profdata" merge -o "$merged" "$profiles"/*.profraw
# The profile's name carries its hash: cargo rebuilds when its flags change, not when a file
# they name does, and a build must use the profile just measured.
mkdir -p "$final_dir"
profile="$final_dir/caplet-$(sha256sum "$merged" | cut -c1-16).profdata"
cp "$merged" "$profile"
find "$final_dir" -maxdepth 1 -name 'caplet-*.profdata' ! -path "$profile" -delete

say "3/3 optimised build in $final_dir"
build "$final_dir" "-Cprofile-use=$profile"
say "done: $final_dir/release/caplet"
printf '%s\n' "$final_dir/release"
