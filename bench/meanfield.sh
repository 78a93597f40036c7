#!/bin/sh
# bench/meanfield.sh — one full-batch step of B1 (PGD), B2 (MFLD lifting) and
# B3 (MFLD bilevel) of mean-field.md §12: measured's two_layer kind
# (build/bench/nets_meanfield, precision float64 and float32) against PyTorch
# 1.13 (bench/nets_torch.py, float64 and float32) on the same sizes and data
# shapes, 1 and 2 threads. Starts with oracle 12 (one B1 and one B3 step agree
# with torch's, in both precisions).
#
# The machine is shared and its load moves by the second, so the two sides
# are interleaved: for each round, thread count, benchmark and size, measured
# (both precisions) runs right before torch (both precisions). The summary
# gives, per case, the median over rounds of each side's median step time,
# measured's GFLOP/s and step / [ds]gemm bound, and the median over rounds of
# the per-round ratio torch / measured at equal precision (> 1: measured is
# faster) with its range.
#
#   BENCH_SIZES=S,M BENCH_LIST=B1,B2,B3 BENCH_REPS=30 BENCH_THREADS="1 2" \
#   BENCH_ROUNDS=3 sh bench/meanfield.sh
#
# Sizes: S, M, L of the spec, X = the issue's orientation point (torch needs
# 10-40 s per step at L and X; give those few reps). Debian's torch calls the
# system BLAS (OpenBLAS), so torch at T threads also gets
# OPENBLAS_NUM_THREADS=T.
set -eu
BUILD=${BUILD:-build}
SIZES=${BENCH_SIZES:-S,M}
REPS=${BENCH_REPS:-30}
LIST=${BENCH_LIST:-B1,B2,B3}
THREADS=${BENCH_THREADS:-"1 2"}
ROUNDS=${BENCH_ROUNDS:-3}
PY=/usr/bin/python3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Both sides call the same OpenBLAS, whose kernels (printed here) follow the
# CPU unless OPENBLAS_CORETYPE names them.
core=$(OPENBLAS_VERBOSE=2 "$BUILD/bench/nets_meanfield" --dump "$out" 2>&1 | sed -n 's/^Core: //p')
echo "OpenBLAS kernels: ${core:-?} (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset})"
$PY bench/nets_torch.py --check "$out"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (start)"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    for t in $THREADS; do
        for b in $(echo "$LIST" | tr , ' '); do
            for s in $(echo "$SIZES" | tr , ' '); do
                OPENBLAS_NUM_THREADS=1 "$BUILD/bench/nets_meanfield" --threads "$t" --sizes "$s" \
                    --bench "$b" --reps "$REPS" | sed "s/^/round=$r /" | tee -a "$out/c.txt"
                OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t $PY bench/nets_torch.py --threads "$t" \
                    --sizes "$s" --bench "$b" --reps "$REPS" | sed "s/^/round=$r /" |
                    tee -a "$out/torch.txt"
            done
        done
    done
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (after round $r)"
    r=$((r + 1))
done
$PY - "$out/c.txt" "$out/torch.txt" <<'EOF'
import re, statistics as st, sys
c, t = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r"round=(\d+) (B\d) (\w) .*threads=(\d+) (f\d\d): median ([\d.]+) ms .* "
                 r"([\d.]+) GFLOP/s  [ds]gemm .*step/bound ([\d.]+)", line)
    if m:
        c.setdefault((m[2], m[3], m[4], m[5]), {})[m[1]] = tuple(map(float, m.group(6, 7, 8)))
for line in open(sys.argv[2]):
    m = re.match(r"round=(\d+) torch (B\d) (\w) threads=(\d+) (f\d\d): median ([\d.]+) ms", line)
    if m:
        t.setdefault((m[2], m[3], m[4], m[5]), {})[m[1]] = float(m[6])
print("\nmedians over rounds, ms per step; GF/s and bound (step / flops at the [ds]gemm rate) "
      "of measured; x = torch / measured, median [min-max] of the rounds' ratios")
print("bench size thr prec |  measured   GF/s  bound |      torch |  x torch/measured")
for k in sorted(c):
    rounds = c[k]
    med = st.median(v[0] for v in rounds.values())
    gf = st.median(v[1] for v in rounds.values())
    bd = st.median(v[2] for v in rounds.values())
    tr = t.get(k, {})
    tm = st.median(tr.values()) if tr else float("nan")
    xs = sorted(tr[r] / rounds[r][0] for r in rounds if r in tr)
    xr = (f"{st.median(xs):6.2f} [{xs[0]:.2f}-{xs[-1]:.2f}]" if xs else "   nan")
    print(f"{k[0]:5} {k[1]:4} {k[2]:3} {k[3]:4} | {med:9.3f} {gf:6.1f} {bd:6.2f} | {tm:10.3f} | {xr}")
EOF
