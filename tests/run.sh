#!/bin/sh
# tests/run.sh — run every unit suite (build/tests/test_*) and every
# integration script (tests/integration/*.sh); fail if any fails.
# Usage: BUILD=build tests/run.sh [--server-only]
set -u
BUILD=${BUILD:-build}
export BUILD
export OPENBLAS_NUM_THREADS=1
# Threads that wait at an OpenMP barrier sleep instead of spinning: on a
# shared, oversubscribed machine spinning makes 2-thread tests 15x slower.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
pass=0
fail=0
failed=""
run() {
    name=$1
    shift
    start=$(date +%s)
    if "$@" >"$BUILD/logs/$name.log" 2>&1; then
        pass=$((pass + 1))
        printf 'PASS %-40s %3ss\n' "$name" $(($(date +%s) - start))
    else
        fail=$((fail + 1))
        failed="$failed $name"
        printf 'FAIL %-40s %3ss\n' "$name" $(($(date +%s) - start))
        tail -n 40 "$BUILD/logs/$name.log" | sed 's/^/    /'
    fi
}
mkdir -p "$BUILD/logs"
only_server=0
[ "${1:-}" = "--server-only" ] && only_server=1
for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    n=$(basename "$t")
    if [ $only_server = 1 ]; then
        case $n in test_server* | test_http* | test_pool* | test_store* | test_codec*) ;; *) continue ;; esac
    fi
    run "$n" "$t"
done
for s in tests/integration/*.sh; do
    [ -f "$s" ] || continue
    run "$(basename "$s" .sh)" sh "$s"
done
echo "tests: $pass passed, $fail failed"
[ $fail = 0 ] || { echo "failed:$failed"; exit 1; }
