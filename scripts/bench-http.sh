#!/usr/bin/env bash
# HTTP load benchmark: `caplet up` serving the hello and kvcounter actors, against the same logic
# as a plain native hyper service (crates/caplet-baseline), with the same wrk settings for both.
# The numbers go into BENCHMARKS.md ("HTTP: caplet up vs native hyper").
#
# Steps: build release `caplet` and `caplet-baseline` (with PGO unless PGO=0); build the guests
# when guests/out lacks them; sign hello and kvcounter with a throwaway account in a temp folder;
# start a private redis-server; then for each case (hello, kvcounter-memory, kvcounter-redis)
# run Caplet and then the baseline on a free loopback port: wait until it answers, warm up,
# measure with
#   wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency http://127.0.0.1:PORT/
# and stop it with SIGINT (it must exit 0). The kvcounter cases also check the answers: the
# counter read after the run must have grown by at least the requests wrk completed. Caplet runs
# as `caplet up --no-control` (the control API would take port 7171 and write a token under
# ~/.caplet). Besides req/s and latency, the script reports the server's CPU time per request
# (user + system, from /proc): on a shared machine it moves much less than req/s. It also
# reports, for the same window, what wrk and Redis used per request and how much CPU stayed
# idle, since on a small machine they share the server's cores.
# wrk, redis-server and both servers all run in this script's session, so with the kernel's
# autogroup scheduling they share one CPU group; giving Redis or wrk a session of their own
# (setsid) moves the Redis ratio between 0.75x and 0.89x on two cores (BENCHMARKS.md, ninth
# round), so compare runs only with the same placement.
#
# Environment:
#   DURATION      seconds measured per server (default 10)
#   WARMUP        seconds of wrk before measuring (default 2)
#   CONNECTIONS   wrk connections (default 32)
#   THREADS       wrk threads (default 2)
#   INSTANCES     `instances` of each actor in the manifest (default 2)
#   ROUNDS        Caplet/native pairs per case (default 3); the verdict uses the median ratio,
#                 because this kind of shared VM moves single runs by ±30 %
#   CASES         cases to run, space-separated (default "hello kvcounter-memory kvcounter-redis")
#   KEEP_WORK     when set, keep the temp folder (manifests, logs, wrk outputs) and print it
#   PGO           1 (default): both binaries are built with profile-guided optimisation by
#                 scripts/build-release.sh, the way Caplet's release is built; 0: plain
#                 `cargo build --release` on both sides
#   NO_BUILD      when set, use the binaries already built (in $CARGO_TARGET_DIR/pgo/release,
#                 or release/ with PGO=0) instead of building them
#   CARGO_TARGET_DIR  where cargo builds (default: the workspace's target/)
#
# Exit status: 0 when every run was valid (all answers 2xx, servers stopped cleanly), whether or
# not the goals were met; the table says which were.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib/packages.sh
source "$root/scripts/lib/packages.sh"

readonly DURATION="${DURATION:-10}"
readonly WARMUP="${WARMUP:-2}"
readonly CONNECTIONS="${CONNECTIONS:-32}"
readonly THREADS="${THREADS:-2}"
readonly INSTANCES="${INSTANCES:-2}"
readonly ROUNDS="${ROUNDS:-3}"
readonly PGO="${PGO:-1}"
readonly CASES="${CASES:-hello kvcounter-memory kvcounter-redis}"
# Seconds a server may take to answer after it was started, and to exit after SIGINT.
readonly START_TIMEOUT=30
readonly STOP_TIMEOUT=20

readonly BENCH_NAME=bench-http
# shellcheck source=scripts/lib/bench.sh
source "$root/scripts/lib/bench.sh"

for value in "$DURATION" "$WARMUP" "$CONNECTIONS" "$THREADS" "$INSTANCES" "$ROUNDS"; do
	[[ "$value" =~ ^[1-9][0-9]*$ ]] || die "DURATION, WARMUP, CONNECTIONS, THREADS, INSTANCES and ROUNDS must be positive integers (got '$value')"
