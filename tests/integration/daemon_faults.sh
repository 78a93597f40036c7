#!/bin/sh
# tests/integration/daemon_faults.sh — the real daemon under faults.
#
# 1. kill -9 at random points of a busy run, ROUNDS times on one store:
#    submissions (tiny, medium and endless ot jobs, FAULT_RATE a second),
#    event streams, cancels and result reads in flight (bench/mixed_load.c). After each restart: every job ever answered
#    201 is there; the endless ones are cancelled, and every job ends in a
#    terminal state; every result read before a kill is byte for byte the
#    same; every event history has ids 1..n, starts with `queued` and ends
#    with one `end` that matches the status; SQLite's integrity check passes.
# 2. A full disk (a 3 MiB tmpfs; without mount rights, RLIMIT_FSIZE with
#    SIGXFSZ ignored): only 201 or 503 answers, /readyz 503 while writes
#    fail, an error log naming the cause; once there is room again, 201 and
#    ready; after kill -9 and restart, every 201 job is present and ends.
# 3. A read-only store (tmpfs remounted read-only): the daemon refuses to
#    start, exit status 1, with the reason in its log.
#
# FAULT_SEED=N replays the kill points of a failing run (printed on failure);
# FAULT_ROUNDS (default 4); FAULT_NO_MOUNT=1 takes the RLIMIT_FSIZE path.
set -eu
BUILD=${BUILD:-build}
M="$BUILD/measured"
ROUNDS=${FAULT_ROUNDS:-4}
SEED=${FAULT_SEED:-$(($(date +%s) % 100000))}
TMP=$(mktemp -d /tmp/measured-faults-XXXXXX)
PID=""
MNT=""
GEN=""
cleanup() {
    rc=$?
    set +e
    touch "$TMP/stop"
    [ -n "$GEN" ] && kill "$GEN" 2>/dev/null
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
    [ -n "$PID" ] && wait "$PID" 2>/dev/null
    [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
    rm -rf "$TMP"
    exit $rc
}
trap cleanup EXIT INT TERM
fail() {
    echo "FAIL (FAULT_SEED=$SEED): $*" >&2
    [ -f "$TMP/log" ] && grep -v '"msg":"request"' "$TMP/log" | tail -15 >&2
    exit 1
}

start() { # store [flags...]
    st=$1
    shift
    : >"$TMP/log"
    "$M" --listen 127.0.0.1:0 --store "$st" --workers 2 --progress-interval 0.02 "$@" \
        2>>"$TMP/log" &
    PID=$!
    i=0
    while ! grep -q '^listening on ' "$TMP/log"; do
        i=$((i + 1))
        [ $i -gt 200 ] && fail "daemon did not start"
        kill -0 "$PID" 2>/dev/null || fail "daemon exited at start"
        sleep 0.05
    done
    PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$TMP/log" | head -1)
    U="http://127.0.0.1:$PORT"
}
kill9() {
    kill -9 "$PID"
    wait "$PID" 2>/dev/null || true
    PID=""
}
# n points in the unit square from a seeded LCG.
cloud() {
    awk -v n="$1" -v s="$2" 'BEGIN { x = s; printf "["; for (i = 0; i < n; i++) {
        x = (x * 1103515245 + 12345) % 2147483648; a = x / 2147483648;
        x = (x * 1103515245 + 12345) % 2147483648; b = x / 2147483648;
        printf "%s[%.6f,%.6f]", (i ? "," : ""), a, b } printf "]" }'
}
# Uniform random numbers for this run, reproducible from SEED.
rnd() { awk -v s="$SEED" -v k="$1" 'BEGIN { srand(s * 1000 + k); print rand() }'; }
integrity() {
    /usr/bin/python3 -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
r = c.execute("pragma integrity_check").fetchall()
sys.exit(0 if r == [("ok",)] else "integrity: %r" % (r,))' "$1" || fail "store integrity"
}

