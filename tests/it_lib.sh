# tests/it_lib.sh — sourced by the client integration scripts (measurectl,
# Python, curl, browser): a scratch folder, the real daemon on a free port,
# waits and failures that show the logs. Not a test itself (tests/run.sh
# runs tests/integration/*.sh only).
#
#   . tests/it_lib.sh        sets BUILD, TMP; cleanup on exit kills the daemon
#   it_start [PORT] [FLAGS]  starts build/measured; sets PID, PORT, URL
#   it_stop                  SIGTERM, wait, check exit 0
#   it_wait_grep FILE RE WHAT  wait (up to 20 s) until FILE has a line matching RE
#   it_cloud N SEED          a seeded uniform point cloud in [0,1]^2 as JSON
#   fail MSG                 print MSG and the tails of $TMP/*.log, exit 1
BUILD=${BUILD:-build}
TMP=$(mktemp -d /tmp/measured-it-XXXXXX)
PID=""
it_cleanup() {
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap it_cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    for f in "$TMP"/*.log "$TMP"/out "$TMP"/err; do
        [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }
    done
    exit 1
}

it_start() {
    port=${1:-0}
    [ $# -gt 0 ] && shift
    : >"$TMP/daemon.log"
    "$BUILD/measured" --listen "127.0.0.1:$port" --store "$TMP/db" --workers 2 "$@" \
        2>>"$TMP/daemon.log" &
    PID=$!
    it_wait_grep "$TMP/daemon.log" '^listening on ' "the daemon to start"
    PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$TMP/daemon.log" | head -1)
    URL="http://127.0.0.1:$PORT"
}

it_stop() {
    kill -TERM "$PID"
    wait "$PID" || fail "daemon exit status $? after SIGTERM"
    PID=""
}

it_wait_grep() {
    i=0
    while ! grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt 400 ] && fail "timed out waiting for $3"
        sleep 0.05
    done
}

it_cloud() {
    awk -v n="$1" -v s="$2" 'BEGIN { x = s; printf "["; for (i = 0; i < n; i++) {
        x = (x * 1103515245 + 12345) % 2147483648; a = x / 2147483648;
        x = (x * 1103515245 + 12345) % 2147483648; b = x / 2147483648;
        printf "%s[%.6f,%.6f]", (i ? "," : ""), a, b } printf "]" }'
}

# it_ot_job N MAX_ITER: an ot job body on N x N points with tol 0, so it runs
# MAX_ITER iterations (about 4 ms each at N = 1000 on this machine, several
# times more under ASan).
it_ot_job() {
    printf '{"kind":"ot","params":{"source":{"points":'
    it_cloud "$1" 1
    printf '},"target":{"points":'
    it_cloud "$1" 2
    printf '},"epsilon":0.001,"tol":0,"max_iter":%s}}' "$2"
}