done
[[ "$PGO" == 0 || "$PGO" == 1 ]] || die "PGO must be 0 or 1 (got '$PGO')"

ensure_packages "the HTTP benchmark" wrk:wrk redis-server:redis-server curl:curl

# --- build ------------------------------------------------------------------------------------
target_dir="${CARGO_TARGET_DIR:-$root/target}"
case "$target_dir" in
/*) ;;
*) target_dir="$PWD/$target_dir" ;;
esac
if [[ "$PGO" == 1 ]]; then
	bin_dir="$target_dir/pgo/release"
	build_kind="release builds with PGO (scripts/build-release.sh) on both sides"
	if [[ -z "${NO_BUILD:-}" ]]; then
		say "building release caplet and caplet-baseline with PGO (scripts/build-release.sh; about 20 minutes cold)"
		CARGO_TARGET_DIR="$target_dir" bash "$root/scripts/build-release.sh" >/dev/null
	fi
else
	bin_dir="$target_dir/release"
	build_kind="plain release builds (PGO=0) on both sides"
	if [[ -z "${NO_BUILD:-}" ]]; then
		say "building release caplet and caplet-baseline (target dir $target_dir)"
		(cd "$root" && CARGO_TARGET_DIR="$target_dir" cargo build --release --quiet -p caplet -p caplet-baseline)
	fi
fi
for binary in caplet caplet-baseline; do
	[[ -x "$bin_dir/$binary" ]] || die "$bin_dir/$binary is missing (build it, or unset NO_BUILD)"
	# A private copy: a concurrent build in the shared target dir cannot swap it mid-run.
	cp "$bin_dir/$binary" "$work/$binary"
done
caplet="$work/caplet"
baseline="$work/caplet-baseline"

guests="$root/guests/out"
if [[ ! -f "$guests/hello.wasm" || ! -f "$guests/kvcounter.wasm" ]]; then
	say "building the guests"
	bash "$root/scripts/build-guests.sh"
fi

# --- sign -------------------------------------------------------------------------------------
keys="$work/keys"
account="$("$caplet" keys gen account --keys-dir "$keys" 2>/dev/null)"
[[ "$account" =~ ^A[A-Z2-7]{55}$ ]] || die "caplet keys gen account printed '$account', not an account key"
# sign NAME CAP...: guests/out/NAME.wasm → $work/NAME.wasm, signed for the CAPs.
sign() {
	local name="$1" cap caps=()
	shift
	for cap in "$@"; do
		caps+=(--cap "$cap")
	done
	"$caplet" claims sign "$guests/$name.wasm" -o "$work/$name.wasm" --name "$name" "${caps[@]}" \
		--keys-dir "$keys" >"$work/sign-$name.log" 2>&1 || {
		sed 's/^/    /' "$work/sign-$name.log" >&2
		die "cannot sign $name.wasm (output above)"
	}
}
sign hello wasmcloud:httpserver
sign kvcounter wasmcloud:httpserver wasmcloud:keyvalue

# --- redis ------------------------------------------------------------------------------------
redis_url=""
if [[ " $CASES " == *" kvcounter-redis "* ]]; then
	redis_port="$(free_port)"
	redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
		--daemonize no >"$work/redis.log" 2>&1 &
	redis_pid=$!
	pids+=("$redis_pid")
	wait_for_port "$redis_pid" "$redis_port" "$work/redis.log"
	redis_url="redis://127.0.0.1:$redis_port/"
	say "redis-server on $redis_url"
fi

# --- one run ----------------------------------------------------------------------------------
# Writes the manifest of case $1 serving on 127.0.0.1:$2 to $3/caplet.toml.
write_manifest() {
	local case="$1" port="$2" dir="$3" actor provider=""
	case "$case" in
	hello) actor=hello ;;
	kvcounter-memory) actor=kvcounter ;;
	kvcounter-redis)
		actor=kvcounter
		provider="[[provider]]
contract = \"wasmcloud:keyvalue\"
implementation = \"redis\"
[provider.config]
url = \"$redis_url\"
"
		;;
	*) die "unknown case '$case'" ;;
	esac
	mkdir -p "$dir"
	ln -sf "$work/$actor.wasm" "$dir/$actor.wasm"
	{
		printf '[host]\nissuers = ["%s"]\n\n' "$account"
		printf '[[actor]]\nname = "%s"\npath = "%s.wasm"\ninstances = %s\n\n' "$actor" "$actor" "$INSTANCES"
		printf '%s\n' "$provider"
		printf '[[link]]\nactor = "%s"\ncontract = "wasmcloud:httpserver"\n[link.values]\naddress = "127.0.0.1:%s"\n' "$actor" "$port"
		if [[ "$actor" == kvcounter ]]; then
			printf '\n[[link]]\nactor = "kvcounter"\ncontract = "wasmcloud:keyvalue"\n'
		fi
	} >"$dir/caplet.toml"
}

# The counter in a kvcounter answer ({"counter":N}); fails on anything else.
read_counter() {
	local port="$1" body
	body="$(curl -fsS --max-time 5 "http://127.0.0.1:$port/")" || die "GET on port $port failed"
	[[ "$body" =~ ^\{\"counter\":([0-9]+)\}$ ]] || die "unexpected kvcounter answer on port $port: '$body'"
	printf '%s\n' "${BASH_REMATCH[1]}"
}

# CPU time (user + system, in clock ticks) PID has used so far.
# (Fields 14 and 15 of /proc/PID/stat; the name in parentheses is cut first, it may hold spaces.)
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
CLOCK_TICKS="$(getconf CLK_TCK)"
readonly CLOCK_TICKS
# Redis's CPU ticks so far (0 when this run has no Redis).
redis_ticks() { if [[ -n "${redis_pid:-}" ]]; then cpu_ticks "$redis_pid"; else echo 0; fi; }
# Idle time of all CPUs so far, in clock ticks (idle + iowait of /proc/stat's `cpu` line).
idle_ticks() { awk '/^cpu / { print $5 + $6 }' /proc/stat; }
# Seconds of CPU (user + system) used by the children this shell has waited for, from a file
# holding the output of bash's `times` (its second line; `times` must run in this shell, not
# in a $(…) subshell, whose children are its own).
children_seconds() {
	awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.3f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1"
}
# Microseconds per request from a number of clock ticks and a request count.
ticks_per_request() { awk -v t="$1" -v hz="$CLOCK_TICKS" -v n="$2" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }'; }


# run_one CASE SIDE: starts the server, checks, warms, measures, stops. Sets result_* globals.
run_one() {
	local case="$1" side="$2" port dir log pid before after warm_out out completed warmed file
	port="$(free_port)"
	dir="$work/$case-$side"
	log="$dir/server.log"
	mkdir -p "$dir"
	if [[ "$side" == caplet ]]; then
		write_manifest "$case" "$port" "$dir"
		"$caplet" up --no-control "$dir" >"$log" 2>&1 &
	else
		local args=()
		case "$case" in
		hello) args=(hello) ;;
		kvcounter-memory) args=(counter) ;;
		kvcounter-redis) args=(counter --redis "$redis_url") ;;
		esac
		"$baseline" "${args[@]}" --addr "127.0.0.1:$port" >"$log" 2>&1 &
	fi
	pid=$!
	pids+=("$pid")
	wait_for_port "$pid" "$port" "$log"
	if [[ "$side" == caplet ]]; then
		local deadline=$((SECONDS + START_TIMEOUT))
		until grep -q 'caplet: serving' "$log"; do
			((SECONDS < deadline)) || die "caplet up never said it was serving (log: $log)"
			sleep 0.1
		done
	fi

	local url="http://127.0.0.1:$port/"
	if [[ "$case" == hello ]]; then
		local body
		body="$(curl -fsS --max-time 5 "$url")" || die "GET $url failed ($side)"
		[[ "$body" == "Hello, world!" ]] || die "unexpected hello answer from $side: '$body'"
	else
		before="$(read_counter "$port")"
	fi

	warm_out="$dir/wrk-warmup.txt"
	out="$dir/wrk.txt"
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" "$url" >"$warm_out"
	local ticks_before ticks_after redis_before redis_after idle_before idle_after
	ticks_before="$(cpu_ticks "$pid")" redis_before="$(redis_ticks)" idle_before="$(idle_ticks)"
	times >"$dir/times-before"
	wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "$url" >"$out"
	times >"$dir/times-after"
	ticks_after="$(cpu_ticks "$pid")" redis_after="$(redis_ticks)" idle_after="$(idle_ticks)"

	local non2xx
	for file in "$warm_out" "$out"; do
		non2xx="$(wrk_non2xx "$file")"
		if [[ -n "$non2xx" ]]; then
			sed 's/^/    /' "$file" >&2
			tail -n 20 "$log" | sed 's/^/    /' >&2
			die "$case ($side): $non2xx answers were not 2xx (wrk output and server log above)"
		fi
		local socket_errors
		socket_errors="$(wrk_socket_errors "$file")"
		[[ -z "$socket_errors" ]] || say "warning: $case ($side): $socket_errors"
	done

	completed="$(wrk_requests "$out")"
	warmed="$(wrk_requests "$warm_out")"
	if [[ "$case" != hello ]]; then
		after="$(read_counter "$port")"
		local grown=$((after - before))
		# wrk counts the answers it read; the server may have answered a few more as wrk stopped.
		((grown >= completed + warmed + 1)) ||
			die "$case ($side): the counter grew by $grown, fewer than the $((completed + warmed + 1)) answered requests"
		say "$case ($side): counter $before → $after (+$grown for $((completed + warmed)) wrk requests + 1 check)"
	fi

	stop_server "$case ($side)" "$pid" "$log"

	result_rate="$(wrk_rate "$out")"
	result_p50="$(wrk_percentile "$out" 50)"
	result_p99="$(wrk_percentile "$out" 99)"
	[[ -n "$result_rate" && -n "$result_p50" && -n "$result_p99" && -n "$completed" ]] ||
		die "cannot read wrk's output $out"
	# Server CPU per request: unlike req/s, it barely moves when other work shares the machine.
	result_cpu="$(ticks_per_request $((ticks_after - ticks_before)) "$completed")"
	# Where the rest of the machine's CPU went in the same window: wrk (the only child waited
	# for during it), Redis, and idle time. On a machine the three share, a server that costs
	# more per request also makes wrk cost more per request (fewer answers per wake-up).
	result_wrk="$(awk -v a="$(children_seconds "$dir/times-before")" -v b="$(children_seconds "$dir/times-after")" \
		-v n="$completed" 'BEGIN { printf "%.1f", (b - a) * 1e6 / n }')"
	result_redis="$(ticks_per_request $((redis_after - redis_before)) "$completed")"
	result_idle="$(ticks_per_request $((idle_after - idle_before)) "$completed")"
	say "$case ($side): $result_rate req/s, p50 $result_p50, p99 $result_p99 ($completed requests); CPU µs/req: server $result_cpu, wrk $result_wrk, Redis $result_redis, idle $result_idle"
}

# --- run --------------------------------------------------------------------------------------
# The middle value of the numbers given (the lower middle one for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio_of() { awk -v c="$1" -v n="$2" 'BEGIN { printf "%.2f", c / n }'; }

say "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
say "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency (after ${WARMUP}s of warm-up); instances = $INSTANCES; $ROUNDS rounds; $(nproc) CPUs"
say "binaries: $build_kind"
rows=()
rows_more=()
rows_rounds=()
rows_split=()
for case in $CASES; do
	case "$case" in
	hello) goal=0.7 ;;
	kvcounter-redis) goal=0.8 ;;
	kvcounter-memory) goal="" ;;
	*) die "unknown case '$case' (known: hello kvcounter-memory kvcounter-redis)" ;;
	esac
	ratios=() cpu_ratios=() c_rates=() n_rates=() c_cpus=() n_cpus=()
	c_wrk=() n_wrk=() c_redis=() n_redis=() c_idle=() n_idle=()
	for ((round = 1; round <= ROUNDS; round++)); do
		# Alternate which side goes first, so a drift in the machine's speed hits both.
		if ((round % 2)); then sides=(caplet native); else sides=(native caplet); fi
		for side in "${sides[@]}"; do
			run_one "$case" "$side"
			if [[ "$side" == caplet ]]; then
				c_rate="$result_rate" c_p50="$result_p50" c_p99="$result_p99" c_cpu="$result_cpu"
				c_wrk+=("$result_wrk") c_redis+=("$result_redis") c_idle+=("$result_idle")
			else
				n_rate="$result_rate" n_p50="$result_p50" n_p99="$result_p99" n_cpu="$result_cpu"
				n_wrk+=("$result_wrk") n_redis+=("$result_redis") n_idle+=("$result_idle")
			fi
		done
		ratio="$(ratio_of "$c_rate" "$n_rate")"
		cpu_ratio="$(ratio_of "$c_cpu" "$n_cpu")"
		ratios+=("$ratio") cpu_ratios+=("$cpu_ratio") c_rates+=("$c_rate") n_rates+=("$n_rate")
		c_cpus+=("$c_cpu") n_cpus+=("$n_cpu")
		rows_rounds+=("| $case | $round | $c_rate | $n_rate | ${ratio}× | $c_p50 / $c_p99 | $n_p50 / $n_p99 | $c_cpu | $n_cpu | ${cpu_ratio}× |")
		say "$case round $round: ratio ${ratio}×, CPU ratio ${cpu_ratio}×"
	done
	ratio="$(median "${ratios[@]}")"
	if [[ -z "$goal" ]]; then
		verdict="— (informational)"
	elif awk -v r="$ratio" -v g="$goal" 'BEGIN { exit !(r >= g) }'; then
		verdict="≥ ${goal}× — met"
	else
		verdict="≥ ${goal}× — **not met**"
	fi
	range="$(printf '%s\n' "${ratios[@]}" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%s–%s", lo, hi }')"
	rows+=("| $case | $(median "${c_rates[@]}") | $(median "${n_rates[@]}") | ${ratio}× | ${range}× | $verdict |")
	rows_more+=("| $case | $(median "${c_cpus[@]}") | $(median "${n_cpus[@]}") | $(median "${cpu_ratios[@]}")× |")
	rows_split+=("| $case | caplet | $(median "${c_cpus[@]}") | $(median "${c_wrk[@]}") | $(median "${c_redis[@]}") | $(median "${c_idle[@]}") |")
	rows_split+=("| $case | native | $(median "${n_cpus[@]}") | $(median "${n_wrk[@]}") | $(median "${n_redis[@]}") | $(median "${n_idle[@]}") |")
done

printf '\n| case | round | caplet req/s | native req/s | ratio | caplet p50 / p99 | native p50 / p99 | caplet CPU µs/req | native CPU µs/req | CPU ratio |\n'
printf '|---|---|---|---|---|---|---|---|---|---|\n'
printf '%s\n' "${rows_rounds[@]}"
printf '\nMedians over %s rounds; %s:\n\n' "$ROUNDS" "$build_kind"
printf '| case | caplet req/s | native req/s | ratio (median) | ratio range | goal |\n'
printf '|---|---|---|---|---|---|\n'
printf '%s\n' "${rows[@]}"
printf '\n| case | caplet CPU µs/req | native CPU µs/req | CPU ratio (median) |\n'
printf '|---|---|---|---|\n'
printf '%s\n' "${rows_more[@]}"
printf '\nWhere the CPU went, µs per request (medians; all CPUs together, Redis 0.0 when not used):\n\n'
printf '| case | side | server | wrk | Redis | idle |\n'
printf '|---|---|---|---|---|---|\n'
printf '%s\n' "${rows_split[@]}"
