#!/usr/bin/python3
"""bench/ot_pot.py — POT's Sinkhorn per-iteration time on the data file that
bench/ot.sh made (the same points the C driver reads).

    /usr/bin/python3 bench/ot_pot.py DATA.bin N EPS ITERS METHOD

METHOD: sinkhorn_log (log domain) or sinkhorn (kernel domain). stopThr=0 so
exactly ITERS iterations run; ot.dist is computed outside the timing. Prints
one JSON line."""
import json
import sys
import time

import numpy as np
import ot

path, n, eps, iters, method = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), \
    int(sys.argv[4]), sys.argv[5]
xy = np.fromfile(path, dtype=np.float64, count=4 * n).reshape(2 * n, 2)
X, Y = xy[:n], xy[n:]
a = np.full(n, 1.0 / n)
M = ot.dist(X, Y)
with np.errstate(all="ignore"):
    ot.sinkhorn(a, a, M, eps, method=method, numItermax=2, stopThr=0, warn=False)  # warm-up
    t = time.perf_counter()
    P = ot.sinkhorn(a, a, M, eps, method=method, numItermax=iters, stopThr=0, warn=False)
    t = time.perf_counter() - t
with np.errstate(all="ignore"):
    err = float(np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - a).sum())
print(json.dumps({"mode": "pot-" + method, "n": n, "eps": eps, "ms_per_iter": 1e3 * t / iters,
                  "finite": bool(np.all(np.isfinite(P))), "plan_mass": float(np.sum(P)),
                  "marginal_error": err}))
