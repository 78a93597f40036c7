#!/usr/bin/python3
"""games_cpmp_vs_fixed.py — games.md §9.2 and [P1]'s main figure: on a 1-D
random Fourier game (order 3), conic particle mirror prox (15 + 15 atoms that
move) reaches the exact mixed Nash equilibrium at an exponential rate, while
mirror prox on fixed grids (15 or 100 atoms per player) is slow (rate ∝ eta²)
and cannot go below the grid's discretisation floor (drawn from the exact
optimum on 100- and 400-point grids). Writes examples/out/games_cpmp_vs_fixed.png.

Runs through the HTTP API (MEASURED_URL). Debian's python3 with
python3-matplotlib (deploy/install-deps.sh --examples)."""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from measured_client import out_path, solve

T = 1500
torus = {"type": "torus", "dim": 1}
game = {"family": "random_fourier", "order_x": 3, "order_y": 3, "coef_std": 1.0, "seed": 1,
        "x_space": torus, "y_space": torus}
common = {"game": game, "max_iter": T, "ni_every": 10, "ni_grid_step": 1e-4, "tol": 0,
          "eta_w": 0.04}

runs = {
    "conic particle MP, 15+15 atoms": dict(common, method="cp_mirror_prox", particles_x=15,
                                           particles_y=15, eta_pos=5e-4),
    "fixed grid MP, 15+15 atoms": dict(common, method="fixed_support", particles_x=15,
                                       particles_y=15),
    "fixed grid MP, 100+100 atoms": dict(common, method="fixed_support", particles_x=100,
                                         particles_y=100),
}
floors = {}
for N in (100, 400):
    r = solve("nash", dict(common, method="fixed_support", fixed_solver="lp", particles_x=N,
                           particles_y=N))
    floors[N] = r["nash_gap"]
    print(f"exact optimum on the {N}-point grid: Nash gap {r['nash_gap']:.3g}")
results = {}
for name, params in runs.items():
    r = solve("nash", params, label=name)
    results[name] = r
    print(f"{name}: value {r['value']:.9f}, Nash gap {r['nash_gap']:.3g} "
          f"(lower bound: {r['nash_gap_is_lower_bound']}), iterations {r['iterations']}")

fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.5))
for name, r in results.items():
    h = r["gap_history"]
    ax.semilogy(h["iterations"], [max(g, 1e-16) for g in h["nash_gap"]], label=name)
for N, style in ((100, ":"), (400, "-.")):
    ax.axhline(floors[N], color="gray", linestyle=style,
               label=f"exact optimum on a {N}-point grid (its floor)")
ax.set_xlabel("iteration")
ax.set_ylabel("Nikaido-Isoda gap (best responses on a 1e-4 grid)")
ax.set_title("random Fourier game, order 3")
ax.legend()
cp = results["conic particle MP, 15+15 atoms"]
fx = results["fixed grid MP, 100+100 atoms"]
for r, style, lab in ((fx, "C2", "fixed grid (100)"), (cp, "C0", "conic particles")):
    xs = [p[0] for p in r["x"]["points"]]
    bx.vlines(xs, 0, r["x"]["weights"], colors=style, label=f"x: {lab}",
              linewidth=3 if style == "C0" else 1)
    ys = [p[0] for p in r["y"]["points"]]
    bx.vlines(ys, 0, [-w for w in r["y"]["weights"]], colors=style, linestyles="dotted",
              linewidth=3 if style == "C0" else 1)
bx.axhline(0, color="k", linewidth=0.5)
bx.set_xlabel("position on the torus")
bx.set_ylabel("weight (x up, y down)")
bx.set_title(f"equilibrium: {len(cp['x_aggregated']['weights'])} + "
             f"{len(cp['y_aggregated']['weights'])} atoms after aggregation")
bx.legend()
fig.tight_layout()
fig.savefig(out_path("games_cpmp_vs_fixed.png"), dpi=110)
print("wrote", out_path("games_cpmp_vs_fixed.png"))