TINY='{"kind":"ot","label":"tiny","params":{"source":{"points":[[0,0],[1,0],[0,1]]},
       "target":{"points":[[0,1],[1,1],[2,2]]},"epsilon":0.1}}'
echo "$TINY" >"$TMP/tiny.json"
{
    printf '{"kind":"ot","label":"medium","params":{"source":{"points":'
    cloud 60 1
    printf '},"target":{"points":'
    cloud 60 2
    printf '},"epsilon":0.01,"tol":1e-9,"max_iter":400}}'
} >"$TMP/medium.json"
{
    printf '{"kind":"ot","label":"endless","params":{"source":{"points":'
    cloud 400 3
    printf '},"target":{"points":'
    cloud 400 4
    printf '},"epsilon":0.001,"tol":0,"max_iter":100000000}}'
} >"$TMP/endless.json"

# The load: bench/mixed_load.c (2 submitters, 2 streamers, a canceller, a
# reader of results on keep-alive connections; DIR/ids lists every job
# answered 201, DIR/results/ID every result read).
L="$BUILD/bench/mixed_load"
[ -x "$L" ] || make --no-print-directory BUILD="$BUILD" "$L" >/dev/null
RATE=${FAULT_RATE:-150}

# Every accepted job present, ending terminal (endless ones are cancelled),
# with a consistent history; every result read before the kill unchanged.
check_all() {
    /usr/bin/python3 tests/integration/faults_check.py "$PORT" "$TMP/accepted" "$TMP/results" \
        >"$TMP/check" || fail "after the restart"
}

# ---- 1. kill -9 at random points ----------------------------------------------
DB="$TMP/db/measured.db"
start "$DB"
r=1
while [ $r -le "$ROUNDS" ]; do
    rm -f "$TMP/stop"
    "$L" "$PORT" 30 "$RATE" "$TMP" >"$TMP/load.$r" &
    GEN=$!
    # Kill between 0.3 and 2.3 s into the round.
    sleep "$(awk -v u="$(rnd $r)" 'BEGIN { printf "%.2f", 0.3 + 2 * u }')"
    kill9
    touch "$TMP/stop"
    wait "$GEN" || fail "load driver"
    GEN=""
    # Before the kill every answer is one of these; after it, failed
    # connections ("conn") and streams cut short ("noend") are expected.
    awk '!(($1 == "submit" && ($2 == 201 || $2 == "conn")) ||
           ($1 == "cancel" && ($2 == 202 || $2 == 409 || $2 == "conn")) ||
           ($1 == "stream" && ($2 == 200 || $2 == "conn" || $2 == "noend")) ||
           (($1 == "get" || $1 == "result" || $1 == "list") && ($2 == 200 || $2 == "conn")))' \
        "$TMP/load.$r" >"$TMP/badcodes"
    [ ! -s "$TMP/badcodes" ] || fail "unexpected answers: $(cat "$TMP/badcodes")"
    cp "$TMP/ids" "$TMP/accepted"
    integrity "$DB"
    start "$DB"
    check_all
    echo "round $r: $(awk '$1 == "submit" && $2 == 201 {print $3}' "$TMP/load.$r") jobs accepted before kill -9; after restart: $(cat "$TMP/check")"
    r=$((r + 1))
done
kill -TERM "$PID"
wait "$PID" || fail "exit status after SIGTERM"
PID=""
integrity "$DB"

# ---- 2. a full disk ---------------------------------------------------------------
FULL="$TMP/full"
mkdir -p "$FULL"
if [ -z "${FAULT_NO_MOUNT:-}" ] && mount -t tmpfs -o size=3m tmpfs "$FULL" 2>/dev/null; then
    MNT=$FULL
    how="a 3 MiB tmpfs"
    start "$FULL/db"
    room() { mount -o remount,size=32m "$FULL"; }
