#!/usr/bin/env bash
# Builds every guest of the guests/ workspace for wasm32-unknown-unknown (release profile) and
# copies each module to guests/out/<crate name with - replaced by _>.wasm (git-ignored), where
# the host's tests load them with include_bytes!. The workspace's members include the example
# actors under examples/; when the examples' signing key is available (maintainers), the script
# then signs them into their example folders (scripts/sign-examples.sh), otherwise it says so
# in one line and stops there.
#
# Toolchain routes, tried in this order (docs/guests.md, shared/reference/wasm-toolchain.md):
#   rustup  - `rustup target list --installed` lists wasm32-unknown-unknown: plain cargo build.
#   debian  - Debian's rustc-web/cargo-web/rust-web-src/lld-16 (offline): std is rebuilt from
#             source with -Zbuild-std and linked by wasm-ld-16. The packages are installed with
#             apt-get when missing and apt-get is usable (root, or sudo without a password).
#   neither - stop, naming the command that installs one.
#
# Usage: scripts/build-guests.sh [--no-sign]
#   --no-sign   build only; do not sign the examples even when the key is available
#
# Environment:
#   CAPLET_GUESTS_TARGET_DIR  cargo target dir for guests (default: guests/target). Any
#                             CARGO_TARGET_DIR is ignored: the host's build must not share it.
#   CI                        when set, builds with --locked (guests/Cargo.lock must be current).
#   CAPLET_PROBE_VERSION      baked into the probe guest's `version` operation (default v1).
set -euo pipefail

readonly TARGET=wasm32-unknown-unknown
readonly DEBIAN_PACKAGES=(rustc-web cargo-web rust-web-src lld-16)
readonly DEBIAN_LINKER=wasm-ld-16

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
guests="$root/guests"
out="$guests/out"
target_dir="${CAPLET_GUESTS_TARGET_DIR:-$guests/target}"
case "$target_dir" in
/*) ;;
*) target_dir="$PWD/$target_dir" ;;
esac

sign=1
for arg in "$@"; do
	case "$arg" in
	--no-sign) sign=0 ;;
	*)
		printf 'build-guests: error: unknown argument %s (usage: build-guests.sh [--no-sign])\n' "$arg" >&2
		exit 2
		;;
	esac
done

# The host build may export these; guests use another toolchain and std, so never mix them.
# The host's target dir is kept for the signing step, which builds the (host) caplet CLI.
host_target_dir="${CARGO_TARGET_DIR:-}"
case "$host_target_dir" in
"" | /*) ;;
*) host_target_dir="$PWD/$host_target_dir" ;;
esac
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR CARGO_BUILD_TARGET RUSTC RUSTC_BOOTSTRAP

say() { printf 'build-guests: %s\n' "$*"; }
die() {
	printf 'build-guests: error: %s\n' "$*" >&2
	exit 1
}
now_ms() { date +%s%3N; }

started="$(now_ms)"
cd "$guests"

locked=()
if [[ -n "${CI:-}" && "${CI}" != "false" ]]; then
	locked=(--locked)
fi

# --- route (a): rustup with the wasm target installed -------------------------------------
rustup_toolchain() {
	command -v rustup >/dev/null 2>&1 || return 1
	local active installed
	active="$(rustup show active-toolchain 2>/dev/null)" || return 1
	active="${active%% *}"
	[[ -n "$active" ]] || return 1
	installed="$(rustup target list --installed --toolchain "$active" 2>/dev/null)" || return 1
	grep -qx "$TARGET" <<<"$installed" || return 1
	printf '%s\n' "$active"
}

# --- route (b): Debian's toolchain ----------------------------------------------------------
# The oldest rustc the guests accept: the workspace's rust-version.
min_rustc="$(awk -F'"' '/^rust-version = /{print $2; exit}' "$guests/Cargo.toml")"

debian_route_ready() {
	[[ -x /usr/bin/rustc && -x /usr/bin/cargo ]] || return 1
	command -v "$DEBIAN_LINKER" >/dev/null 2>&1 || return 1
	local sysroot version
	sysroot="$(/usr/bin/rustc --print sysroot 2>/dev/null)" || return 1
	[[ -f "$sysroot/lib/rustlib/src/rust/library/std/Cargo.toml" ]] || return 1
	# Debian's plain `rustc` package is too old for these crates; rustc-web is recent.
	version="$(/usr/bin/rustc --version 2>/dev/null)" || return 1
	version="$(awk '{print $2}' <<<"$version")"
	printf '%s\n%s\n' "${min_rustc:-0}" "${version%%-*}" | sort -V -C
}

# Prints the command prefix that runs apt-get as root ("" when already root), or fails.
apt_prefix() {
	command -v apt-get >/dev/null 2>&1 || return 1
	if [[ "$(id -u)" -eq 0 ]]; then
		printf '\n'
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		printf 'sudo -n\n'
	else
		return 1
	fi
}

install_debian_toolchain() {
	local prefix
	prefix="$(apt_prefix)" || return 1
	say "installing ${DEBIAN_PACKAGES[*]} with apt-get"
	# shellcheck disable=SC2086 # $prefix is empty or "sudo -n", split on purpose
	$prefix env DEBIAN_FRONTEND=noninteractive apt-get update </dev/null ||
		die "apt-get update failed"
	# shellcheck disable=SC2086
	$prefix env DEBIAN_FRONTEND=noninteractive apt-get install -y "${DEBIAN_PACKAGES[@]}" </dev/null ||
		die "apt-get install ${DEBIAN_PACKAGES[*]} failed; alternatively run: rustup target add $TARGET"
}

# --- choose and build -----------------------------------------------------------------------
# Panic locations embed source paths: map the checkout and the cargo home to fixed names so a
# module built here does not carry this machine's directories (and builds the same elsewhere).
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
remap=(--config "build.rustflags=[\"--remap-path-prefix=$root=/caplet\", \"--remap-path-prefix=$cargo_home=/cargo\"]")

if toolchain="$(rustup_toolchain)"; then
	say "route: rustup ($toolchain, target $TARGET installed)"
	rustup run "$toolchain" cargo build --release --target "$TARGET" --workspace \
		--target-dir "$target_dir" "${locked[@]}" "${remap[@]}"
else
	if ! debian_route_ready; then
		if apt_prefix >/dev/null; then
			install_debian_toolchain
			debian_route_ready || die "Debian's toolchain is still unusable after installing ${DEBIAN_PACKAGES[*]} (need rustc >= ${min_rustc}, $DEBIAN_LINKER and the std sources)"
		else
			die "no toolchain for $TARGET. Run one of:
    rustup target add $TARGET
    sudo apt-get update && sudo apt-get install -y ${DEBIAN_PACKAGES[*]}    (offline route, Debian)"
		fi
	fi
	say "route: debian ($(/usr/bin/rustc --version), -Zbuild-std, linker $DEBIAN_LINKER)"
	RUSTC_BOOTSTRAP=1 RUSTC=/usr/bin/rustc /usr/bin/cargo build --release --target "$TARGET" \
		--workspace --target-dir "$target_dir" "${locked[@]}" "${remap[@]}" \
		-Zbuild-std=std,panic_abort \
		--config "target.$TARGET.linker=\"$DEBIAN_LINKER\""
fi

# --- copy the modules -----------------------------------------------------------------------
# The members of the guests workspace, as written in guests/Cargo.toml (paths relative to
# guests/, some outside it: the example actors live in examples/). One per line.
workspace_members() {
	awk '
		/^members[[:space:]]*=/ { inside = 1 }
		inside {
			line = $0
			sub(/#.*/, "", line)
			while (match(line, /"[^"]+"/)) {
				print substr(line, RSTART + 1, RLENGTH - 2)
				line = substr(line, RSTART + RLENGTH)
			}
			if ($0 ~ /\]/) exit
		}
	' "$guests/Cargo.toml"
}

