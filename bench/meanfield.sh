#!/bin/sh
# bench/meanfield.sh — one full-batch step of B1 (PGD), B2 (MFLD lifting) and
# B3 (MFLD bilevel) of mean-field.md §12: measured's two_layer kind
# (build/bench/nets_meanfield) against PyTorch 1.13 (bench/nets_torch.py) on
# the same sizes S/M/L, float64 and float32, 1 and 2 threads, in the same run.
# Prints each side's lines, then a table of ratios torch/measured (> 1: we are
# faster) and the step time over the dgemm bound.
#
#   BENCH_SIZES=S,M,L BENCH_LIST=B1,B2,B3 BENCH_REPS=30 BENCH_THREADS="1 2" \
#       sh bench/meanfield.sh
#
# Debian's torch calls the system BLAS (OpenBLAS), so torch at T threads also
# gets OPENBLAS_NUM_THREADS=T. The machine is shared: run it when the load is
# low, and repeat.
set -eu
BUILD=${BUILD:-build}
SIZES=${BENCH_SIZES:-S,M,L}
REPS=${BENCH_REPS:-30}
LIST=${BENCH_LIST:-B1,B2,B3}
THREADS=${BENCH_THREADS:-"1 2"}
PY=/usr/bin/python3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$BUILD/bench/nets_meanfield" --dump "$out" >/dev/null
$PY bench/nets_torch.py --check "$out"
for t in $THREADS; do
    OPENBLAS_NUM_THREADS=1 "$BUILD/bench/nets_meanfield" --threads "$t" --sizes "$SIZES" \
        --bench "$LIST" --reps "$REPS" | tee -a "$out/c.txt"
    OMP_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t $PY bench/nets_torch.py --threads "$t" --sizes "$SIZES" \
        --bench "$LIST" --reps "$REPS" | tee -a "$out/torch.txt"
done
$PY - "$out/c.txt" "$out/torch.txt" <<'EOF'
import re, sys
c, t = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r"(B\d) (\w) .*threads=(\d+) f64: median ([\d.]+) ms .*step/bound ([\d.]+)", line)
    if m:
        c[(m[1], m[2], m[3])] = (float(m[4]), float(m[5]))
for line in open(sys.argv[2]):
    m = re.match(r"torch (B\d) (\w) threads=(\d+) (f\d\d): median ([\d.]+) ms", line)
    if m:
        t[(m[1], m[2], m[3], m[4])] = float(m[5])
print("\nbench size threads  measured_ms  torch_f64_ms  torch_f32_ms  x_f64  x_f32  step/bound")
for k in sorted(c):
    ms, bound = c[k]
    f64, f32 = t.get(k + ("f64",), float("nan")), t.get(k + ("f32",), float("nan"))
    print(f"{k[0]:5} {k[1]:4} {k[2]:7}  {ms:11.3f}  {f64:12.3f}  {f32:12.3f}  {f64 / ms:5.2f}"
          f"  {f32 / ms:5.2f}  {bound:10.2f}")
EOF
