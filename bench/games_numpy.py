#!/usr/bin/env python3
"""bench/games_numpy.py — conic particle mirror prox (K = 2, true_prox) on
the 1-D random Fourier game dumped by build/bench/games, in NumPy: the same
update as lib/games_cp.c with the same separable evaluation
f(x, y) = Re phi(x)^T C psi(y), phi_k(x) = exp(2 pi i k x). It first checks
that CHECK_ITS iterations from the dumped initial state reproduce the C
state, then prints iterations per second.

Usage: games_numpy.py DUMP_FILE ITERS
"""
import sys
import time

import numpy as np


def load(path):
    with open(path) as f:
        head = f.readline().split()
        m, n, K, L, check = (int(v) for v in head[:5])
        eta_w, eta_pos = float(head[5]), float(head[6])
        F, G = 2 * K + 1, 2 * L + 1
        C = np.array([[float(v) for v in f.readline().split()] for _ in range(F * G)])
        C = (C[:, 0] + 1j * C[:, 1]).reshape(F, G)
        states = {}
        for _ in range(2):
            tag = f.readline().strip()
            rows = np.array([[float(v) for v in f.readline().split()] for _ in range(m + n)])
            states[tag] = (rows[:m, 0], rows[:m, 1], rows[m:, 0], rows[m:, 1])
    return m, n, K, L, check, eta_w, eta_pos, C, states


def make_step(K, L, C, eta_w, eta_pos):
    kx = np.arange(-K, K + 1)
    ly = np.arange(-L, L + 1)

    def fields(x, a, y, b):
        phi = np.exp(2j * np.pi * np.outer(x, kx))  # m×F
        psi = np.exp(2j * np.pi * np.outer(y, ly))  # n×G
        csy = C @ (psi.T @ b)
        ctsx = C.T @ (phi.T @ a)
        U = (phi @ csy).real
        Gx = -2 * np.pi * ((phi * kx) @ csy).imag  # Re(2πi Σ k φ_k (Cs)_k)
        W = (psi @ ctsx).real
        Hy = -2 * np.pi * ((psi * ly) @ ctsx).imag
        return U, Gx, W, Hy

    def entropic(lw, g, sign):
        ext = g.min() if sign < 0 else g.max()
        lw = lw + sign * eta_w * (g - ext)
        mx = lw.max()
        lw = lw - (mx + np.log(np.exp(lw - mx).sum()))
        return lw, np.exp(lw)

    def phi_step(s, g):
        la, a, x, lb, b, y = s
        U, Gx, W, Hy = fields(g[2], g[1], g[5], g[4])
        la2, a2 = entropic(la, U, -1)
        lb2, b2 = entropic(lb, W, +1)
        rho = np.exp(g[0] - la)
        sig = np.exp(g[3] - lb)
        x2 = np.mod(x - eta_pos * rho * Gx, 1.0)
        y2 = np.mod(y + eta_pos * sig * Hy, 1.0)
        x2[x2 >= 1.0] = 0.0
        y2[y2 >= 1.0] = 0.0
        return (la2, a2, x2, lb2, b2, y2)

    def step(s):
        g = s
        for _ in range(2):
            g = phi_step(s, g)
        return g

    return step


def main():
    path, iters = sys.argv[1], int(sys.argv[2])
    m, n, K, L, check, eta_w, eta_pos, C, states = load(path)
    step = make_step(K, L, C, eta_w, eta_pos)
    x, a, y, b = states["initial"]
    s = (np.log(a), a, x, np.log(b), b, y)
    for _ in range(check):
        s = step(s)
    xc, ac, yc, bc = states["after"]
    dx = np.abs((s[2] - xc + 0.5) % 1.0 - 0.5).max()
    dy = np.abs((s[5] - yc + 0.5) % 1.0 - 0.5).max()
    da = max(np.abs(s[1] - ac).max(), np.abs(s[4] - bc).max())
    print(f"check after {check} its: max |dx| {max(dx, dy):.2e}, max |dw| {da:.2e}")
    if max(dx, dy) > 1e-9 or da > 1e-9:
        print("numpy and C disagree: not the same update", file=sys.stderr)
        sys.exit(1)
    t0 = time.perf_counter()
    for _ in range(iters):
        s = step(s)
    dt = time.perf_counter() - t0
    print(f"numpy cp_mirror_prox m={m} n={n} its_per_s={iters / dt:.1f}")


if __name__ == "__main__":
    main()
