#!/usr/bin/python3
"""PyTorch anchors of mean-field.md §12: one full-batch step of
B1 (PGD, two-layer ReLU, square loss), B2 (MFLD lifting: B1 + noise) and
B3 (MFLD bilevel: exact ridge solve by Cholesky, drift, tangent projection,
noise, renormalisation), float64 and float32, sizes S/M/L, at a given number
of threads. Manual variants under torch.no_grad(), as the spec says.

Usage: nets_torch.py --threads T [--sizes S,M,L] [--bench B1,B2,B3]
                     [--reps R] [--check DIR]
--check DIR reads the inputs and the one-step output dumped by
build/bench/nets_meanfield --dump DIR and checks that the B1 step agrees
to 1e-12 relative (oracle 12).
"""
import argparse
import math
import time

import numpy as np
import torch

SIZES = {"S": (1000, 20, 100), "M": (4000, 100, 1000), "L": (20000, 100, 4000),
         "X": (2000, 20, 10000)}  # X: the orientation point
LAM, ETA, TAU = 1e-3, 0.1, 1e-4


def b1(X, y, a, W, noise=False):
    n, m = X.shape[0], a.shape[0]
    P = X @ W.T
    H = torch.relu(P)
    f = H @ a / m
    e = (f - y) / n
    ga = H.T @ e + LAM * a
    gW = ((P > 0) * e[:, None] * a[None, :]).T @ X + LAM * W
    a -= ETA * ga
    W -= ETA * gW
    if noise:
        s = math.sqrt(2 * ETA * TAU)
        a += s * torch.randn_like(a)
        W += s * torch.randn_like(W)


def b3(X, y, r, Th, tau=TAU):
    n, m = X.shape[0], Th.shape[0]
    P = X @ Th.T
    Phi = torch.relu(P)
    A = Phi.T @ Phi / (n * m) + LAM * torch.eye(m, dtype=X.dtype)
    L = torch.linalg.cholesky(A)
    r[:] = torch.cholesky_solve((Phi.T @ y / n)[:, None], L)[:, 0]
    f = Phi @ r / m
    e = (f - y) / n
    v = -r[:, None] * (((P > 0) * e[:, None]).T @ X)
    v -= (v * Th).sum(1, keepdim=True) * Th
    xi = torch.randn_like(Th)
    xi -= (xi * Th).sum(1, keepdim=True) * Th
    Th += ETA * v + math.sqrt(2 * ETA * tau) * xi
    Th /= Th.norm(dim=1, keepdim=True)


def data(n, d, m, dtype, g):
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    X /= X.norm(dim=1, keepdim=True)
    y = torch.relu(X @ torch.randn(d, generator=g, dtype=torch.float64))
    a = torch.randn(m, generator=g, dtype=torch.float64)
    W = torch.randn(m, d, generator=g, dtype=torch.float64)
    Th = W / W.norm(dim=1, keepdim=True)
    return [t.to(dtype) for t in (X, y, a, W, Th)]


def bench(name, size, dtype, reps):
    n, d, m = SIZES[size]
    g = torch.Generator().manual_seed(1)
    X, y, a, W, Th = data(n, d, m, dtype, g)
    r = torch.zeros(m, dtype=dtype)
    step = {"B1": lambda: b1(X, y, a, W),
            "B2": lambda: b1(X, y, a, W, noise=True),
            "B3": lambda: b3(X, y, r, Th)}[name]
    warm = max(2, min(20, reps // 10))
    ts = []
    with torch.no_grad():
        for k in range(warm + reps):
            t0 = time.perf_counter()
            step()
            if k >= warm:
                ts.append(time.perf_counter() - t0)
    ts.sort()
    med, p90 = ts[len(ts) // 2], ts[(len(ts) * 9) // 10]
    flops = 4 * n * m * d + (n * m * m + m ** 3 / 3 if name == "B3" else 0)
    prec = "f64" if dtype == torch.float64 else "f32"
    print(f"torch {name} {size} threads={torch.get_num_threads()} {prec}: median "
          f"{1e3 * med:.3f} ms  p90 {1e3 * p90:.3f} ms  best {1e3 * ts[0]:.3f} ms  "
          f"{flops / med * 1e-9:.1f} GFLOP/s",
          flush=True)


def check(dirname):
    """Oracle 12: one B1 step equals the C library's on the same inputs."""
    rd = lambda k: torch.from_numpy(np.fromfile(f"{dirname}/{k}.bin", dtype=np.float64))
    n, d, m = SIZES["S"]
    X, y, a, W = rd("x").reshape(n, d), rd("y"), rd("a0"), rd("w0").reshape(m, d)
    a1, W1 = rd("a1"), rd("w1").reshape(m, d)
    with torch.no_grad():
        b1(X, y, a, W)
    ea = ((a - a1).abs().max() / a1.abs().max()).item()
    ew = ((W - W1).abs().max() / W1.abs().max()).item()
    ok = ea < 1e-12 and ew < 1e-12
    print(f"check B1 step vs torch float64: rel err a {ea:.2e}, W {ew:.2e} -> "
          f"{'OK' if ok else 'FAIL'}")
    # B3 without noise: the inner solve at θ0 and θ after one step.
    Th, r0, Th1 = rd("th0").reshape(m, d), rd("r0"), rd("th1").reshape(m, d)
    r = torch.zeros(m, dtype=torch.float64)
    with torch.no_grad():
        b3(X, y, r, Th, tau=0.0)
    er = ((r - r0).abs().max() / r0.abs().max()).item()
    et = ((Th - Th1).abs().max()).item()
    ok3 = er < 1e-10 and et < 1e-12
    print(f"check B3 step (tau = 0) vs torch float64: rel err r {er:.2e}, abs err theta "
          f"{et:.2e} -> {'OK' if ok3 else 'FAIL'}")
    return ok and ok3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sizes", default="S,M,L")
    ap.add_argument("--bench", default="B1,B2,B3")
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--check")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.check:
        raise SystemExit(0 if check(args.check) else 1)
    for name in args.bench.split(","):
        for size in args.sizes.split(","):
            reps = min(args.reps, 10) if size == "L" else args.reps
            for dtype in (torch.float64, torch.float32):
                bench(name, size, dtype, reps)


if __name__ == "__main__":
    main()
