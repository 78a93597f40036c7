#!/bin/sh
# tests/integration/daemon_faults.sh — the real daemon under faults.
#
# 1. kill -9 at random points of a busy run, ROUNDS times on one store:
#    submissions (tiny, medium and endless ot jobs), event streams, cancels
#    and result reads in flight. After each restart: every job ever answered
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
# FAULT_ROUNDS (default 4).
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
    for g in $GEN; do kill "$g" 2>/dev/null; done
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
    cloud 300 1
    printf '},"target":{"points":'
    cloud 300 2
    printf '},"epsilon":0.01,"tol":1e-9,"max_iter":400}}'
} >"$TMP/medium.json"
{
    printf '{"kind":"ot","label":"endless","params":{"source":{"points":'
    cloud 400 3
    printf '},"target":{"points":'
    cloud 400 4
    printf '},"epsilon":0.001,"tol":0,"max_iter":100000000}}'
} >"$TMP/endless.json"

# ---- load generators (each bounded: they stop at $TMP/stop or after N) ----
submitter() { # tag
    i=0
    while [ ! -f "$TMP/stop" ] && [ $i -lt 400 ]; do
        i=$((i + 1))
        case $((i % 9)) in 0) b=endless ;; 1 | 4) b=medium ;; *) b=tiny ;; esac
        code=$(curl -s -m 5 -o "$TMP/sub.$1" -w '%{http_code}' "$U/v1/jobs" \
            --data-binary "@$TMP/$b.json") || true
        if [ "$code" = 201 ]; then
            jq -r .id "$TMP/sub.$1" >>"$TMP/accepted"
        elif [ "$code" != 000 ]; then
            echo "$code" >>"$TMP/badcodes"
        fi
    done
}
streamer() {
    while [ ! -f "$TMP/stop" ]; do
        id=$(tail -n 1 "$TMP/accepted" 2>/dev/null) || true
        [ -n "$id" ] && curl -s -N -m 0.5 "$U/v1/jobs/$id/events" >/dev/null 2>&1
        sleep 0.02
    done
}
canceller() {
    n=0
    while [ ! -f "$TMP/stop" ]; do
        n=$((n + 1))
        id=$(sed -n "$((n * 3))p" "$TMP/accepted" 2>/dev/null) || true
        [ -n "$id" ] && curl -s -m 2 -o /dev/null -X DELETE "$U/v1/jobs/$id"
        sleep 0.05
    done
}
# Reads the results of finished jobs before the kill: they must survive it.
reader() {
    mkdir -p "$TMP/results"
    while [ ! -f "$TMP/stop" ]; do
        for id in $(tail -n 40 "$TMP/accepted" 2>/dev/null); do
            [ -f "$TMP/stop" ] && break
            [ -f "$TMP/results/$id" ] && continue
            curl -s -m 2 -o "$TMP/res.tmp" -w '%{http_code}' "$U/v1/jobs/$id/result" \
                2>/dev/null | grep -q '^200$' && mv "$TMP/res.tmp" "$TMP/results/$id"
        done
        sleep 0.05
    done
}

# Every accepted job: present, ends terminal (endless ones are cancelled),
# consistent history; every result read earlier unchanged.
check_all() {
    sort -u "$TMP/accepted" >"$TMP/ids"
    for id in $(cat "$TMP/ids"); do
        code=$(curl -s -o "$TMP/job.json" -w '%{http_code}' "$U/v1/jobs/$id")
        [ "$code" = 200 ] || fail "job $id answered 201 but is $code after restart"
        if [ "$(jq -r .label "$TMP/job.json")" = endless ] &&
            ! jq -e '.status | IN("succeeded","failed","cancelled")' "$TMP/job.json" >/dev/null; then
            curl -s -o /dev/null -X DELETE "$U/v1/jobs/$id"
        fi
    done
    for id in $(cat "$TMP/ids"); do
        st=$(curl -s "$U/v1/jobs/$id?wait=30" | jq -r .status)
        case $st in succeeded | failed | cancelled) ;; *) fail "job $id is $st" ;; esac
        curl -s -m 5 -H 'Accept: application/x-ndjson' "$U/v1/jobs/$id/events" >"$TMP/ev"
        jq -se --arg st "$st" '(map(.id) == [range(1; length + 1)]) and
            (.[0].event == "status" and .[0].data.status == "queued") and
            (map(select(.event == "end")) | length == 1) and
            (.[-1].event == "end" and .[-1].data.status == $st)' "$TMP/ev" >/dev/null ||
            fail "job $id ($st): inconsistent history: $(head -c 600 "$TMP/ev")"
        if [ -f "$TMP/results/$id" ]; then
            [ "$st" = succeeded ] || fail "job $id had a result, now $st"
            curl -s "$U/v1/jobs/$id/result" >"$TMP/res.now"
            cmp -s "$TMP/results/$id" "$TMP/res.now" || fail "result of $id changed"
        fi
    done
}

# ---- 1. kill -9 at random points ----------------------------------------------
DB="$TMP/db/measured.db"
: >"$TMP/accepted"
start "$DB"
r=1
while [ $r -le "$ROUNDS" ]; do
    rm -f "$TMP/stop"
    submitter a &
    GEN="$!"
    submitter b &
    GEN="$GEN $!"
    streamer &
    GEN="$GEN $!"
    canceller &
    GEN="$GEN $!"
    reader &
    GEN="$GEN $!"
    # Kill between 0.3 and 2.3 s into the round.
    sleep "$(awk -v u="$(rnd $r)" 'BEGIN { printf "%.2f", 0.3 + 2 * u }')"
    kill9
    touch "$TMP/stop"
    for g in $GEN; do wait "$g" 2>/dev/null || true; done
    GEN=""
    [ ! -s "$TMP/badcodes" ] || fail "unexpected answers: $(sort "$TMP/badcodes" | uniq -c)"
    integrity "$DB"
    start "$DB"
    check_all
    echo "round $r: $(wc -l <"$TMP/ids") jobs, $(ls "$TMP/results" | wc -l) results checked"
    r=$((r + 1))
done
kill -TERM "$PID"
wait "$PID" || fail "exit status after SIGTERM"
PID=""
integrity "$DB"

# ---- 2. a full disk ---------------------------------------------------------------
FULL="$TMP/full"
mkdir -p "$FULL"
if mount -t tmpfs -o size=3m tmpfs "$FULL" 2>/dev/null; then
    MNT=$FULL
    how="a 3 MiB tmpfs"
    start "$FULL/db"
    room() { mount -o remount,size=32m "$FULL"; }
elif command -v prlimit >/dev/null; then
    how="RLIMIT_FSIZE 3 MiB"
    # Ignored SIGXFSZ is inherited: writes past the limit fail with EFBIG.
    trap '' XFSZ
    start "$FULL/db"
    prlimit --pid "$PID" --fsize=3145728
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
grep -q '"level":"error","msg":"store write failed".*disk is full' "$TMP/log" ||
    fail "no log line saying the disk is full"
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
curl -s "$U/readyz" | jq -e '.status == "ready"' >/dev/null || fail "not ready again after room"
echo "full disk ($how): $(grep -c 201 "$TMP/codes") accepted, then 503s; ready again with room"
kill9
integrity "$FULL/db"
rm -rf "$TMP/results"
start "$FULL/db"
check_all
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
