#!/bin/sh
# bench/run.sh — run every benchmark script bench/*.sh (or only the ones
# named as arguments, without .sh). Each prints its own table; ratios are
# against references measured in the same run. See bench/README.md.
set -eu
BUILD=${BUILD:-build}
export BUILD
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
cd "$(dirname "$0")/.."
if [ $# -gt 0 ]; then
    for b in "$@"; do sh "bench/$b.sh"; done
else
    for b in bench/*.sh; do
        [ "$b" = bench/run.sh ] && continue
        echo "== $b"
        sh "$b"
    done
fi
