#!/bin/sh
# tests/integration/measurectl.sh — build/measurectl against the real daemon
# (with a token): every command, its output for people and with --json, the
# exit codes (0 ok, 1 job failed/cancelled/409, 2 usage/validation/404/401,
# 3 unreachable), the progress bar on a terminal (script(1) gives it one),
# and `follow` resuming with Last-Event-ID across a daemon restart.
set -eu
. tests/it_lib.sh
C="$BUILD/measurectl"

start() {
    it_start "${1:-0}" --token s3cret
    export MEASURED_URL="$URL"
}

# expect CODE CMD...: run CMD (stdout → out, stderr → err), check its status.
expect() {
    want=$1
    shift
    rc=0
    "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    [ "$rc" = "$want" ] || fail "exit $rc (want $want): $*"
}

start

# Usage errors and a missing token are 2; an unreachable server is 3.
expect 2 "$C"
expect 2 "$C" frobnicate
expect 2 "$C" status
expect 2 "$C" kinds --bogus
expect 2 "$C" kinds
grep -q '401' "$TMP/err" || fail "no 401 in the message"
expect 3 "$C" --url http://127.0.0.1:1 --token s3cret kinds
export MEASURED_TOKEN=s3cret
expect 0 "$C" --help
grep -q 'exit codes' "$TMP/out" || fail "help has no exit codes"

# kinds: names, then one kind's params with defaults and bounds.
expect 0 "$C" kinds
for k in ot nash minmax two_layer deconvolution; do
    grep -q "^$k " "$TMP/out" || fail "kinds lacks $k"
done
expect 0 "$C" kinds ot
grep -Eq '^epsilon +number +\(required\) +> 0 ' "$TMP/out" || fail "ot epsilon row"
grep -Eq '^max_iter +integer +100000 ' "$TMP/out" || fail "ot max_iter default"
expect 0 "$C" --json kinds ot
jq -e '.name == "ot" and .params_schema.properties.tol.default == 1e-9' "$TMP/out" >/dev/null ||
    fail "kinds --json"
expect 2 "$C" kinds no_such_kind
"$C" kinds ot --example >"$TMP/ot.json" || fail "kinds --example"
jq -e '.kind == "ot" and .params.epsilon > 0' "$TMP/ot.json" >/dev/null || fail "example body"

# submit → id; status --wait; result.
expect 0 "$C" submit --label "it ot" "$TMP/ot.json"
ID=$(cat "$TMP/out")
echo "$ID" | grep -Eq '^[0-9a-f]{16}$' || fail "submit printed '$ID'"
expect 0 "$C" status --wait 20 "$ID"
grep -Eq '^status +succeeded$' "$TMP/out" || fail "status"
grep -Eq '^label +it ot$' "$TMP/out" || fail "label"
expect 0 "$C" --json status "$ID"
jq -e --arg id "$ID" '.id == $id and .status == "succeeded"' "$TMP/out" >/dev/null ||
    fail "status --json"
expect 0 "$C" result "$ID"
jq -e '.converged == true and (.f | length) == 3' "$TMP/out" >/dev/null || fail "result"
expect 0 "$C" result --json "$ID"
jq -e '.kind == "ot" and .result.iterations > 0' "$TMP/out" >/dev/null || fail "result --json"

# follow of a finished job replays its history; --json gives the NDJSON lines.
expect 0 "$C" follow "$ID"
head -1 "$TMP/out" | grep -q '^status queued' || fail "follow replay starts with queued"
grep -q '^progress it [0-9]' "$TMP/out" || fail "follow shows progress"
tail -1 "$TMP/out" | grep -q '^end succeeded' || fail "follow ends with end"
expect 0 "$C" follow --json "$ID"
jq -se 'map(.id) == [range(1; length + 1)] and .[-1].event == "end"' "$TMP/out" >/dev/null ||
    fail "follow --json"
expect 0 "$C" follow --after 2 --json "$ID"
[ "$(head -1 "$TMP/out" | jq .id)" = 3 ] || fail "follow --after 2 starts at 3"

