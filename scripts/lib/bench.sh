# Shared by the load benchmarks (bench-http.sh, bench-swap.sh); sourced, not run.
#
# The caller sets BENCH_NAME (messages and the temp folder's name), START_TIMEOUT and
# STOP_TIMEOUT, and defines nothing below. Sourcing creates $work (removed at exit unless
# KEEP_WORK is set) and the cleanup trap that stops every PID in $pids.

say() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$BENCH_NAME" "$*" >&2
	exit 1
}

# --- processes and cleanup --------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/caplet-$BENCH_NAME.XXXXXX")"
pids=()

cleanup() {
	local status=$? pid
	trap - EXIT INT TERM
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ -n "${KEEP_WORK:-}" ]]; then
		say "kept $work"
	else
		rm -rf "$work"
	fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Removes $1 from the pids to clean up.
forget() {
	local pid keep=()
	for pid in "${pids[@]}"; do
		[[ "$pid" == "$1" ]] || keep+=("$pid")
	done
	pids=("${keep[@]}")
}

# Prints a loopback TCP port nothing listens on and that this run has not handed out yet.
used_ports=" "
free_port() {
	local port tries
	for ((tries = 0; tries < 200; tries++)); do
		port=$((20000 + RANDOM % 40000))
		[[ "$used_ports" == *" $port "* ]] && continue
		if ! (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			used_ports+="$port "
			printf '%s\n' "$port"
			return 0
		fi
	done
	die "no free loopback port found"
}

# wait_for_port PID PORT LOG: until something accepts on PORT; fails if PID exits first.
wait_for_port() {
	local pid="$1" port="$2" log="$3" deadline=$((SECONDS + START_TIMEOUT))
	until (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		if ! kill -0 "$pid" 2>/dev/null; then
			sed 's/^/    /' "$log" >&2
			die "the server on port $port exited before it answered (log above)"
		fi
		((SECONDS < deadline)) || die "nothing answered on port $port within ${START_TIMEOUT}s"
		sleep 0.1
	done
}

# stop_server NAME PID LOG: SIGINT, then the process must exit 0 within STOP_TIMEOUT.
stop_server() {
	local name="$1" pid="$2" log="$3" deadline=$((SECONDS + STOP_TIMEOUT)) rc=0
	kill -INT "$pid"
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			kill -KILL "$pid" 2>/dev/null || true
			die "$name did not stop within ${STOP_TIMEOUT}s of SIGINT"
		fi
		sleep 0.1
	done
	wait "$pid" || rc=$?
	forget "$pid"
	if ((rc != 0)); then
		sed 's/^/    /' "$log" >&2
		die "$name exited with status $rc after SIGINT (log above)"
	fi
}

# Fields of a wrk --latency output.
wrk_requests() { awk '/ requests in /{print $1; exit}' "$1"; }
wrk_rate() { awk '/^Requests\/sec:/{print $2; exit}' "$1"; }
wrk_percentile() { awk -v p="$2%" '$1 == p {print $2; exit}' "$1"; }
wrk_non2xx() { awk '/Non-2xx or 3xx responses:/{print $NF; exit}' "$1"; }
wrk_socket_errors() { grep -m1 'Socket errors:' "$1" || true; }

# wrk's "1.23ms" / "850.00us" / "1.02s" in microseconds.
to_us() {
	awk -v v="$1" 'BEGIN {
		if (v ~ /us$/) { sub(/us$/, "", v); printf "%.1f", v }
		else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.1f", v * 1000 }
		else if (v ~ /m$/) { sub(/m$/, "", v); printf "%.1f", v * 60e6 }
		else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.1f", v * 1e6 }
		else { exit 1 }
	}'
}
