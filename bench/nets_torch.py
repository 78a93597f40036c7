#!/usr/bin/python3
"""PyTorch anchors of mean-field.md §12: one full-batch step of
B1 (PGD, two-layer ReLU, square loss), B2 (MFLD lifting: B1 + noise) and
B3 (MFLD bilevel: exact ridge solve by Cholesky, drift, tangent projection,
noise, renormalisation), float64 and float32, sizes S/M/L, at a given number
of threads; B4 (one conic step of 1-D Dirichlet deconvolution, Gram form,
m = 100/1000/4000 for S/M/L). Manual variants under torch.no_grad(), as the
spec says.

Usage: nets_torch.py --threads T [--sizes S,M,L] [--bench B1,B2,B3]
                     [--reps R] [--check DIR]
--check DIR reads the inputs and the one-step outputs dumped by
build/bench/nets_meanfield --dump DIR and checks that the B1 and B3 steps
agree with torch's (oracle 12), in float64 and in float32.
"""
import argparse
import math
import time

import numpy as np
import torch

SIZES = {"S": (1000, 20, 100), "M": (4000, 100, 1000), "L": (20000, 100, 4000),
         "X": (2000, 20, 10000)}  # X: the orientation point
LAM, ETA, TAU = 1e-3, 0.1, 1e-4
B4_M = {"S": 100, "M": 1000, "L": 4000}  # B4: particles; m0 = 5, K = 8
B4_K, B4_LAM, B4_ALPHA, B4_BETA = 8, 1e-2, 1e-3, 1e-4


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


def dirichlet(t, K=B4_K):
    """ψ(t) = sin((K+½)t)/sin(t/2) and ψ'(t), closed form with a small-angle
    guard (ψ(0) = 2K+1, ψ'(0) = 0)."""
    a = K + 0.5
    sh = torch.sin(0.5 * t)
    small = sh.abs() < 1e-6
    shs = torch.where(small, torch.ones_like(sh), sh)
    sa, ca, ch = torch.sin(a * t), torch.cos(a * t), torch.cos(0.5 * t)
    psi = torch.where(small, torch.full_like(t, 2 * K + 1), sa / shs)
    dpsi = torch.where(small, torch.zeros_like(t), (a * ca * shs - 0.5 * sa * ch) / (shs * shs))
    return psi, dpsi


def b4(r, th, sp, sw):
    """One conic step (mean-field.md §3) of 1-D deconvolution in the Gram
    form: g(θ_i) = (1/m) Σ_j c_j ψ(θ_i − θ_j) − Σ_k w*_k ψ(θ_i − θ*_k), c = r|r|,
    ∇g likewise with ψ'; r ← r exp(−2α(s g + λ)), θ ← θ − β s ∇g (mod 2π)."""
    m = r.shape[0]
    c = r * r.abs()
    P, dP = dirichlet(th[:, None] - th[None, :])
    Q, dQ = dirichlet(th[:, None] - sp[None, :])
    g = P @ c / m - Q @ sw
    dg = dP @ c / m - dQ @ sw
    s = torch.sign(r)
    r *= torch.exp(-2 * B4_ALPHA * (s * g + B4_LAM))
    th -= B4_BETA * s * dg
    th.remainder_(2 * math.pi)


def data(n, d, m, dtype, g):
    X = torch.randn(n, d, generator=g, dtype=torch.float64)
    X /= X.norm(dim=1, keepdim=True)
    y = torch.relu(X @ torch.randn(d, generator=g, dtype=torch.float64))
    a = torch.randn(m, generator=g, dtype=torch.float64)
    W = torch.randn(m, d, generator=g, dtype=torch.float64)
    Th = W / W.norm(dim=1, keepdim=True)
    return [t.to(dtype) for t in (X, y, a, W, Th)]


