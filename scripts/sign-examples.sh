#!/usr/bin/env bash
# Builds the guests and signs the example actors with the Caplet examples account, writing each
# signed module beside its manifest (examples/kvcounter/kvcounter.wasm, ...). Those files are
# committed, so `caplet up examples/kvcounter` works without a Wasm toolchain. Only maintainers
# hold the account's seed; everyone else signs with their own account (see docs/examples.md).
#
# A module whose code, name, capabilities and version are unchanged keeps its signed file as
# it is (no new token, no git diff); a changed one is re-signed with rev = previous rev + 1, so
# a running host accepts it as a live update. Each actor keeps its module key (its identity,
# the token's `sub`) in the keys dir as caplet-examples-<actor>_module.nk.
#
# Usage: scripts/sign-examples.sh [--no-build] [--if-key-available]
#   --no-build           sign what guests/out/ holds (build-guests.sh calls it this way)
#   --if-key-available   without the examples seed, say so in one line and exit 0
#
# Environment:
#   CAPLET_EXAMPLES_ACCOUNT_SEED  the examples account's seed (SA...), e.g. from a CI secret;
#                                 else <keys dir>/caplet-examples_account.nk
#   CAPLET_KEYS_DIR               keys dir (default ~/.caplet/keys), as for `caplet`
#   CAPLET                        command that runs the caplet CLI (default: builds it with
#                                 `cargo build -p caplet`, honouring CARGO_TARGET_DIR)
set -euo pipefail

# The account that signs the shipped examples; every example manifest trusts exactly this key.
readonly EXAMPLES_ACCOUNT=AAGJQGRCVV7TIBOQLUPMYYKXDFWL6XTVFVC3UEML4O6TE7IAXTJGEF4Y
readonly ACCOUNT_NAME=caplet-examples

# actor name | module in guests/out | signed file (from the repo root) | capability flags
readonly EXAMPLES=(
	"kvcounter|kvcounter.wasm|examples/kvcounter/kvcounter.wasm|-q -k"
	"echo|echo.wasm|examples/echo/echo.wasm|-q"
	"iot-ingest|iot_ingest.wasm|examples/iot/iot_ingest.wasm|-g -k"
	"iot-dashboard|iot_dashboard.wasm|examples/iot/iot_dashboard.wasm|-q -k -g"
	"hello|hello.wasm|guests/hello/hello.wasm|-q"
)

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf 'sign-examples: %s\n' "$*"; }
die() {
	printf 'sign-examples: error: %s\n' "$*" >&2
	exit 1
}

build=1
if_key=0
for arg in "$@"; do
	case "$arg" in
	--no-build) build=0 ;;
	--if-key-available) if_key=1 ;;
	-h | --help)
		sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown argument $arg (see --help)" ;;
	esac
done

keys_dir="${CAPLET_KEYS_DIR:-$HOME/.caplet/keys}"
account_file="$keys_dir/${ACCOUNT_NAME}_account.nk"

# --- the examples account -------------------------------------------------------------------
issuer_args=()
if [[ -n "${CAPLET_EXAMPLES_ACCOUNT_SEED:-}" ]]; then
	# `caplet claims sign` reads a seed (not a path) from CAPLET_ISSUER_KEY.
	export CAPLET_ISSUER_KEY="$CAPLET_EXAMPLES_ACCOUNT_SEED"
elif [[ -f "$account_file" ]]; then
	unset CAPLET_ISSUER_KEY
	issuer_args=(--issuer-key "$account_file")
elif ((if_key)); then
	say "skipped: no examples signing key (only maintainers re-sign the shipped examples; see docs/examples.md)"
	exit 0
else
	die "the examples signing key is not available: neither \$CAPLET_EXAMPLES_ACCOUNT_SEED nor $account_file.
Only Caplet's maintainers can re-sign the shipped examples (account $EXAMPLES_ACCOUNT).
To run your own build, sign it with your own account instead:
    caplet keys gen account --name me
    caplet claims sign guests/out/kvcounter.wasm -o examples/kvcounter/kvcounter.wasm \\
        --name kvcounter -q -k --issuer-key $keys_dir/me_account.nk