# run: params with --kind, progress on stderr, the result on stdout.
"$C" kinds minmax --example | jq .params >"$TMP/mm_params.json"
expect 0 "$C" run --kind minmax --priority 7 "$TMP/mm_params.json"
jq -e '.method == "extragradient" and (.x | length) == 1' "$TMP/out" >/dev/null || fail "run result"
grep -q '^end succeeded' "$TMP/err" || fail "run progress on stderr"
expect 0 "$C" run -q - <"$TMP/ot.json"
[ ! -s "$TMP/err" ] || fail "run -q wrote to stderr"

# Validation errors: 2, with the pointers; malformed JSON: 2.
echo '{"kind":"ot","params":{"source":{"points":[[0,0]]},"target":{"points":[[1,1]]},
       "epsilon":-1}}' >"$TMP/bad.json"
expect 2 "$C" submit "$TMP/bad.json"
grep -q '422' "$TMP/err" && grep -q '/params/epsilon' "$TMP/err" || fail "422 pointer"
echo '{"kind":' >"$TMP/broken.json"
expect 2 "$C" run "$TMP/broken.json"
expect 2 "$C" submit "$TMP/nonexistent.json"
expect 2 "$C" status 0000000000000000
expect 2 "$C" submit --priority 12 "$TMP/ot.json"
grep -q '/priority' "$TMP/err" || fail "priority pointer"

# A job that runs until cancelled: follow exits 1, result and cancel are 409 (1).
it_ot_job 1000 100000000 >"$TMP/long.json"
LONG=$("$C" submit "$TMP/long.json")
"$C" follow "$LONG" >"$TMP/fl.out" 2>"$TMP/fl.err" &
FPID=$!
it_wait_grep "$TMP/fl.out" '^progress' "progress of the long job"
expect 0 "$C" cancel "$LONG"
grep -q 'cancel' "$TMP/out" || fail "cancel output"
rc=0
wait $FPID || rc=$?
[ $rc = 1 ] || fail "follow of a cancelled job exited $rc"
tail -1 "$TMP/fl.out" | grep -q '^end cancelled' || fail "follow end cancelled"
grep -q 'cancelled' "$TMP/fl.err" || fail "follow says why on stderr"
expect 1 "$C" result "$LONG"
grep -q '409' "$TMP/err" || fail "result 409"
expect 1 "$C" cancel "$LONG"

# The progress bar on a terminal: redrawn in place.
script -qec "$C run $TMP/ot.json" /dev/null >"$TMP/tty.out" </dev/null || fail "run on a tty"
grep -q "$(printf '\r\033\\[K')" "$TMP/tty.out" || fail "no redraw on a tty"
grep -q '\[#*\]' "$TMP/tty.out" || fail "no bar on a tty"

# list: filters, the table and --json.
expect 0 "$C" list --status succeeded --limit 2
[ "$(wc -l <"$TMP/out")" = 3 ] || fail "list --limit 2 has not 2 rows"
grep -q 'more: measurectl list --cursor' "$TMP/err" || fail "list cursor hint"
expect 0 "$C" --json list --kind minmax
jq -e '.jobs | length == 1 and .[0].priority == 7' "$TMP/out" >/dev/null || fail "list --json"
expect 0 "$C" list
grep -q "it ot" "$TMP/out" || fail "list shows labels"

# follow resumes after the daemon restarts mid-job (SIGTERM records the job
# as queued; the next start re-runs it): no event twice, none lost, exit 0.
it_ot_job 1000 500 >"$TMP/mid.json"
MID=$("$C" submit "$TMP/mid.json")
"$C" follow --json "$MID" >"$TMP/rs.out" 2>"$TMP/rs.err" &
FPID=$!
it_wait_grep "$TMP/rs.out" '"progress"' "progress of the job to resume"
it_stop
start "$PORT"
rc=0
wait $FPID || rc=$?
[ $rc = 0 ] || fail "follow across a restart exited $rc: $(cat "$TMP/rs.err")"
jq -se 'map(.id) == [range(1; length + 1)]' "$TMP/rs.out" >/dev/null || fail "ids across restart"
grep -q '"reason":"shutdown"' "$TMP/rs.out" || fail "no shutdown event seen"
tail -1 "$TMP/rs.out" | jq -e '.event == "end" and .data.status == "succeeded"' >/dev/null ||
    fail "resumed stream did not end"

# A server that goes away for good: follow gives up with 3 (after its
# resume window; here the daemon is gone before follow starts: at once).
it_stop
expect 3 "$C" follow "$MID"
echo "measurectl: ok"
