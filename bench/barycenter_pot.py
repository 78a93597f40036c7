#!/usr/bin/python3
"""POT side of bench/barycenter.sh (Debian's python3-pot; run with
/usr/bin/python3). The data are those of bench/barycenter.c.

    barycenter_pot.py 1d N LAMBDA ITERS METHOD [OUT]
    barycenter_pot.py 2d N LAMBDA ITERS METHOD [OUT]
    barycenter_pot.py compare A.txt B.txt

1d: ot.bregman.barycenter(A, ot.dist(X, X), reg=LAMBDA, weights, method);
2d: ot.bregman.convolutional_barycenter2d(A, reg=LAMBDA, weights, method);
METHOD is sinkhorn (kernel domain) or sinkhorn_log. ITERS > 0: exactly
ITERS iterations (stopThr = 0), printing the time per iteration; ITERS = 0:
to stopThr 1e-12 or 3000 iterations. compare prints the L1 distance of two weight files and
the mass and finiteness of the first.
"""
import sys
import time
import warnings

import numpy as np
import ot

W = np.array([0.2, 0.3, 0.5])


def data(two, n):
    x = np.linspace(0, 1, n)
    if two:
        cx, cy, s = [0.3, 0.7, 0.5], [0.3, 0.4, 0.7], [0.08, 0.1, 0.06]
        X, Y = np.meshgrid(x, x, indexing="ij")
        A = np.stack([np.exp(-((X - cx[k]) ** 2 + (Y - cy[k]) ** 2) / (2 * s[k] ** 2))
                      for k in range(3)])
        return A / A.sum(axis=(1, 2), keepdims=True)
    m, s = [0.25, 0.5, 0.75], [0.05, 0.08, 0.06]
    A = np.stack([np.exp(-(x - m[k]) ** 2 / (2 * s[k] ** 2)) for k in range(3)], axis=1)
    return A / A.sum(axis=0, keepdims=True)


def main():
    if sys.argv[1] == "compare":
        a = np.loadtxt(sys.argv[2])
        b = np.loadtxt(sys.argv[3])
        print("l1=%.3g mass=%.15f finite=%d" % (np.abs(a - b).sum(), a.sum(),
                                                 int(np.all(np.isfinite(a)))))
        return
    two = sys.argv[1] == "2d"
    n, lam, iters, method = int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    A = data(two, n)
    kw = dict(reg=lam, weights=W, method=method, numItermax=iters if iters > 0 else 3000,
              stopThr=0.0 if iters > 0 else 1e-12, warn=False)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        if two:
            bar = ot.bregman.convolutional_barycenter2d(A, **kw).reshape(-1)
        else:
            M = ot.dist(np.linspace(0, 1, n)[:, None], np.linspace(0, 1, n)[:, None])
            t0 = time.perf_counter()
            bar = ot.bregman.barycenter(A, M, **kw)
        dt = time.perf_counter() - t0
    print("ms_per_iter=%.3f total_s=%.3f mass=%.15f finite=%d" % (
        1e3 * dt / max(iters, 1), dt, np.nansum(bar), int(np.all(np.isfinite(bar)))))
    if len(sys.argv) > 6:
        np.savetxt(sys.argv[6], bar, fmt="%.17g")


main()
