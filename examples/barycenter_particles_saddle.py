#!/usr/bin/python3
"""barycenter_particles_saddle.py — E4 of optimal-transport.md §7 (Fig. 3 of
Chizat 2023): noisy particle gradient descent in 2-D. ν1 = ½δ(-3,0) +
½δ(-1,1), ν2 = ½δ(3,0) + ½δ(1,1), w = ½; 200 particles start half at (0,0),
half at (0,1), the midpoints of the wrong matching (a saddle of the
unregularised problem); λ = 0.2, τ = 0.1 (job units), step 0.5. Expected:
the particles leave the saddle and form two clouds around (-1, 0.5) and
(1, 0.5), the support of the W2 barycenter. Snapshots come from runs of
1, 10, 40 and 400 steps with one seed (a run is a prefix of a longer one).
Writes examples/out/barycenter_particles_saddle.png."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from measured_client import out_path, solve

N = 200
init = [[0.0, 0.0]] * (N // 2) + [[0.0, 1.0]] * (N // 2)
params = {"measures": [{"points": [[-3, 0], [-1, 1]]}, {"points": [[3, 0], [1, 1]]}],
          "lambda": 0.2, "tau": 0.1, "support": {"particles": N, "init": init},
          "method": "npgd", "step": 0.5, "tol": 0, "seed": 1, "inner_max_iter": 50}
fig, axes = plt.subplots(1, 4, figsize=(14, 3.6), sharex=True, sharey=True)
for ax, steps in zip(axes, [1, 10, 40, 400]):
    r = solve("barycenter", dict(params, max_iter=steps))
    pts = r["support"]["points"]
    near = sum(abs(abs(x) - 1) < 0.5 and abs(y - 0.5) < 0.5 for x, y in pts)
    print(f"{steps} steps: {near} of {N} particles near (±1, 0.5), objective {r['objective']:.4f}")
    ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=6, alpha=0.6, label="particles")
    ax.scatter([-3, -1], [0, 1], marker="s", c="C1", label="ν1")
    ax.scatter([3, 1], [0, 1], marker="^", c="C2", label="ν2")
    ax.scatter([-1, 1], [0.5, 0.5], marker="x", c="k", s=60, label="W2 barycenter")
    ax.set_title(f"after {steps} steps")
axes[0].legend(fontsize=7, loc="lower left")
fig.tight_layout()
fig.savefig(out_path("barycenter_particles_saddle.png"), dpi=110)
print("wrote", out_path("barycenter_particles_saddle.png"))
