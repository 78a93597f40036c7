#!/usr/bin/python3
"""E5 — conic particle descent in 2-D: convergence rates ([C19], mean-field.md
§11).

T², tensor Dirichlet K = 2, θ* = π + {(0,0), (1.7,−0.3), (0.7,1.3)}, weights
r*|r*| with r* = (1.1, 0.8, 1.0), α = β = 0.01, 3000 iterations; m = 100
(10×10 grid, r = 0.5) versus m = 4 and m = 3 (random positions; the
authors' fixed inits are not reproduced), λ ∈ {0, 1, 4} [R: the loss here is
the grid-form one, (1/2N²)Σ(f − y)², so λ is not on the paper's scale; the
shapes, not the values, are compared]. Plots the normalised gap
(F_k − F_end)/(F_30 − F_end) and the cone distance W_cone to the final state.
"""
import math

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

import measured_client as mfclient

TH = [(0, 0), (1.7, -0.3), (0.7, 1.3)]
RS = [1.1, 0.8, 1.0]
spikes = {"spike_points": [[math.pi + a, math.pi + b] for a, b in TH],
          "spike_weights": [r * abs(r) for r in RS]}
base = dict(spikes, dim=2, K=2, method="conic", alpha=0.01, beta=0.01, max_iter=3000, tol=0,
            stream_every=1, heavy_every=1000, trajectory_every=10, init_signs="positive",
            init_r=0.5, seed=3)
LAMS = [0.0, 0.01, 0.04]
MS = [(100, "grid"), (4, "random"), (3, "random")]
jobs = [("deconvolution", dict(base, m=m, init_positions=ip, **{"lambda": lam}))
        for lam in LAMS for m, ip in MS]
res = mfclient.run_jobs(jobs)


def wcone(r1, t1, r2, t2, m):
    s = 0.0
    for i in range(m):
        d = math.sqrt(sum(min(abs(t1[2 * i + k] - t2[2 * i + k]) % (2 * math.pi),
                              2 * math.pi - abs(t1[2 * i + k] - t2[2 * i + k]) % (2 * math.pi)) ** 2
                          for k in range(2)))
        s += r1[i] ** 2 + r2[i] ** 2 - 2 * r1[i] * r2[i] * math.cos(min(d, math.pi))
    return math.sqrt(max(s, 0) / m)


fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
styles = ["-", "--", ":"]
colors = ["tab:blue", "tab:orange", "tab:green"]
for j, lam in enumerate(LAMS):
    for k, (m, ip) in enumerate(MS):
        r = res[j * len(MS) + k]
        h = r["history"]
        F = h["objective"]
        Fend = F[-1]
        it = h["iteration"]
        gap = [(f - Fend) / (F[29] - Fend) if F[29] != Fend else float("nan") for f in F]
        ax[0].semilogy(it[:-1], [max(g, 1e-16) for g in gap[:-1]], styles[k], color=colors[j],
                       label=f"λ={lam}, m={m}")
        tr = r["trajectory"]
        rr, tt = tr["r"], tr["theta"]
        w = [wcone(rr[q], tt[q], rr[-1], tt[-1], m) for q in range(len(rr) - 1)]
        ax[1].semilogy(tr["iteration"][:-1], [max(x, 1e-16) for x in w], styles[k],
                       color=colors[j], label=f"λ={lam}, m={m}")
ax[0].set_xlabel("iteration k")
ax[0].set_ylabel("(F_k − F_end)/(F_30 − F_end)")
ax[1].set_xlabel("iteration k")
ax[1].set_ylabel("W_cone(μ_k, μ_end)")
ax[0].legend(fontsize=7)
ax[0].set_title("normalised optimality gap")
ax[1].set_title("cone distance to the final state")
fig.tight_layout()
fig.savefig(mfclient.out_path("e5_conic_rates.png"), dpi=110)
for j, lam in enumerate(LAMS):
    for k, (m, ip) in enumerate(MS):
        r = res[j * len(MS) + k]
        print(f"λ={lam} m={m}: F_end {r['objective']:.6g}, pos err {r['spike_pos_err']:.3g}")
