#!/usr/bin/python3
"""barycenter_debiasing_map.py — E1 of optimal-transport.md §7 (Fig. 1 of
Chizat 2023): for ν = N(0, a), a = 1, the (λ,τ) barycenter is N(0, s) with
s = ½[a + τ - λ/2 + √((a - λ/2)² + 2aτ)] (job units, cost |x-y|²). The map
colours |√s - √a| (the W2 distance to the true barycenter ν) over λ ∈ [0, 6],
τ ∈ [0, 2.2] (the paper's axes ×2), with the line τ = λ/2 and the optimal
debiasing curve τ*(λ) = λ/2 + 2a - √(4a² + λ²/4) (where s = a exactly).
Points: solver runs through the HTTP API (Algorithm A on a 1-D grid),
placed at their (λ, τ) and coloured with the measured |√s - √a|.
Writes examples/out/barycenter_debiasing_map.png."""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from barycenter_common import gaussian, grid, grid_barycenter, moments
from measured_client import out_path

A = 1.0


def s_closed(lam, tau):
    return 0.5 * (A + tau - lam / 2 + math.sqrt((A - lam / 2) ** 2 + 2 * A * tau))


lams = [6.0 * i / 299 for i in range(300)]
taus = [2.2 * j / 219 for j in range(220)]
Z = [[abs(math.sqrt(s_closed(l, t)) - math.sqrt(A)) for l in lams] for t in taus]

xs = grid(321, -8, 8)
nu = gaussian(xs, 0, A)
points = []
for lam, tau in [(0.5, 0.25), (1, 0.5), (2, 1), (2, 0.6), (4, 1.0), (4, 2), (1, 0.05), (3, 0.2)]:
    w, r = grid_barycenter(321, -8, 8, [nu], lam, tau)
    _, var = moments(xs, w)
    err = abs(math.sqrt(var) - math.sqrt(A))
    print(f"lambda {lam:4} tau {tau:4}: s = {var:.6f} (closed form {s_closed(lam, tau):.6f}), "
          f"|sqrt s - sqrt a| = {err:.4f}, {r['iterations']} iterations")
    points.append((lam, tau, err))

fig, ax = plt.subplots(figsize=(7.5, 5))
im = ax.pcolormesh(lams, taus, Z, shading="auto", cmap="magma", vmin=0, vmax=0.6)
fig.colorbar(im, label="|√s − √a| (W2 to the true barycenter)")
ax.plot(lams, [l / 2 for l in lams if l / 2 <= 2.2] + [None] * sum(l / 2 > 2.2 for l in lams),
        "w--", label="τ = λ/2")
ax.plot(lams, [l / 2 + 2 * A - math.sqrt(4 * A * A + l * l / 4) for l in lams], "c-",
        label="τ*(λ): s = a exactly")
ax.scatter([p[0] for p in points], [p[1] for p in points], c=[p[2] for p in points],
           cmap="magma", vmin=0, vmax=0.6, edgecolors="lime", s=60, label="solver (API)")
ax.set_xlim(0, 6)
ax.set_ylim(0, 2.2)
ax.set_xlabel("λ (job units)")
ax.set_ylabel("τ (job units)")
ax.set_title("(λ,τ) barycenter of N(0,1): bias map")
ax.legend(loc="upper left")
fig.tight_layout()
fig.savefig(out_path("barycenter_debiasing_map.png"), dpi=110)
print("wrote", out_path("barycenter_debiasing_map.png"))