# Copy only what changed, so unchanged modules keep their mtime and the host does not rebuild.
mkdir -p "$out"
built="$target_dir/$TARGET/release"
produced=()
for member in $(workspace_members); do
	manifest="$guests/$member/Cargo.toml"
	[[ -f "$manifest" ]] || die "guests/Cargo.toml lists member $member, but $manifest does not exist"
	grep -q 'cdylib' "$manifest" || continue
	crate="$(awk -F'"' '/^name = /{print $2; exit}' "$manifest")"
	[[ -n "$crate" ]] || die "no package name in $manifest"
	module="${crate//-/_}.wasm"
	[[ -f "$built/$module" ]] || die "$crate did not produce $built/$module"
	if [[ " ${produced[*]} " == *" $module "* ]]; then
		die "two guests produce $module; rename one crate (the module is named after the crate)"
	fi
	if cmp -s "$built/$module" "$out/$module"; then
		state=unchanged
	else
		cp "$built/$module" "$out/$module.tmp"
		mv "$out/$module.tmp" "$out/$module"
		state=updated
	fi
	produced+=("$module")
	printf '  %-20s %9d bytes  %s\n' "$module" "$(wc -c <"$out/$module")" "$state"
done
[[ ${#produced[@]} -gt 0 ]] || die "no cdylib guests among the members of guests/Cargo.toml"

# Drop modules of guests that no longer exist.
for stale in "$out"/*.wasm; do
	[[ -e "$stale" ]] || continue
	name="${stale##*/}"
	if [[ " ${produced[*]} " != *" $name "* ]]; then
		rm -f "$stale"
		say "removed stale $name"
	fi
done

say "done: ${#produced[@]} modules in ${out#"$root"/}/ ($(($(now_ms) - started)) ms)"

# --- sign the examples (maintainers only) ---------------------------------------------------
# With the examples account's seed, the shipped example modules are re-signed when their code
# changed; without it (contributors, CI) this prints one line and the build is still complete.
if ((sign)); then
	if [[ -n "$host_target_dir" ]]; then
		CARGO_TARGET_DIR="$host_target_dir" bash "$root/scripts/sign-examples.sh" --no-build --if-key-available
	else
		bash "$root/scripts/sign-examples.sh" --no-build --if-key-available
	fi
fi
