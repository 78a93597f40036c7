#!/bin/sh
# tests/integration/daemon_ot.sh — the real build/measured with the real `ot`
# kind, over HTTP with curl and jq: a tiny job end to end (and the same body
# through `measured solve`, which must agree bit for bit), validation
# pointers, NDJSON, cancellation of a running job within a second, restart
# after kill -9 (results kept, the interrupted job re-run), SIGTERM exit 0.
set -eu
BUILD=${BUILD:-build}
M="$BUILD/measured"
TMP=$(mktemp -d /tmp/measured-it-XXXXXX)
PID=""
cleanup() {
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*" >&2
    [ -f "$TMP/log" ] && tail -20 "$TMP/log" >&2
    exit 1
}

start() {
    : >"$TMP/log"
    "$M" --listen 127.0.0.1:0 --store "$TMP/db" --workers 2 "$@" 2>>"$TMP/log" &
    PID=$!
    i=0
    while ! grep -q '^listening on ' "$TMP/log"; do
        i=$((i + 1))
        [ $i -gt 200 ] && fail "daemon did not start"
        sleep 0.05
    done
    PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$TMP/log" | head -1)
    U="http://127.0.0.1:$PORT"
}

# A uniform point cloud of n points in the unit square, from a seeded LCG.
cloud() {
    awk -v n="$1" -v s="$2" 'BEGIN { x = s; printf "["; for (i = 0; i < n; i++) {
        x = (x * 1103515245 + 12345) % 2147483648; a = x / 2147483648;
        x = (x * 1103515245 + 12345) % 2147483648; b = x / 2147483648;
        printf "%s[%.6f,%.6f]", (i ? "," : ""), a, b } printf "]" }'
}

start
# Kinds: ot is listed with a schema derived from its field table.
curl -sf "$U/v1/kinds" | jq -e '.kinds[] | select(.name == "ot") |
    .params_schema.properties.epsilon.exclusiveMinimum == 0' >/dev/null || fail "kinds"
curl -sf "$U/v1/kinds/ot" | jq -e '.params_schema.required | index("epsilon")' >/dev/null ||
    fail "kind ot"

# A tiny job, end to end.
TINY='{"kind":"ot","params":{"source":{"points":[[0,0],[1,0],[0,1]]},
       "target":{"points":[[0,1],[1,1],[2,2]]},"epsilon":0.1}}'
ID=$(curl -sf "$U/v1/jobs" -H 'Content-Type: application/json' -d "$TINY" | jq -r .id)
ST=$(curl -sf "$U/v1/jobs/$ID?wait=20" | jq -r .status)
[ "$ST" = succeeded ] || fail "tiny job is $ST"
curl -sf "$U/v1/jobs/$ID/result" >"$TMP/res.json"
jq -e '.kind == "ot" and (.result.f | length) == 3 and .result.converged == true' \
    "$TMP/res.json" >/dev/null || fail "tiny result"
# HEAD answers GET routes with their headers and no body (not the stream).
H=$(curl -s -I "$U/v1/jobs/$ID/result")
echo "$H" | head -1 | grep -q ' 200' || fail "HEAD result: $H"
echo "$H" | grep -qi '^content-type: application/json' || fail "HEAD content type"
[ "$(curl -s -I "$U/v1/jobs/$ID/events" | head -1 | cut -d' ' -f2)" = 405 ] ||
    fail "HEAD on the event stream"
curl -s -I -X PUT "$U/healthz" | grep -qi '^allow: GET, HEAD' || fail "Allow lists HEAD"
# The same body through `measured solve`: the same numbers.
echo "$TINY" | "$M" solve - >"$TMP/solve.json" 2>/dev/null || fail "solve"
[ "$(jq -c .result "$TMP/res.json")" = "$(jq -c . "$TMP/solve.json")" ] ||
    fail "daemon and solve disagree"
# NDJSON replay ends with end: succeeded.
curl -sf -H 'Accept: application/x-ndjson' "$U/v1/jobs/$ID/events" >"$TMP/ev.ndjson"
tail -1 "$TMP/ev.ndjson" | jq -e '.event == "end" and .data.status == "succeeded"' >/dev/null ||
    fail "ndjson end"
