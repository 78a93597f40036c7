#!/usr/bin/python3
"""games_max_margin.py — games.md §9.6–9.7 ([P1] §6.8): the max-margin
two-layer network as a game. The min player weighs the samples, the max
player's 2m neurons (m per output sign) move on the sphere and carry
weights; at equilibrium the network h(x) = Σ_j s_j w_j relu(θ_j·(x,1))³
attains the max margin at unit variation norm. The distributionally robust
variant lets an adversary shift each sample within a ball of radius r, which
lowers the margin. Plots the decision function, the neurons (w_j θ_j), and
the gap history. Writes examples/out/games_max_margin.png. Runs through the
HTTP API."""
import math
import random

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from measured_client import out_path, solve

rng = random.Random(5)
data = [[rng.gauss(0, 1), rng.gauss(0, 1)] for _ in range(5)]
labels = [1, -1, -1, 1, -1]
base = {"particles_y": 100, "eta_w": 0.4, "eta_pos": 0.04, "max_iter": 1000, "seed": 3,
        "ni_every": 20, "ni_grid_max": 20000, "tol": 1e-10}
mm = solve("nash", dict(base, game={"family": "max_margin_2nn", "data": data, "labels": labels,
                                    "activation": "relu", "power": 3}))
print(f"max margin {mm['value']:.6f}, gap {mm['nash_gap']:.3g}")
dro = solve("nash", dict(base, eta_pos_x=8e-3,
                         game={"family": "dro_2nn", "data": data, "labels": labels,
                               "activation": "relu", "power": 3, "radius": 0.2,
                               "adversaries": 10}))
print(f"robust margin (r = 0.2) {dro['value']:.6f}, gap {dro['nash_gap']:.3g} "
      f"(lower bound: {dro['nash_gap_is_lower_bound']})")


def network(r):
    ys, ws = r["y"]["points"], r["y"]["weights"]

    def h(x1, x2):
        s = 0.0
        for (t1, t2, t3, sign), w in zip(ys, ws):
            z = t1 * x1 + t2 * x2 + t3
            s += sign * w * (z ** 3 if z > 0 else 0.0)
        return s
    return h


fig, axes = plt.subplots(1, 3, figsize=(16, 4.8))
for ax, r, title in ((axes[0], mm, "max margin"), (axes[1], dro, "robust, r = 0.2")):
    h = network(r)
    n = 120
    xs = [-3 + 6 * i / (n - 1) for i in range(n)]
    Z = [[h(x, y) for x in xs] for y in xs]
    lim = max(abs(v) for row in Z for v in row)
    ax.contourf(xs, xs, Z, levels=30, cmap="RdBu", vmin=-lim, vmax=lim)
    ax.contour(xs, xs, Z, levels=[0], colors="k")
    for (x1, x2), lab in zip(data, labels):
        ax.plot(x1, x2, "o" if lab > 0 else "s", color="navy" if lab > 0 else "darkred",
                markersize=9, markeredgecolor="w")
    for (t1, t2, t3, sign), w in zip(r["y"]["points"], r["y"]["weights"]):
        if w > 1e-3:
            ax.arrow(0, 0, 3 * w * t1, 3 * w * t2, color="navy" if sign > 0 else "darkred",
                     width=0.01, alpha=0.7)
    if r is dro:
        for (k, u1, u2), w in zip(r["x"]["points"], r["x"]["weights"]):
            if w > 1e-3:
                x1, x2 = data[int(k)]
                ax.plot(x1 + u1, x2 + u2, ".", color="k", markersize=4)
    ax.set_title(f"{title}: margin {r['value']:.4f}, gap {r['nash_gap']:.1e}")
    ax.set_xlim(-3, 3)
    ax.set_ylim(-3, 3)
for r, name in ((mm, "max margin"), (dro, "robust r = 0.2")):
    h = r["gap_history"]
    axes[2].semilogy(h["iterations"], [max(g, 1e-16) for g in h["nash_gap"]], label=name)
axes[2].set_xlabel("iteration")
axes[2].set_ylabel("Nash gap")
axes[2].set_title("conic particle mirror prox")
axes[2].legend()
fig.tight_layout()
fig.savefig(out_path("games_max_margin.png"), dpi=110)
print("wrote", out_path("games_max_margin.png"))
