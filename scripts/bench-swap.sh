#!/usr/bin/env bash
# Hot swap latency benchmark (issue 5): p99 latency of HTTP requests while an actor is swapped
# 50 times between two versions, against the steady p99 of the same host, in the same run.
# Goal: p99 during the swaps ≤ 2 × steady p99. The numbers go into BENCHMARKS.md ("Hot swap
# latency (issue 5)").
#
# Steps: build release `caplet`; build the guests when guests/out lacks them; sign two versions
# of one actor with a throwaway account and one module key: version A is the hello guest
# ("Hello, world!"), version B the echo example actor (the request as JSON), each signed once
# per swap with a rising `rev` (a live update must raise it); start
#   caplet up DIR          (actor `swappy`, INSTANCES warm instances, control API on a free port)
# wait until it serves, warm up, then on the same host:
#   1. steady: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency, no swap;
#   2. swaps:  the same wrk run while SWAPS × `caplet ctl actor update swappy vN.wasm` run one
#              after the other, spread evenly over the run (A→B→A→…), each through the control
#              API (base64 upload, verify, compile, warm, atomic swap);
#   3. steady again (machine load drifts: the ratio divides by the mean of runs 1 and 3);
# and check that every answer was 2xx, every swap succeeded inside the measured window, the
# last version serves and its `rev` is SWAPS + 1, and the host stops cleanly on SIGINT.
#
# Environment:
#   DURATION      seconds of each measured run (default 40)
#   WARMUP        seconds of wrk before measuring (default 2)
#   SWAPS         swaps during the second run (default 50)
#   CONNECTIONS   wrk connections (default 32)
#   THREADS       wrk threads (default 2)
#   INSTANCES     `instances` of the actor (default 2)
#   KEEP_WORK     when set, keep the temp folder (manifest, modules, logs, wrk outputs)
#   NO_CACHE      when set, run the host without its compile cache, so every swap compiles
#                 (swaps to code the host has never seen)
#   NO_BUILD      when set, use the release binary already built instead of running cargo
#   CARGO_TARGET_DIR  where cargo builds (default: the workspace's target/)
#
# Exit status: 0 when the run was valid (all answers 2xx, all swaps done in the window, clean
# stop), whether or not the goal was met; the last lines say which.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/packages.sh
source "$root/scripts/lib/packages.sh"

readonly DURATION="${DURATION:-40}"
readonly WARMUP="${WARMUP:-2}"
readonly SWAPS="${SWAPS:-50}"
readonly CONNECTIONS="${CONNECTIONS:-32}"
readonly THREADS="${THREADS:-2}"
readonly INSTANCES="${INSTANCES:-2}"
readonly START_TIMEOUT=30
readonly STOP_TIMEOUT=20
readonly GOAL=2

readonly BENCH_NAME=bench-swap
# shellcheck source=scripts/lib/bench.sh
source "$root/scripts/lib/bench.sh"

for value in "$DURATION" "$WARMUP" "$SWAPS" "$CONNECTIONS" "$THREADS" "$INSTANCES"; do
	[[ "$value" =~ ^[1-9][0-9]*$ ]] || die "DURATION, WARMUP, SWAPS, CONNECTIONS, THREADS and INSTANCES must be positive integers (got '$value')"
done
((DURATION >= 4)) || die "DURATION must be at least 4 seconds (the swaps start 1 s in and end 1 s before the end)"

ensure_packages "the hot swap benchmark" wrk:wrk curl:curl

