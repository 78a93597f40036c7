#!/usr/bin/python3
"""E9 — the scaling path of a two-layer ReLU network ([NCU23], mean-field.md
§11): 1-D regression (T4, n = 8, bias on), m = 2000, init scale α on a log
grid 1e-2..1e2, (A) gradient descent without penalty to a train loss 1e-8
(or 2·10^4 steps). Small α: sparse, piecewise-linear interpolants with few
kinks (rich); large α: the smooth tangent-kernel interpolant (lazy). The
penalised particle version (B) is not implemented yet.
"""
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

import measured_client as mfclient

r = mfclient.solve("scaling_path", {"n": 8, "m": 2000, "max_iter": 20000, "seed": 2,
                                  "smooth_target": False, "grid": 301, "step": 0.5})
x = [p[0] for p in r["x_eval"]]
fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
cmap = plt.get_cmap("viridis")
na = len(r["alphas"])
for k, (al, f) in enumerate(zip(r["alphas"], r["f"])):
    ax[0].plot(x, f, color=cmap(k / (na - 1)), label=f"α={al:.2g}")
ax[0].plot(x, r["f_kernel"], "k--", label="kernel interpolant")
ax[0].plot([p[0] for p in r["x_train"]], r["y_train"], "ro")
ax[0].set_ylim(-2, 2)
ax[0].legend(fontsize=7, ncol=2)
ax[0].set_title("predictors along the scaling path")
ax[1].loglog(r["alphas"], r["rel_displacement"], "o-", label="|u − u0|/|u0|")
ax[1].loglog(r["alphas"], r["kernel_drift"], "s-", label="tangent kernel drift")
ax[1].set_xlabel("init scale α")
ax[1].legend()
ax[1].set_title("rich (small α) to lazy (large α)")
fig.tight_layout()
fig.savefig(mfclient.out_path("e9_scaling_path.png"), dpi=110)
for al, l, it, d in zip(r["alphas"], r["loss"], r["iterations_per_alpha"], r["rel_displacement"]):
    print(f"α={al:.3g}: train loss {l:.3g} after {it:.0f} steps, displacement {d:.3g}")
