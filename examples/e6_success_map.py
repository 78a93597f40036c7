#!/usr/bin/python3
"""E6 — 1-D success map of conic particle gradient descent ([C19],
mean-field.md §11).

Dirichlet kernel K = 8, m0 = 5 positive spikes with weights U(0, 1) (at least
0.2 rad apart here), λ = 0.3, m ∈ 4..10 particles (uniform grid, positive
r(0) = 0.5), α = 0.002, β/α ∈ {1, 1/2, 1/4, 1/8, 1/16}, 1000 iterations,
10 instances. For each instance the final objective minus the best final
objective over the (m, β/α) grid, averaged over instances and normalised by
its maximum: dark = every run reached the best value found. The spec
expects success once m is a little above m0 and for small enough β/α
(positions move slowly while the masses find the support). [R: instances
drawn here; the grid form of the loss, (1/2N)Σ(f − y)², N = 2K + 1, equals
the Gram form for the Dirichlet kernel.]
"""
import math
import random

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

import measured_client as mfclient

MS = list(range(4, 11))
RATIOS = [1, 1 / 2, 1 / 4, 1 / 8, 1 / 16]
INSTANCES = 10
ALPHA = 0.002


def instance(rng, m0=5, sep=0.2):
    while True:
        th = sorted(rng.uniform(0, 2 * math.pi) for _ in range(m0))
        gaps = [th[k + 1] - th[k] for k in range(m0 - 1)] + [th[0] + 2 * math.pi - th[-1]]
        if min(gaps) >= sep:
            return [[t] for t in th], [rng.uniform(0, 1) for _ in range(m0)]


rng = random.Random(6)
insts = [instance(rng) for _ in range(INSTANCES)]
jobs = []
for pts, w in insts:
    for m in MS:
        for q in RATIOS:
            jobs.append(("deconvolution",
                         {"K": 8, "spike_points": pts, "spike_weights": w, "m": m,
                          "method": "conic", "lambda": 0.3, "alpha": ALPHA, "beta": ALPHA * q,
                          "max_iter": 1000, "tol": 0, "init_positions": "grid", "init_r": 0.5,
                          "init_signs": "positive", "stream_every": 1000,
                          "heavy_every": 1000}))
# Submit in chunks so that the queue stays small.
res = []
for k in range(0, len(jobs), 50):
    res += mfclient.run_jobs(jobs[k:k + 50])

nm, nq = len(MS), len(RATIOS)
excess = [[0.0] * nm for _ in range(nq)]
succ = [[0] * nm for _ in range(nq)]
for s in range(INSTANCES):
    block = res[s * nm * nq:(s + 1) * nm * nq]
    objs = [r["objective"] for r in block]
    best = min(objs)
    for a, m in enumerate(MS):
        for b in range(nq):
            o = objs[a * nq + b]
            excess[b][a] += (o - best) / INSTANCES
            succ[b][a] += o <= best + 1e-3 * abs(best)
top = max(max(row) for row in excess) or 1.0
norm = [[v / top for v in row] for row in excess]

fig, ax = plt.subplots(1, 2, figsize=(12, 4.6))
im = ax[0].imshow(norm, origin="upper", cmap="magma", vmin=0, vmax=1, aspect="auto")
ax[0].set_xticks(range(nm), [str(m) for m in MS])
ax[0].set_yticks(range(nq), ["1", "1/2", "1/4", "1/8", "1/16"])
ax[0].set_xlabel("particles m (m0 = 5)")
ax[0].set_ylabel("β/α")
ax[0].set_title("mean excess final objective / its max")
fig.colorbar(im, ax=ax[0])
im2 = ax[1].imshow(succ, origin="upper", cmap="viridis", vmin=0, vmax=INSTANCES, aspect="auto")
ax[1].set_xticks(range(nm), [str(m) for m in MS])
ax[1].set_yticks(range(nq), ["1", "1/2", "1/4", "1/8", "1/16"])
ax[1].set_xlabel("particles m")
ax[1].set_title(f"instances within 1e-3 of the best (of {INSTANCES})")
for b in range(nq):
    for a in range(nm):
        ax[1].text(a, b, str(succ[b][a]), ha="center", va="center", color="w", fontsize=8)
fig.colorbar(im2, ax=ax[1])
fig.tight_layout()
fig.savefig(mfclient.out_path("e6_success_map.png"), dpi=110)
print("β/α \\ m " + " ".join(f"{m:6d}" for m in MS))
for b, q in enumerate(["1", "1/2", "1/4", "1/8", "1/16"]):
    print(f"{q:>8} " + " ".join(f"{v:6.3f}" for v in norm[b]) + "   successes "
          + " ".join(str(v) for v in succ[b]))
