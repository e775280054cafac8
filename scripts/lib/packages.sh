# Sourced by the project's scripts: installs Debian packages that a step needs when their
# binaries are missing. Usage: ensure_packages "why" binary:package [binary:package ...]
# A binary counts as present when it is on PATH or in /usr/sbin (where Debian puts nats-server).

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

has_binary() {
	command -v "$1" >/dev/null 2>&1 || [[ -x "/usr/sbin/$1" ]]
}

ensure_packages() {
	local why="$1"
	shift
	local missing=() pair
	for pair in "$@"; do
		has_binary "${pair%%:*}" || missing+=("${pair#*:}")
	done
	((${#missing[@]} == 0)) && return 0
	local prefix
	if ! prefix="$(apt_prefix)"; then
		printf 'error: %s needs %s. Install with: sudo apt-get install -y %s\n' \
			"$why" "${missing[*]}" "${missing[*]}" >&2
		return 1
	fi
	printf '==> installing %s (%s)\n' "${missing[*]}" "$why"
	# shellcheck disable=SC2086 # $prefix is empty or "sudo -n", split on purpose
	$prefix env DEBIAN_FRONTEND=noninteractive apt-get update </dev/null >/dev/null
	# shellcheck disable=SC2086
	$prefix env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" </dev/null >/dev/null
}
