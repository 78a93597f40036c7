#!/bin/sh
# bench/soak.sh — the daemon under a mixed load for a bounded time, watched
# for leaks: submissions (tiny, medium and endless ot jobs, SOAK_RATE a
# second, default 100), event streams followed to their end, cancels, reads
# of jobs, results and pages, all at once (bench/mixed_load.c), while RSS,
# open file descriptors, threads and the number of jobs are sampled every
# SOAK_EVERY seconds.
#
# Usage: sh bench/soak.sh [MINUTES]     (default 3; `make soak SOAK_MIN=10`)
#   SOAK_SECONDS overrides MINUTES (short checks); SOAK_EVERY (default 5).
# Fails (exit 1) on any failed request (an answer other than the expected
# codes, or a stream that does not end with `end`) and on open descriptors
# growing past the warm-up level by more than 8. RSS is reported with its
# trend per minute and per 1000 jobs: the daemon keeps every job it knows
# in memory until a restart, so RSS grows with the number of jobs by design
# until retention exists; the slope says how much. Samples go to
# BUILD/soak.csv.
set -eu
BUILD=${BUILD:-build}
M="$BUILD/measured"
MIN=${1:-${SOAK_MIN:-3}}
DUR=${SOAK_SECONDS:-$((MIN * 60))}
EVERY=${SOAK_EVERY:-5}
RATE=${SOAK_RATE:-100}
L="$BUILD/bench/mixed_load"
[ -x "$M" ] && [ -x "$L" ] || make --no-print-directory BUILD="$BUILD" all "$L" >/dev/null
TMP=$(mktemp -d /tmp/measured-soak-XXXXXX)
PID=""
GEN=""
cleanup() {
    touch "$TMP/stop"
    [ -n "$GEN" ] && kill "$GEN" 2>/dev/null
    [ -n "$PID" ] && kill "$PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

"$M" --listen 127.0.0.1:0 --store "$TMP/db" --workers 2 --log-level warn \
    --progress-interval 0.05 2>"$TMP/log" &
PID=$!
while ! grep -q '^listening on ' "$TMP/log"; do sleep 0.05; done
PORT=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$TMP/log" | head -1)
U="http://127.0.0.1:$PORT"

cloud() {
    awk -v n="$1" -v s="$2" 'BEGIN { x = s; printf "["; for (i = 0; i < n; i++) {
        x = (x * 1103515245 + 12345) % 2147483648; a = x / 2147483648;
        x = (x * 1103515245 + 12345) % 2147483648; b = x / 2147483648;
        printf "%s[%.6f,%.6f]", (i ? "," : ""), a, b } printf "]" }'
}
echo '{"kind":"ot","label":"tiny","params":{"source":{"points":[[0,0],[1,0],[0,1]]},
 "target":{"points":[[0,1],[1,1],[2,2]]},"epsilon":0.1}}' >"$TMP/tiny.json"
for spec in "medium 60 0.01 1e-9 300" "endless 300 0.001 0 100000000"; do
    set -- $spec
    {
        printf '{"kind":"ot","label":"%s","params":{"source":{"points":' "$1"
        cloud "$2" 11
        printf '},"target":{"points":'
        cloud "$2" 12
        printf '},"epsilon":%s,"tol":%s,"max_iter":%s}}' "$3" "$4" "$5"
    } >"$TMP/$1.json"
done

sample() { # seconds since start
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$PID/status")
    thr=$(awk '/^Threads/ {print $2}' "/proc/$PID/status")
    fds=$(ls "/proc/$PID/fd" | wc -l)
    jobs=$(curl -s -m 10 "$U/metrics" | awk '/^measured_jobs\{/ {s += $2} END {print s + 0}')
    echo "$1,$rss,$fds,$thr,$jobs" >>"$TMP/samples"
}

echo "soak: ${DUR}s of mixed load on $U at $RATE jobs/s (bench/mixed_load.c: 2 submitters," \
    "2 streamers, 1 canceller, 1 reader)"
echo "t_s,rss_kb,fds,threads,jobs" >"$TMP/samples"
sample 0
"$L" "$PORT" "$DUR" "$RATE" "$TMP" >"$TMP/counts" &
GEN=$!
t=0
while [ $t -lt "$DUR" ]; do
    sleep "$EVERY"
    t=$((t + EVERY))
    kill -0 "$PID" 2>/dev/null || { echo "soak: FAIL: the daemon died"; exit 1; }
    sample $t
done
wait "$GEN" || { echo "soak: FAIL: load driver"; exit 1; }
GEN=""
# Let the queue drain, then one last sample at rest.
for i in $(seq 1 60); do
    d=$(curl -s "$U/readyz" | sed 's/.*"queue_depth":\([0-9]*\).*/\1/')
    [ "$d" = 0 ] && break
    sleep 1
done
sleep 1
sample $((DUR + 1 + i))
cp "$TMP/samples" "$BUILD/soak.csv"

echo "requests (role, answer, count):"
sort "$TMP/counts" | sed 's/^/  /'
bad=$(awk '!(($1 == "submit" && $2 == 201) || ($1 == "cancel" && ($2 == 202 || $2 == 409)) ||
    ($1 != "submit" && $1 != "cancel" && $2 == 200)) {s += $3} END {print s + 0}' "$TMP/counts")
echo "samples (also in $BUILD/soak.csv):"
column -t -s, "$TMP/samples" 2>/dev/null | sed 's/^/  /' || sed 's/^/  /' "$TMP/samples"
# Trends after a warm-up (the first fifth of the run): least-squares slopes
# of RSS against time and against the number of jobs; descriptor range.
awk -F, -v warm=$((DUR / 5)) -v dur="$DUR" 'NR > 1 && $1 >= warm && $1 <= dur {
        n++; t[n] = $1; r[n] = $2; f[n] = $3; j[n] = $5 }
    function slope(x, y,   i, mx, my, sxx, sxy) {
        for (i = 1; i <= n; i++) { mx += x[i]; my += y[i] } mx /= n; my /= n
        for (i = 1; i <= n; i++) { sxx += (x[i] - mx) ^ 2; sxy += (x[i] - mx) * (y[i] - my) }
        return sxx > 0 ? sxy / sxx : 0 }
    END {
        if (n < 3) { print "soak: too few samples for a trend"; exit }
        fmin = fmax = f[1]; for (i = 1; i <= n; i++) { if (f[i] < fmin) fmin = f[i]; if (f[i] > fmax) fmax = f[i] }
        printf "after warm-up (t >= %d s, %d samples): RSS %d -> %d KiB, %.0f KiB/min, %.2f KiB per 1000 jobs (%d -> %d jobs); fds %d..%d\n",
            warm, n, r[1], r[n], 60 * slope(t, r), 1000 * slope(j, r), j[1], j[n], fmin, fmax
        print fmax - fmin > "'"$TMP/fdgrowth"'" }' "$TMP/samples"
fdg=$(cat "$TMP/fdgrowth" 2>/dev/null || echo 0)
kill -TERM "$PID"
wait "$PID" || { echo "soak: FAIL: exit status after SIGTERM"; exit 1; }
PID=""
if [ "$bad" != 0 ]; then
    echo "soak: FAIL: $bad failed requests"
    exit 1
fi
if [ "$fdg" -gt 8 ]; then
    echo "soak: FAIL: open descriptors grew by $fdg after warm-up"
    exit 1
fi
echo "soak: ok (no failed request; descriptors flat)"
