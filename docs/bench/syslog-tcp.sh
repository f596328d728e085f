#!/usr/bin/env bash
# syslog-tcp.sh: vigil's TCP syslog listener vs rsyslogd (imtcp -> omfile), same stream.
#
# One sender (socat) streams N real Windows events (OTRF Sysmon 1 / 4688 JSON lines from
# source/syslog/testdata, repeated) over loopback TCP, LF-framed, to rsyslogd and then to
# vigil's listener (docs/bench/syslogingest: source/syslog + source/decode, no rules),
# RUNS times, alternating. A rate is N divided by the wall time from the sender's start
# until the receiver has all N (rsyslog: N lines in its output file; vigil: N decoded
# events); the script prints each run, the medians, and the receivers' CPU seconds.
# Both must lose nothing: the script fails if either receives fewer than N, or vigil
# counts a drop or decode error.
#
# vigil parses every JSON record into an event; rsyslog only frames the line and writes it.
# On a shared machine wall-clock rates are noisy: compare medians, and CPU seconds.
#
# Usage: docs/bench/syslog-tcp.sh [N] [RUNS]   (from anywhere; default N=50000, RUNS=3)
# Needs: go, rsyslogd (rsyslog), socat, python3, awk.
set -euo pipefail

N=${1:-50000}
RUNS=${2:-3}
root=$(cd "$(dirname "$0")/../.." && pwd)
src="$root/source/syslog/testdata/otrf-cobaltstrike.ndjson"
for tool in go rsyslogd socat python3 awk; do
	command -v "$tool" >/dev/null || { echo "syslog-tcp.sh: $tool not installed" >&2; exit 2; }
done

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# N real events, one per line.
awk -v n="$N" 'NF { l[c++] = $0 } END { for (i = 0; i < n; i++) print l[i % c] }' "$src" >"$work/events.ndjson"
echo "stream: $N events, $(stat -c %s "$work/events.ndjson") bytes ($(basename "$src") repeated), $RUNS runs, $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
go build -o "$work/syslogingest" "$root/docs/bench/syslogingest"
tck=$(getconf CLK_TCK)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do socat -u /dev/null "TCP:127.0.0.1:$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n/(b-a) }'; }
cpu_of() { awk -v t="$tck" '{ printf "%.2f", ($14+$15)/t }' "/proc/$1/stat"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2 }'; }

rs_rates=() vg_rates=()
for run in $(seq "$RUNS"); do
	# rsyslogd: imtcp -> omfile with the raw message, in a private work directory.
	port=$(free_port)
	rs="$work/rs$run"
	mkdir -p "$rs"
	cat >"$rs/rsyslog.conf" <<EOF
global(workDirectory="$rs" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$port" ruleset="bench")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="bench") { action(type="omfile" file="$rs/out.log" template="raw") }
EOF
	rsyslogd -n -f "$rs/rsyslog.conf" -i "$rs/pid" &
	rpid=$!
	pids+=("$rpid")
	wait_port "$port"
	sleep 0.2 # the probe connection above delivers nothing; let rsyslog settle
	cpu0=$(cpu_of "$rpid")
	t0=$(now)
	socat -u "FILE:$work/events.ndjson" "TCP:127.0.0.1:$port"
	while [ "$(wc -l <"$rs/out.log" 2>/dev/null || echo 0)" -lt "$N" ]; do
		sleep 0.005
		awk -v a="$t0" -v b="$(now)" 'BEGIN { exit !(b-a > 300) }' && { echo "rsyslog: timed out" >&2; exit 1; }
	done
	t1=$(now)
	cpu1=$(cpu_of "$rpid")
	got=$(wc -l <"$rs/out.log")
	[ "$got" -eq "$N" ] || { echo "rsyslog wrote $got lines, want $N" >&2; exit 1; }
	kill "$rpid"
	wait "$rpid" 2>/dev/null || true
	r=$(rate "$N" "$t0" "$t1")
	rs_rates+=("$r")
	echo "run $run rsyslogd imtcp->omfile: $r events/s, cpu $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b-a }') s"

	# vigil: source/syslog listener + source/decode.
	port=$(free_port)
	"$work/syslogingest" -listen "tcp://127.0.0.1:$port" -n "$N" >"$work/vigil$run.out" &
	vpid=$!
	pids+=("$vpid")
	wait_port "$port"
	t0=$(now)
	socat -u "FILE:$work/events.ndjson" "TCP:127.0.0.1:$port"
	wait "$vpid" || { echo "vigil: $(tail -1 "$work/vigil$run.out")" >&2; exit 1; }
	t1=$(now)
	r=$(rate "$N" "$t0" "$t1")
	vg_rates+=("$r")
	echo "run $run vigil listener+decode:   $r events/s, cpu $(sed -n 's/.*cpu_s \([0-9.]*\).*/\1/p' "$work/vigil$run.out") s ($(tail -1 "$work/vigil$run.out" | cut -d' ' -f1-12))"
done
rs_med=$(printf '%s\n' "${rs_rates[@]}" | median)
vg_med=$(printf '%s\n' "${vg_rates[@]}" | median)
echo "median: rsyslogd $rs_med events/s, vigil $vg_med events/s"
