#!/bin/sh
# bench/games.sh — iterations per second of conic particle mirror prox on a
# 1-D random Fourier game (order 3), m = n = 1000 particles: measured (C,
# 1 and 2 threads) against a NumPy implementation of the same update on the
# same game (bench/games_numpy.py, which first checks it reproduces the C
# iterates). Also the generic (expression-payoff) path for reference.
set -eu
BUILD=${BUILD:-build}
PY=/usr/bin/python3 # Debian's python3-numpy (deploy/install-deps.sh --bench)
M=${M:-1000}
ITS=${ITS:-300}
dump=$(mktemp)
trap 'rm -f "$dump"' EXIT
"$BUILD/bench/games" "$M" "$M" "$ITS" 1 "$dump" >"$dump.c1"
"$BUILD/bench/games" "$M" "$M" "$ITS" 2 >"$dump.c2"
"$PY" bench/games_numpy.py "$dump" "$ITS" >"$dump.np"
cat "$dump.c1" "$dump.c2" "$dump.np"
# The generic path (expression payoff, pair by pair) for reference.
"$BUILD/bench/games" "$M" "$M" 5 1 expr
c1=$(sed -n 's/.*its_per_s=\([0-9.]*\).*/\1/p' "$dump.c1")
c2=$(sed -n 's/.*its_per_s=\([0-9.]*\).*/\1/p' "$dump.c2")
np=$(sed -n 's/.*its_per_s=\([0-9.]*\).*/\1/p' "$dump.np")
rm -f "$dump.c1" "$dump.c2" "$dump.np"
awk -v c1="$c1" -v c2="$c2" -v np="$np" 'BEGIN {
    printf "games: C/NumPy speed ratio %.2f (1 thread), %.2f (2 threads)\n", c1 / np, c2 / np }'
