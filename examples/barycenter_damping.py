#!/usr/bin/python3
"""barycenter_damping.py — E5 of optimal-transport.md §7 (the damping
figures of Chizat & Vaškevičius 2023), on a grid through the HTTP API
rather than the exact Gaussian recursion: ν = N(0, 1) on 161 points of
[-8, 8], λ = 0.2, and τ = λ, λ/2, λ/4, each with η = 1 and with the default
η = min(1, τ/λ). The curves are the marginal error after t iterations (one
job per t; runs are deterministic, so they are prefixes of one run).
Expected [D✓ in the spec]: undamped runs stall or oscillate for τ < λ/2 and
crawl at τ = λ/2, damped ones converge linearly at a rate ∝ η.
Writes examples/out/barycenter_damping.png."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from barycenter_common import gaussian, grid, grid_barycenter
from measured_client import out_path

xs = grid(161, -8, 8)
nu = gaussian(xs, 0, 1)
lam = 0.2
ts = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
fig, ax = plt.subplots(figsize=(7.5, 4.8))
for tau, name, col in [(lam, "τ = λ", "C0"), (lam / 2, "τ = λ/2", "C1"), (lam / 4, "τ = λ/4", "C2")]:
    for eta, style in [(1.0, "--"), (min(1.0, tau / lam), "-")]:
        errs = []
        for t in ts:
            _, r = grid_barycenter(161, -8, 8, [nu], lam, tau, eta=eta, max_iter=t, tol=0,
                                   lambda_scaling=False)
            errs.append(max(r["marginal_error"], 1e-17))
        print(f"{name}, eta {eta:.2f}: marginal error {errs[-1]:.3g} after {ts[-1]} iterations")
        ax.loglog(ts, errs, style, color=col, label=f"{name}, η = {eta:g}")
ax.set_xlabel("iterations")
ax.set_ylabel("marginal error Σ_k w_k |ν_k^t − ν_k|₁")
ax.set_title("damped Sinkhorn: η = 1 (dashed) vs η = min(1, τ/λ) (solid)")
ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig(out_path("barycenter_damping.png"), dpi=110)
print("wrote", out_path("barycenter_damping.png"))
