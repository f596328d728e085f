#!/usr/bin/env bash
# syslog-tcp.sh: vigil's TCP syslog listener vs rsyslogd (imtcp -> omfile), same stream.
#
# One sender (socat) streams N real Windows events (OTRF Sysmon 1 / 4688 JSON lines from
# source/syslog/testdata, repeated) over loopback TCP, LF-framed, first to rsyslogd, then
# to vigil's listener (docs/bench/syslogingest: source/syslog + source/decode, no rules).
# Each rate is N divided by the wall time from the sender's start until the receiver has
# all N (rsyslog: N lines in its output file; vigil: N decoded events). Both must lose
# nothing: the script fails if either receives fewer than N or vigil counts any drop or
# decode error.
#
# Usage: docs/bench/syslog-tcp.sh [N]     (from the repository root; default N=50000)
# Needs: go, rsyslogd (rsyslog), socat.
set -euo pipefail

N=${1:-50000}
root=$(cd "$(dirname "$0")/../.." && pwd)
src="$root/source/syslog/testdata/otrf-cobaltstrike.ndjson"
for tool in go rsyslogd socat; do
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
bytes=$(stat -c %s "$work/events.ndjson")
echo "stream: $N events, $bytes bytes ($(basename "$src") repeated)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do socat -u /dev/null "TCP:127.0.0.1:$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
now() { date +%s.%N; }
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f events/s (%.3f s)", n/(b-a), b-a }'; }

# rsyslogd: imtcp -> omfile with the raw message, in a private work directory.
port=$(free_port)
mkdir -p "$work/rs"
cat >"$work/rs/rsyslog.conf" <<EOF
global(workDirectory="$work/rs" maxMessageSize="64k")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$port" ruleset="bench")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="bench") { action(type="omfile" file="$work/rs/out.log" template="raw") }
EOF
rsyslogd -n -f "$work/rs/rsyslog.conf" -i "$work/rs/pid" &
pids+=($!)
wait_port "$port"
sleep 0.2 # the probe connection above delivers nothing; let rsyslog settle
t0=$(now)
socat -u "FILE:$work/events.ndjson" "TCP:127.0.0.1:$port"
while [ "$(wc -l <"$work/rs/out.log" 2>/dev/null || echo 0)" -lt "$N" ]; do
	sleep 0.01
	awk -v a="$t0" -v b="$(now)" 'BEGIN { exit !(b-a > 300) }' && { echo "rsyslog: timed out" >&2; exit 1; }
done
t1=$(now)
got=$(wc -l <"$work/rs/out.log")
echo "rsyslogd $(rsyslogd -v | head -1 | awk '{print $2}') imtcp->omfile: $(rate "$N" "$t0" "$t1"), $got lines written"
kill "${pids[0]}"

# vigil: source/syslog listener + source/decode.
go build -o "$work/syslogingest" "$root/docs/bench/syslogingest"
port=$(free_port)
"$work/syslogingest" -listen "tcp://127.0.0.1:$port" -n "$N" >"$work/vigil.out" &
vpid=$!
pids+=($vpid)
wait_port "$port"
t0=$(now)
socat -u "FILE:$work/events.ndjson" "TCP:127.0.0.1:$port"
status=0
wait "$vpid" || status=$?
t1=$(now)
echo "vigil listener+decode: $(rate "$N" "$t0" "$t1"); $(tail -1 "$work/vigil.out")"
[ "$got" -ge "$N" ] || { echo "rsyslog lost events" >&2; exit 1; }
exit "$status"