def bench(name, size, dtype, reps):
    if name == "B4":
        m = B4_M[size]
        g = torch.Generator().manual_seed(1)
        r = 0.5 * torch.tensor([1.0 if i % 2 == 0 else -1.0 for i in range(m)], dtype=dtype)
        th = (2 * math.pi * torch.arange(m, dtype=torch.float64) / m).to(dtype)
        sp = (2 * math.pi * torch.rand(5, generator=g, dtype=torch.float64)).to(dtype)
        sw = (torch.rand(5, generator=g, dtype=torch.float64) + 0.5).to(dtype)
        step = lambda: b4(r, th, sp, sw)
    else:
        n, d, m = SIZES[size]
        g = torch.Generator().manual_seed(1)
        X, y, a, W, Th = data(n, d, m, dtype, g)
        r = torch.zeros(m, dtype=dtype)
        step = {"B1": lambda: b1(X, y, a, W),
                "B2": lambda: b1(X, y, a, W, noise=True),
                "B3": lambda: b3(X, y, r, Th)}[name]
    # 20 warm-up steps (spec §12): the first steps also pay for the
    # allocator's page faults until glibc raises its mmap threshold.
    warm = 20 if size in ("S", "M") else 2
    ts = []
    with torch.no_grad():
        for k in range(warm + reps):
            t0 = time.perf_counter()
            step()
            if k >= warm:
                ts.append(time.perf_counter() - t0)
    ts.sort()
    med, p90 = ts[len(ts) // 2], ts[(len(ts) * 9) // 10]
    prec = "f64" if dtype == torch.float64 else "f32"
    line = (f"torch {name} {size} threads={torch.get_num_threads()} {prec}: median "
            f"{1e3 * med:.3f} ms  p90 {1e3 * p90:.3f} ms  best {1e3 * ts[0]:.3f} ms")
    if name != "B4":
        flops = 4 * n * m * d + (n * m * m + m ** 3 / 3 if name == "B3" else 0)
        line += f"  {flops / med * 1e-9:.1f} GFLOP/s"
    print(line, flush=True)


def check(dirname):
    """Oracle 12: one B1 step and one noise-free B3 step equal the C
    library's on the same inputs: float64 to round-off, and the C float32
    path against torch float32 to float32 round-off (errors measured
    against the size of the step, max |u1 - u0|)."""
    rd = lambda k: torch.from_numpy(np.fromfile(f"{dirname}/{k}.bin", dtype=np.float64))
    n, d, m = SIZES["S"]
    ok = True
    for prec, sfx, dtype in (("float64", "", torch.float64), ("float32", "_f32", torch.float32)):
        X, y = rd("x").reshape(n, d).to(dtype), rd("y").to(dtype)
        a0, W0 = rd("a0" + sfx), rd("w0" + sfx).reshape(m, d)
        a1, W1 = rd("a1" + sfx), rd("w1" + sfx).reshape(m, d)
        a, W = a0.to(dtype).clone(), W0.to(dtype).clone()
        with torch.no_grad():
            b1(X, y, a, W)
        a, W = a.double(), W.double()
        ea = ((a - a1).abs().max() / (a1 - a0).abs().max()).item()
        ew = ((W - W1).abs().max() / (W1 - W0).abs().max()).item()
        tol = 1e-10 if dtype == torch.float64 else 1e-4
        good = ea < tol and ew < tol
        print(f"check B1 step vs torch {prec}: err / step a {ea:.2e}, W {ew:.2e} -> "
              f"{'OK' if good else 'FAIL'}")
        # B3 without noise: the inner solve at θ0 and θ after one step.
        Th0, r0, Th1 = rd("th0" + sfx).reshape(m, d), rd("r0" + sfx), rd("th1" + sfx).reshape(m, d)
        Th, r = Th0.to(dtype).clone(), torch.zeros(m, dtype=dtype)
        with torch.no_grad():
            b3(X, y, r, Th, tau=0.0)
        r, Th = r.double(), Th.double()
        er = ((r - r0).abs().max() / r0.abs().max()).item()
        et = ((Th - Th1).abs().max() / (Th1 - Th0).abs().max()).item()
        tol3 = 1e-9 if dtype == torch.float64 else 1e-3
        good3 = er < tol3 and et < tol3
        print(f"check B3 step (tau = 0) vs torch {prec}: rel err r {er:.2e}, theta err / step "
              f"{et:.2e} -> {'OK' if good3 else 'FAIL'}")
        ok = ok and good and good3
    # B4: one conic step of the deconvolution kind (grid form) against the
    # Gram form here, float64, m = 100.
    r0, th0, r1, th1 = rd("b4_r0"), rd("b4_th0"), rd("b4_r1"), rd("b4_th1")
    sp, sw = rd("b4_sp"), rd("b4_sw")
    r, th = r0.clone(), th0.clone()
    with torch.no_grad():
        b4(r, th, sp, sw)
    er = ((r - r1).abs().max() / (r1 - r0).abs().max()).item()
    dth = lambda u, v: torch.remainder(u - v + math.pi, 2 * math.pi) - math.pi
    et = (dth(th, th1).abs().max() / dth(th1, th0).abs().max()).item()
    good4 = er < 1e-9 and et < 1e-9
    print(f"check B4 conic step, grid form vs Gram form, float64: err / step r {er:.2e}, "
          f"theta {et:.2e} -> {'OK' if good4 else 'FAIL'}")
    return ok and good4


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
            if name == "B4" and size not in B4_M:
                continue
            reps = min(args.reps, 10) if size == "L" else args.reps
            for dtype in (torch.float64, torch.float32):
                bench(name, size, dtype, reps)


if __name__ == "__main__":
    main()