jq -se 'map(.id) == [range(1; length + 1)]' "$TMP/ev.ndjson" >/dev/null || fail "ndjson ids"

# Validation: pointers into the body.
CODE=$(curl -s -o "$TMP/p.json" -w '%{http_code}' "$U/v1/jobs" \
    -d '{"kind":"ot","params":{"source":{"points":[[0,0]]},"target":{"points":[[1]]},
         "epsilon":-1}}')
[ "$CODE" = 422 ] || fail "invalid ot answered $CODE"
jq -e '.errors | map(.pointer) | index("/params/epsilon")' "$TMP/p.json" >/dev/null ||
    fail "epsilon pointer"
# A type error does not hide a range error: one entry per offending field.
CODE=$(curl -s -o "$TMP/p2.json" -w '%{http_code}' "$U/v1/jobs" \
    -d '{"kind":"ot","params":{"source":{"points":[[0,"x"]]},"target":{"points":[[1]]},
         "epsilon":-1}}')
[ "$CODE" = 422 ] || fail "ot with a type error answered $CODE"
jq -e '[.errors[].pointer] | sort == ["/params/epsilon", "/params/source/points/0/1"]' \
    "$TMP/p2.json" >/dev/null || fail "all errors at once: $(cat "$TMP/p2.json")"

# A long job (4000 points each side, tol 0): cancel while running.
{
    printf '{"kind":"ot","params":{"source":{"points":'
    cloud 4000 1
    printf '},"target":{"points":'
    cloud 4000 2
    printf '},"epsilon":0.001,"tol":0,"max_iter":1000000}}'
} >"$TMP/big.json"
BIG=$(curl -sf "$U/v1/jobs" --data-binary "@$TMP/big.json" | jq -r .id)
i=0
while [ "$(curl -sf "$U/v1/jobs/$BIG" | jq -r .status)" != running ]; do
    i=$((i + 1))
    [ $i -gt 200 ] && fail "big job never ran"
    sleep 0.05
done
sleep 0.3
T0=$(date +%s%N)
[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$U/v1/jobs/$BIG")" = 202 ] || fail "cancel"
ST=$(curl -sf "$U/v1/jobs/$BIG?wait=10" | jq -r .status)
T1=$(date +%s%N)
[ "$ST" = cancelled ] || fail "big job is $ST after cancel"
[ $(((T1 - T0) / 1000000)) -lt 1000 ] || fail "cancel took $(((T1 - T0) / 1000000)) ms"

# kill -9 during a long run: the finished result survives, the job re-runs.
BIG2=$(curl -sf "$U/v1/jobs" --data-binary "@$TMP/big.json" | jq -r .id)
while [ "$(curl -sf "$U/v1/jobs/$BIG2" | jq -r .status)" != running ]; do sleep 0.05; done
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
start
curl -sf "$U/v1/jobs/$ID/result" | jq -e '.result.converged == true' >/dev/null ||
    fail "result lost after kill -9"
curl -sf "$U/v1/jobs/$BIG2" | jq -e '.attempts == 2 or .status == "queued"' >/dev/null ||
    fail "interrupted job not re-run"
curl -s -m 1 "$U/v1/jobs/$BIG2/events" >"$TMP/ev2.txt" || true
grep -q '"reason":"restart"' "$TMP/ev2.txt" || fail "no restart event in the history"
curl -sf -X DELETE "$U/v1/jobs/$BIG2" >/dev/null || fail "cancel after restart"
ST=$(curl -sf "$U/v1/jobs/$BIG2?wait=10" | jq -r .status)
[ "$ST" = cancelled ] || fail "re-run job is $ST"

# SIGTERM: graceful, exit 0.
kill -TERM "$PID"
RC=0
wait "$PID" || RC=$?
PID=""
[ "$RC" = 0 ] || fail "exit status $RC after SIGTERM"
grep -q '"msg":"stopped"' "$TMP/log" || fail "no stopped log line"
echo "daemon_ot: ok"