# --- build ------------------------------------------------------------------------------------
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
/*) ;;
*) target_dir="$PWD/$target_dir" ;;
esac
if [[ -z "${NO_BUILD:-}" ]]; then
	say "building release caplet (target dir $target_dir)"
	(cd "$root" && CARGO_TARGET_DIR="$target_dir" cargo build --release --quiet -p caplet)
fi
[[ -x "$target_dir/release/caplet" ]] || die "$target_dir/release/caplet is missing (build it, or unset NO_BUILD)"
# A private copy: a concurrent build in the shared target dir cannot swap it mid-run.
cp "$target_dir/release/caplet" "$work/caplet"
caplet="$work/caplet"

guests="$root/guests/out"
if [[ ! -f "$guests/hello.wasm" || ! -f "$guests/echo.wasm" ]]; then
	say "building the guests"
	bash "$root/scripts/build-guests.sh" --no-sign
fi

# --- sign: version A (hello) and B (echo), one module key, rev 1 … SWAPS+1 ---------------------
keys="$work/keys"
account="$("$caplet" keys gen account --keys-dir "$keys" 2>/dev/null)"
[[ "$account" =~ ^A[A-Z2-7]{55}$ ]] || die "caplet keys gen account printed '$account', not an account key"
module_key="$keys/swappy_module.nk"
# sign REV: v$REV.wasm, version A for odd revs, B for even ones.
sign() {
	local rev="$1" input="$guests/hello.wasm" key=()
	((rev % 2 == 1)) || input="$guests/echo.wasm"
	# The first signature generates the module key; every later one reuses it (same identity).
	[[ -f "$module_key" ]] && key=(--module-key "$module_key")
	cp "$input" "$work/swappy.wasm"
	"$caplet" claims sign "$work/swappy.wasm" -o "$work/v$rev.wasm" --name swappy -q --rev "$rev" \
		"${key[@]}" --keys-dir "$keys" >"$work/sign.log" 2>&1 || {
		sed 's/^/    /' "$work/sign.log" >&2
		die "cannot sign version $rev (output above)"
	}
}
for ((rev = 1; rev <= SWAPS + 1; rev++)); do
	sign "$rev"
done
[[ -f "$module_key" ]] || die "signing did not leave the module key at $module_key"

# --- start ------------------------------------------------------------------------------------
port="$(free_port)"
control_port="$(free_port)"
dir="$work/host"
mkdir -p "$dir"
cp "$work/v1.wasm" "$dir/swappy.wasm"
cat >"$dir/caplet.toml" <<EOF
[host]
issuers = ["$account"]
control_api = "127.0.0.1:$control_port"
control_token_file = "control.token"

[[actor]]
name = "swappy"
path = "swappy.wasm"
instances = $INSTANCES

[[link]]
actor = "swappy"
contract = "wasmcloud:httpserver"
[link.values]
address = "127.0.0.1:$port"
EOF
log="$dir/server.log"
cache_dir="$work/cache"
# NO_CACHE: no compile cache, so every swap compiles its module (code never seen before).
[[ -z "${NO_CACHE:-}" ]] || cache_dir=""
CAPLET_CACHE_DIR="$cache_dir" "$caplet" up "$dir" >"$log" 2>&1 &
pid=$!
pids+=("$pid")
deadline=$((SECONDS + START_TIMEOUT))
until grep -qs 'caplet: serving' "$log"; do
	if ! kill -0 "$pid" 2>/dev/null; then
		sed 's/^/    /' "$log" >&2
		die "caplet up exited before it served (log above)"
	fi
	((SECONDS < deadline)) || die "caplet up never said it was serving (log: $log)"
	sleep 0.1
done
url="http://127.0.0.1:$port/"
body="$(curl -fsS --max-time 5 "$url")" || die "GET $url failed"
[[ "$body" == "Hello, world!" ]] || die "unexpected answer from version A: '$body'"

ctl() { "$caplet" ctl --addr "127.0.0.1:$control_port" --token-file "$dir/control.token" "$@"; }

# --- measure ----------------------------------------------------------------------------------
check_wrk() {
	local file="$1" non2xx socket_errors
	non2xx="$(wrk_non2xx "$file")"
	if [[ -n "$non2xx" ]]; then
		sed 's/^/    /' "$file" >&2
		tail -n 20 "$log" | sed 's/^/    /' >&2
		die "$non2xx answers were not 2xx in $file (wrk output and server log above)"
	fi
	socket_errors="$(wrk_socket_errors "$file")"
	[[ -z "$socket_errors" ]] || die "$socket_errors in $file: requests failed"
}

say "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"
say "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency (after ${WARMUP}s of warm-up); instances = $INSTANCES"
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$url" >"$work/wrk-warmup.txt"
check_wrk "$work/wrk-warmup.txt"

wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url" >"$work/wrk-steady.txt"
check_wrk "$work/wrk-steady.txt"

# Swaps: start 1 s into the run, one every (DURATION - 2) / SWAPS s, all done 1 s before it ends.
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url" >"$work/wrk-swaps.txt" &
wrk_pid=$!
pids+=("$wrk_pid")
run_started="$(date +%s%N)"
interval_ns="$(((DURATION - 2) * 1000000000 / SWAPS))"
swap_ms=()
for ((swap = 1; swap <= SWAPS; swap++)); do
	due=$((run_started + 1000000000 + (swap - 1) * interval_ns))
	now="$(date +%s%N)"
	if ((due > now)); then
		sleep "$(awk -v ns=$((due - now)) 'BEGIN { printf "%.3f", ns / 1e9 }')"
	fi
	rev=$((swap + 1))
	began="$(date +%s%N)"
	ctl actor update swappy "$work/v$rev.wasm" >"$work/swap-$swap.log" 2>&1 || {
		sed 's/^/    /' "$work/swap-$swap.log" >&2
		die "swap $swap (to rev $rev) failed (output above)"
	}
	swap_ms+=("$((($(date +%s%N) - began) / 1000000))")
done
swaps_done="$(date +%s%N)"
wait "$wrk_pid"
forget "$wrk_pid"
check_wrk "$work/wrk-swaps.txt"
swaps_span="$(awk -v a="$run_started" -v b="$swaps_done" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')"
swap_stats="$(printf '%s\n' "${swap_ms[@]}" | sort -n | awk '{ v[NR] = $1; s += $1 } END {
	printf "median %d ms, max %d ms, mean %.0f ms", v[int((NR + 1) / 2)], v[NR], s / NR }')"
((swaps_done <= run_started + DURATION * 1000000000)) ||
	die "the swaps outlasted the ${DURATION}s run (they took ${swaps_span}s; each: $swap_stats); raise DURATION"

# Steady again, on the last version: machine load drifts, so the swaps are compared with the
# mean of the steady runs before and after them.
wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url" >"$work/wrk-steady-after.txt"
check_wrk "$work/wrk-steady-after.txt"

# --- check the end state and stop -------------------------------------------------------------
final_rev="$(ctl --json inventory | awk 'match($0, /"rev": *[0-9]+/) { s = substr($0, RSTART, RLENGTH); sub(/.*: */, "", s); print s; exit }')"
[[ "$final_rev" == "$((SWAPS + 1))" ]] || die "the actor's rev is '$final_rev' after $SWAPS swaps, expected $((SWAPS + 1))"
body="$(curl -fsS --max-time 5 "$url")" || die "GET $url failed after the swaps"
if (((SWAPS + 1) % 2 == 1)); then
	[[ "$body" == "Hello, world!" ]] || die "version A should serve after the swaps, got '$body'"
