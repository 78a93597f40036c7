#!/bin/sh
# bench/daemon.sh — the daemon on loopback: wrk against GET /v1/jobs/{id} and
# /healthz with keep-alive (requests/s, p99), 1000 concurrent event-stream
# subscribers on one job (each must receive every event), and tiny jobs
# submitted and finished per second. Targets (2-core machine): ≥ 20 000
# GET/s with p99 < 5 ms; 1000 streams without a drop; ≥ 1000 tiny jobs/s.
# Results and the command are recorded in bench/README.md.
set -eu
BUILD=${BUILD:-build}
M="$BUILD/measured"
L="$BUILD/bench/daemon_load"
DUR=${DUR:-10}
# One wrk thread and one loop thread share the two cores; 16 connections.
WT=${WT:-1}
WC=${WC:-16}
command -v wrk >/dev/null || { echo "daemon.sh: wrk missing (deploy/install-deps.sh --bench)"; exit 1; }
[ -x "$L" ] || make --no-print-directory "$L" >/dev/null
TMP=$(mktemp -d /tmp/measured-bench-XXXXXX)
PID=""
trap '[ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"' EXIT

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
"$M" --listen 127.0.0.1:0 --store "$TMP/db" --log-level warn --progress-interval 0.1 \
    2>"$TMP/log" &
PID=$!
while ! grep -q '^listening on ' "$TMP/log"; do sleep 0.05; done
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$TMP/log" | head -1)
U="http://127.0.0.1:$PORT"

TINY='{"kind":"ot","params":{"source":{"points":[[0,0],[1,0],[0,1]]},"target":{"points":[[0,1],[1,1],[2,2]]},"epsilon":0.1}}'
ID=$(curl -sf "$U/v1/jobs" -d "$TINY" | sed 's/.*"id":"\([0-9a-f]*\)".*/\1/')
curl -sf "$U/v1/jobs/$ID?wait=10" >/dev/null

wrk_line() { # name url
    wrk -t"$WT" -c"$WC" -d"${DUR}s" --latency "$2" >"$TMP/wrk" 2>&1
    rps=$(awk '/^Requests\/sec/ {print $2}' "$TMP/wrk")
    p99=$(awk '$1 == "99%" {print $2}' "$TMP/wrk")
    p50=$(awk '$1 == "50%" {print $2}' "$TMP/wrk")
    errs=$(awk '/Non-2xx|Socket errors/ {print}' "$TMP/wrk" | tr '\n' ' ')
    printf '%-28s %10s req/s   p50 %-8s p99 %-8s %s\n' "$1" "$rps" "$p50" "$p99" "$errs"
}
echo "== wrk -t$WT -c$WC -d${DUR}s (keep-alive), daemon with --log-level warn"
wrk_line "GET /v1/jobs/{id}" "$U/v1/jobs/$ID"
wrk_line "GET /healthz" "$U/healthz"

echo "== 1000 subscribers on one job's event stream"
# A job of a few seconds with ~10 progress events per second.
awk 'BEGIN { x = 7; printf "{\"kind\":\"ot\",\"params\":{\"source\":{\"points\":[";
  for (s = 0; s < 2; s++) { if (s) printf "]},\"target\":{\"points\":[";
    for (i = 0; i < 2000; i++) { x = (x * 1103515245 + 12345) % 2147483648; a = x / 2147483648;
      x = (x * 1103515245 + 12345) % 2147483648; b = x / 2147483648;
      printf "%s[%.6f,%.6f]", (i ? "," : ""), a, b } }
  printf "]},\"epsilon\":0.001,\"tol\":0,\"max_iter\":300}}" }' >"$TMP/stream.json"
"$L" streams "$PORT" 1000 "$TMP/stream.json"

echo "== tiny jobs (3-point ot), 20000 from 8 keep-alive submitters"
echo "$TINY" >"$TMP/tiny.json"
"$L" jobs "$PORT" 20000 8 "$TMP/tiny.json"

kill -TERM "$PID"
wait "$PID" || true
PID=""
