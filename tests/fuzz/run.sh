#!/bin/sh
# tests/fuzz/run.sh — run each libFuzzer target (BUILD/fuzz/fuzz_*) for
# FUZZ_TIME seconds, starting from the committed seed corpus
# tests/fuzz/corpus/<target>/ (plus tests/fuzz/regress/<target>/) and
# growing a working corpus in BUILD/fuzz/corpus/<target>/ (kept between
# runs, never committed). A crash, leak, timeout or out-of-memory leaves
# its input in BUILD/fuzz/artifacts/<target>/ and fails the run: copy the
# input into tests/fuzz/regress/<target>/ so that `make test` replays it
# (tests/test_fuzz_replay.c), then fix the bug.
# Usage: BUILD=build-fuzz FUZZ_TIME=60 tests/fuzz/run.sh [target...]
set -u
BUILD=${BUILD:-build-fuzz}
FUZZ_TIME=${FUZZ_TIME:-60}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
targets=${*:-$(cd "$BUILD/fuzz" && ls fuzz_* 2>/dev/null | grep -v '\.' )}
[ -n "$targets" ] || { echo "fuzz: no targets in $BUILD/fuzz"; exit 1; }
bad=0
for t in $targets; do
    name=${t#fuzz_}
    work="$BUILD/fuzz/corpus/$name"
    art="$BUILD/fuzz/artifacts/$name/"
    mkdir -p "$work" "$art"
    seeds="tests/fuzz/corpus/$name"
    regress="tests/fuzz/regress/$name"
    dirs="$work"
    for d in "$seeds" "$regress"; do [ -d "$d" ] && dirs="$dirs $d"; done
    dict=""
    [ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"
    before=$(ls "$art" | wc -l)
    log="$BUILD/fuzz/$name.log"
    # -rss_limit_mb: a request that makes validation allocate gigabytes is a
    # finding; -timeout: so is one input that takes seconds.
    # shellcheck disable=SC2086
    "$BUILD/fuzz/$t" -max_total_time="$FUZZ_TIME" -timeout=10 -rss_limit_mb=2048 \
        -max_len=16384 -print_final_stats=1 -artifact_prefix="$art" $dict $dirs >"$log" 2>&1
    rc=$?
    after=$(ls "$art" | wc -l)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
    corp=$(ls "$work" | wc -l)
    printf 'fuzz %-8s %4ss  %9s runs  %-10s corpus %5s  new artifacts %s  exit %s\n' \
        "$name" "$FUZZ_TIME" "${execs:-?}" "$cov" "$corp" $((after - before)) $rc
    if [ $rc != 0 ] || [ "$after" != "$before" ]; then
        bad=1
        grep -m5 -E 'ERROR|invariant|SUMMARY|Test unit written' "$log" | sed 's/^/    /'
    fi
done
[ $bad = 0 ] && echo "fuzz: no crash" || echo "fuzz: crashes found (see above)"
exit $bad