else
	[[ "$body" == "{"* ]] || die "version B (echo) should serve after the swaps, got '$body'"
fi
stop_server "caplet up" "$pid" "$log"

# --- report -----------------------------------------------------------------------------------
steady_p50="$(wrk_percentile "$work/wrk-steady.txt" 50)"
steady_p99="$(wrk_percentile "$work/wrk-steady.txt" 99)"
after_p50="$(wrk_percentile "$work/wrk-steady-after.txt" 50)"
after_p99="$(wrk_percentile "$work/wrk-steady-after.txt" 99)"
after_rate="$(wrk_rate "$work/wrk-steady-after.txt")"
after_n="$(wrk_requests "$work/wrk-steady-after.txt")"
swaps_p50="$(wrk_percentile "$work/wrk-swaps.txt" 50)"
swaps_p99="$(wrk_percentile "$work/wrk-swaps.txt" 99)"
steady_rate="$(wrk_rate "$work/wrk-steady.txt")"
swaps_rate="$(wrk_rate "$work/wrk-swaps.txt")"
steady_n="$(wrk_requests "$work/wrk-steady.txt")"
swaps_n="$(wrk_requests "$work/wrk-swaps.txt")"
ratio="$(awk -v a="$(to_us "$swaps_p99")" -v b="$(to_us "$steady_p99")" -v c="$(to_us "$after_p99")" \
	'BEGIN { printf "%.2f", a / ((b + c) / 2) }')"
if awk -v r="$ratio" -v g="$GOAL" 'BEGIN { exit !(r <= g) }'; then
	verdict="≤ ${GOAL}× — met"
else
	verdict="≤ ${GOAL}× — **not met**"
fi
say "$SWAPS swaps done ${swaps_span}s into the ${DURATION}s run; each \`caplet ctl actor update\`: $swap_stats"
say "no request failed (steady: $steady_n + $after_n, during swaps: $swaps_n); final rev $final_rev; clean stop"
printf '\n| run | req/s | p50 | p99 | requests |\n|---|---|---|---|---|\n'
printf '| steady, before | %s | %s | %s | %s |\n' "$steady_rate" "$steady_p50" "$steady_p99" "$steady_n"
printf '| %s swaps | %s | %s | %s | %s |\n' "$SWAPS" "$swaps_rate" "$swaps_p50" "$swaps_p99" "$swaps_n"
printf '| steady, after | %s | %s | %s | %s |\n' "$after_rate" "$after_p50" "$after_p99" "$after_n"
printf '\np99 during swaps / mean steady p99 = %s× (goal %s)\n' "$ratio" "$verdict"