and put your account's public key (printed by the first command) in the manifest's
[host] issuers, e.g. examples/kvcounter/caplet.toml. docs/examples.md has every example's flags."
fi

if ((build)); then
	bash "$root/scripts/build-guests.sh" --no-sign
fi

cd "$root"
if [[ -n "${CAPLET:-}" ]]; then
	read -r -a caplet <<<"$CAPLET"
else
	# Build the CLI once rather than asking cargo before each of the ~30 calls below.
	cargo build -q -p caplet || die "cannot build the caplet CLI (cargo build -p caplet)"
	caplet=("${CARGO_TARGET_DIR:-$root/target}/debug/caplet")
fi

# The value of a string or number field in `caplet claims inspect --json` (compact JSON).
field() {
	local json="$1" key="$2"
	sed -n "s/.*\"$key\":\"\{0,1\}\([^\",}]*\).*/\1/p" <<<"$json"
}
# The capabilities list, as written in the token.
caps_of() { sed -n 's/.*"caps":\(\[[^]]*\]\).*/\1/p' <<<"$1"; }
inspect() { "${caplet[@]}" claims inspect "$1" --json 2>/dev/null; }

# Signs $input as $name with $flags and $module_key into $1 with revision $2.
sign() {
	# shellcheck disable=SC2086 # $flags holds several flags on purpose
	"${caplet[@]}" claims sign "$input" -o "$1" --name "$name" $flags --tag example \
		--ver "$version" --rev "$2" "${issuer_args[@]}" --module-key "$module_key" \
		--keys-dir "$keys_dir" >/dev/null
}

version="$(awk -F'"' '/^version = /{print $2; exit}' guests/Cargo.toml)"
[[ -n "$version" ]] || die "no version in guests/Cargo.toml [workspace.package]"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

for entry in "${EXAMPLES[@]}"; do
	IFS='|' read -r name module signed flags <<<"$entry"
	input="guests/out/$module"
	[[ -f "$input" ]] || die "$input is missing; run scripts/build-guests.sh"
	module_key="$keys_dir/${ACCOUNT_NAME}-${name}_module.nk"
	if [[ ! -f "$module_key" ]]; then
		output="$("${caplet[@]}" keys gen module --name "${ACCOUNT_NAME}-${name}" --keys-dir "$keys_dir" 2>&1)" ||
			die "cannot create $module_key: $output"
		say "generated the module key of $name: $module_key (keep it: it is the actor's identity)"
	fi

	previous="$(inspect "$signed" || true)"
	old_rev="$(field "$previous" rev)"
	sign "$scratch/$module" "${old_rev:-1}"
	fresh="$(inspect "$scratch/$module")" || die "cannot inspect the module just signed for $name"
	issuer="$(field "$fresh" iss)"
	[[ "$issuer" == "$EXAMPLES_ACCOUNT" ]] ||
		die "the signing key is account $issuer, not the examples account $EXAMPLES_ACCOUNT; the example manifests trust only the latter"

	same=1
	for key in hash name ver sub iss; do
		[[ "$(field "$fresh" "$key")" == "$(field "$previous" "$key")" ]] || same=0
	done
	[[ "$(caps_of "$fresh")" == "$(caps_of "$previous")" ]] || same=0
	if ((same)); then
		state="unchanged (rev $old_rev)"
	else
		old_sub="$(field "$previous" sub)"
		new_sub="$(field "$fresh" sub)"
		if [[ -n "$old_sub" && "$old_sub" != "$new_sub" ]]; then
			say "warning: $name's identity changes from $old_sub to $new_sub (its module key is not the one it was signed with)"
		fi
		rev=$((${old_rev:-0} + 1))
		sign "$scratch/$module" "$rev"
		cp "$scratch/$module" "$signed.tmp"
		mv "$signed.tmp" "$signed"
		state="signed (rev $rev)"
	fi
	"${caplet[@]}" claims verify "$signed" --issuer "$EXAMPLES_ACCOUNT" >/dev/null ||
		die "$signed does not verify; see: caplet claims verify $signed --issuer $EXAMPLES_ACCOUNT"
	printf '  %-42s %9d bytes  %s\n' "$signed" "$(wc -c <"$signed")" "$state"
done
say "done: the signed examples verify for account $EXAMPLES_ACCOUNT"