elif command -v prlimit >/dev/null; then
    how="RLIMIT_FSIZE 3 MiB"
    # Ignored SIGXFSZ is inherited: writes past the limit fail with EFBIG.
    trap '' XFSZ
    start "$FULL/db"
    prlimit --pid "$PID" --fsize=3145728:unlimited # soft: raising it back needs no privilege
    room() { prlimit --pid "$PID" --fsize=unlimited; }
else
    fail "neither tmpfs mounts nor prlimit: cannot simulate a full disk"
fi
LABEL=$(head -c 1000 /dev/zero | tr '\0' x)
jq -c --arg l "$LABEL" '.label = $l' "$TMP/tiny.json" >"$TMP/fat.json"
: >"$TMP/accepted"
: >"$TMP/codes"
i=0
full=0
while [ $i -lt 3000 ] && [ $full -lt 20 ]; do
    i=$((i + 1))
    code=$(curl -s -o "$TMP/sub" -w '%{http_code}' "$U/v1/jobs" --data-binary "@$TMP/fat.json")
    echo "$code" >>"$TMP/codes"
    case $code in
    201) jq -r .id "$TMP/sub" >>"$TMP/accepted" ;;
    503) full=$((full + 1)) ;;
    *) fail "answer $code on a full disk ($how)" ;;
    esac
done
[ $full -ge 20 ] || fail "the disk never filled ($how)"
jq -e '.status == 503 and .type == "/problems/unavailable"' "$TMP/sub" >/dev/null ||
    fail "503 body: $(cat "$TMP/sub")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$U/readyz")" = 503 ] ||
    fail "ready while the store cannot be written"
# ENOSPC (tmpfs) reads "database or disk is full"; SQLite reports EFBIG
# (the RLIMIT_FSIZE fallback) as "disk I/O error".
grep -q '"level":"error","msg":"store write failed".*\(disk is full\|disk I/O error\)' \
    "$TMP/log" || fail "no log line saying the disk is full"
room
ok=0
for i in 1 2 3 4 5 6 7 8 9 10; do
    code=$(curl -s -o "$TMP/sub" -w '%{http_code}' "$U/v1/jobs" --data-binary "@$TMP/fat.json")
    if [ "$code" = 201 ]; then
        jq -r .id "$TMP/sub" >>"$TMP/accepted"
        ok=1
        break
    fi
done
[ $ok = 1 ] || fail "no 201 after the disk has room again"
# Jobs held in memory during the outage are written by the store's retry
# (every second); the daemon is ready again once they are.
ready=0
for i in $(seq 1 50); do
    if curl -s "$U/readyz" | jq -e '.status == "ready"' >/dev/null; then
        ready=1
        break
    fi
    sleep 0.1
done
[ $ready = 1 ] || fail "not ready again within 5 s of room"
echo "full disk ($how): $(grep -c 201 "$TMP/codes") accepted, then 503s; ready again with room"
kill9
integrity "$FULL/db"
rm -rf "$TMP/results"
start "$FULL/db"
check_all
echo "after kill -9 and restart: $(cat "$TMP/check")"
kill -TERM "$PID"
wait "$PID" || fail "exit status after SIGTERM"
PID=""

# ---- 3. a read-only store -----------------------------------------------------------
if [ -n "$MNT" ] && mount -o remount,ro "$MNT" 2>/dev/null; then
    RC=0
    "$M" --listen 127.0.0.1:0 --store "$FULL/db" 2>"$TMP/log" || RC=$?
    [ $RC = 1 ] || fail "exit status $RC on a read-only store"
    grep -q '"msg":"cannot start".*[Rr]ead-only file system' "$TMP/log" ||
        fail "no clear log on a read-only store: $(cat "$TMP/log")"
    echo "read-only store: refused at start: $(sed -n 's/.*"detail":"\([^"]*\)".*/\1/p' "$TMP/log")"
else
    echo "read-only store: SKIPPED (no tmpfs mount here)"
fi
echo "daemon_faults: ok"
