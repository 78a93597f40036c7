#!/usr/bin/python3
"""E9 — the scaling path of a two-layer ReLU network ([NCU23], mean-field.md
§6, §11): 1-D regression (T4, n = 8 random targets, bias on), m = 2000
particles, init scale α on a log grid 1e-2..1e2 (9 values), and the two
computations of §6 side by side on the same ū (same seed):
  (A) `method: path`, gradient descent without penalty from α ū to a train
      loss 1e-8 (or 2·10^4 steps, η = 0.5·min(1, α^-2));
  (B) `method: penalized`, for each α the particles minimising
      (1/m) Σ|u_i − α ū_i|² + L(f_u)/ρ, continuation ρ = 1e-2 → 1e-6 (×0.1),
      each stage by L-BFGS to a relative gradient 1e-5 (2·10^4 iterations
      per α at most).
Panels: both predictors per α with the data and the tangent-kernel
interpolant (the α → ∞ limit); the relative displacement and the transport
cost (1/m)Σ|u_i − α ū_i|² (A: α² disp², since |ū_i| = 1; B: its penalty,
an upper bound of W_2² to μ_0^α) against α. Printed: per α the train losses,
whether (B)'s stages met the tolerance, and the sup-norm distance between
the (A) and (B) predictors on the data range [-1, 1] and on the whole grid.
No deviation from the spec's set-up (m = 2000); the two jobs run in
parallel, ~4 minutes on the shared 2-core machine (longer than the ~3
wished for: (B) spends its whole budget). Known limit: at m = 2000 (B)'s
stages do not reach the tolerance within 2·10^4 iterations at any α (L-BFGS
slows down with many particles pinned on ReLU kinks, and the curvature
grows like α²/ρ), so its states are approximate minimisers; see
examples/README.md for what the figure shows.
"""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import measured_client as mfclient

common = {"n": 8, "m": 2000, "max_iter": 20000, "seed": 2, "smooth_target": False,
          "grid": 301}
ra, rb = mfclient.run_jobs([("scaling_path", dict(common, step=0.5)),
                            ("scaling_path", dict(common, method="penalized"))])
x = [p[0] for p in ra["x_eval"]]
xt = [p[0] for p in ra["x_train"]]
alphas = ra["alphas"]
fig, axes = plt.subplots(3, 4, figsize=(16, 10))
panels = [ax for row in axes for ax in row[:3]]
sups = []
for k, al in enumerate(alphas):
    ax = panels[k]
    fa, fb = ra["f"][k], rb["f"][k]
    ax.plot(x, ra["f_kernel"], "k:", lw=1, label="kernel interpolant")
    ax.plot(x, fa, "C0-", lw=1.5, label="(A) GD path")
    ax.plot(x, fb, "C3--", lw=1.5, label="(B) penalized")
    ax.plot(xt, ra["y_train"], "ko", ms=4)
    ax.set_ylim(-2, 2)
    inside = [abs(fa[j] - fb[j]) for j in range(len(x)) if abs(x[j]) <= 1]
    sups.append((max(inside), max(abs(a - b) for a, b in zip(fa, fb))))
    ax.set_title(f"α = {al:.3g}: sup|fA − fB| on [-1,1] = {sups[-1][0]:.2g}", fontsize=9)
    if k == 0:
        ax.legend(fontsize=7)
ax = axes[0][3]
ax.loglog(alphas, ra["rel_displacement"], "o-", label="(A) |u − u0|/|u0|")
ax.loglog(alphas, rb["rel_displacement"], "s--", label="(B) |u − u0|/|u0|")
ax.loglog(alphas, ra["kernel_drift"], "o:", label="(A) kernel drift")
ax.set_xlabel("init scale α")
ax.legend(fontsize=7)
ax.set_title("rich (small α) to lazy (large α)", fontsize=9)
ax = axes[1][3]
cost_a = [al * al * d * d for al, d in zip(alphas, ra["rel_displacement"])]
ax.loglog(alphas, cost_a, "o-", label="(A) (1/m)Σ|u − αū|²")
ax.loglog(alphas, rb["penalty"], "s--", label="(B) penalty (≥ W2²)")
ax.set_xlabel("init scale α")
ax.legend(fontsize=7)
ax.set_title("transport cost from μ0^α", fontsize=9)
ax = axes[2][3]
ax.loglog(alphas, [s[0] for s in sups], "o-", label="sup on [-1, 1]")
ax.loglog(alphas, [s[1] for s in sups], "s--", label="sup on [-1.5, 1.5]")
ax.set_xlabel("init scale α")
ax.legend(fontsize=7)
ax.set_title("distance between (A) and (B) predictors", fontsize=9)
fig.tight_layout()
fig.savefig(mfclient.out_path("e9_scaling_path.png"), dpi=100)
print("alpha   lossA    itA   lossB    itB  B-conv  costA    penB     sup[-1,1] sup-all")
for k, al in enumerate(alphas):
    print(f"{al:7.3g} {ra['loss'][k]:8.2g} {ra['iterations_per_alpha'][k]:6.0f} "
          f"{rb['loss'][k]:8.2g} {rb['iterations_per_alpha'][k]:6.0f} "
          f"{rb['converged_per_alpha'][k]:4.0f}   {cost_a[k]:8.3g} {rb['penalty'][k]:8.3g} "
          f"{sups[k][0]:9.3g} {sups[k][1]:8.3g}")
