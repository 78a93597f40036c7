#!/bin/sh
# bench/ot.sh — Sinkhorn per-iteration time: measured vs POT (log and kernel
# domain) and vs the machine's exp-throughput bound, same data, one run.
# Data: uniform points in [0,1]², eps = 0.01, float64 (issue 2's benchmark).
#   make bench BENCH=ot          (or: BUILD=build sh bench/ot.sh)
set -eu
BUILD=${BUILD:-build}
PY=/usr/bin/python3
B=$BUILD/bench/ot_sinkhorn
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/results.jsonl
$B --bound >>"$out"
for n in 1000 4000; do
    $PY -c "import numpy as np; np.random.default_rng($n).uniform(size=(2*$n,2)).tofile('$tmp/d$n.bin')"
    it=20; [ $n = 4000 ] && it=10
    $B "$tmp/d$n.bin" $n 0.01 1 $it >>"$out"
    $B "$tmp/d$n.bin" $n 0.01 2 $it >>"$out"
    $B "$tmp/d$n.bin" $n 0.01 1 $it matrix >>"$out"
    OPENBLAS_NUM_THREADS=1 $PY bench/ot_pot.py "$tmp/d$n.bin" $n 0.01 5 sinkhorn_log >>"$out"
    OPENBLAS_NUM_THREADS=2 $PY bench/ot_pot.py "$tmp/d$n.bin" $n 0.01 $((it * 5)) sinkhorn >>"$out"
done
# Small eps: POT's kernel domain underflows (exp(-C/eps) = 0 for every pair
# of some rows); the log domain stays finite and keeps the mass.
$PY -c "import numpy as np; np.random.default_rng(7).uniform(size=(2000,2)).tofile('$tmp/u.bin')"
OPENBLAS_NUM_THREADS=2 $PY bench/ot_pot.py "$tmp/u.bin" 1000 1e-6 200 sinkhorn >>"$out"
$B "$tmp/u.bin" 1000 1e-6 1 200 >>"$out"
$PY - "$out" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
bound = next(r for r in rows if r["mode"] == "bound")
rate = bound["gexp_per_s"] * 1e9
print(f"exp throughput ({bound['isa']}): {bound['gexp_per_s']:.2f} G/s per core")
print(f"{'n':>5} {'method':<34} {'ms/iter':>9} {'vs POT log':>11} {'vs POT kernel':>14} {'/ exp bound':>12}")
for n in (1000, 4000):
    r = {x["mode"] + (f"/{x['threads']}" if "threads" in x else ""): x
         for x in rows if x.get("n") == n and x.get("eps") == 0.01}
    log = r["pot-sinkhorn_log"]["ms_per_iter"]
    ker = r["pot-sinkhorn"]["ms_per_iter"]
    bnd = 2 * n * n / rate * 1e3
    for key, label in (("pot-sinkhorn_log", "POT sinkhorn_log"),
                       ("pot-sinkhorn", "POT sinkhorn (kernel, 2 BLAS thr)"),
                       ("measured-points/1", "measured, 1 thread"),
                       ("measured-points/2", "measured, 2 threads"),
                       ("measured-matrix/1", "measured (cost matrix), 1 thread")):
        t = r[key]["ms_per_iter"]
        print(f"{n:>5} {label:<34} {t:>9.2f} {log / t:>10.1f}x {ker / t:>13.2f}x {t / bnd:>11.2f}x")
    print(f"{n:>5} {'exp bound (2nm exps on 1 core)':<34} {bnd:>9.2f}")
print("eps = 1e-6, n = 1000, 200 iterations:")
for x in rows:
    if x.get("eps") == 1e-6:
        print(f"  {x['mode']:<18} finite={x['finite']} plan mass={x['plan_mass']:.6g} "
              f"marginal error={x['marginal_error']:.3g}")
PYEOF
