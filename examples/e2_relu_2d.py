#!/usr/bin/python3
"""E2 — a ReLU network in 2-D learning a 3-neuron teacher ([C], the
illustration of [C19]; mean-field.md §11).

d = 2, teacher: m0 = 3 unit input weights w*_k with output weights a*_k = ±1
and scale c = 1/m0, n = 15 inputs on the circle; student m = 20 particles
u = (a, w) uniform on the sphere of radius 2 in R³, penalty λ|u|²/m with
λ = 0.002 (the kind's weight decay (λ'/2)|u|²/m with λ' = 0.004), η = 1,
10^4 iterations of full-batch particle gradient descent. The kind returns
the final particles only, so the trajectories are rebuilt from runs of
increasing length (same seed: the same path, cut at each length). Shows the
paths of |a_i| w_i in the plane with the teacher directions, and the loss.
"""
import math

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

import measured_client as mfclient

STOPS = sorted({int(round(10 ** (k / 8))) for k in range(0, 33)})  # 1 .. 10^4, log-spaced
base = {"task": "teacher", "d": 2, "n": 15, "n_test": 500, "teacher_m0": 3,
        "teacher_normalize": True, "teacher_random_signs": True, "m": 20, "init": "sphere",
        "init_scale": 2.0, "lambda": 0.004, "step": 1.0, "tol": 0, "stream_every": 10,
        "heavy_every": 1000, "seed": 5}
res = mfclient.run_jobs([("two_layer", dict(base, max_iter=k)) for k in STOPS])
paths = []  # the first point is after one step

for r in res:
    a, w = r["particles"]["a"], r["particles"]["w"]
    paths.append([(abs(a[i]) * w[i][0], abs(a[i]) * w[i][1], a[i]) for i in range(len(a))])
teacher = res[-1]["teacher"]

fig, ax = plt.subplots(1, 2, figsize=(12, 5.4))
m = base["m"]
for i in range(m):
    xs = [p[i][0] for p in paths]
    ys = [p[i][1] for p in paths]
    col = "tab:red" if paths[-1][i][2] > 0 else "tab:blue"
    ax[0].plot(xs, ys, color=col, lw=0.8, alpha=0.8)
    ax[0].plot(xs[0], ys[0], "o", color=col, ms=3, alpha=0.6)
    ax[0].plot(xs[-1], ys[-1], "*", color=col, ms=8)
lim = max(max(abs(p[i][0]), abs(p[i][1])) for p in paths for i in range(m)) * 1.1
for wk, ak in zip(teacher["w"], teacher["a"]):
    col = "tab:red" if ak > 0 else "tab:blue"
    ax[0].plot([0, lim * wk[0]], [0, lim * wk[1]], "--", color=col, lw=1.2)
ax[0].set_xlim(-lim, lim)
ax[0].set_ylim(-lim, lim)
ax[0].set_aspect("equal")
ax[0].set_title("paths of |a_i| w_i (red a > 0, blue a < 0); dashed: teacher directions")
h = res[-1]["history"]
ax[1].loglog([max(i, 1) for i in h["iteration"]], h["loss"], label="train loss")
ax[1].loglog([max(i, 1) for i in h["iteration"]], h["test_loss"], label="test loss")
ax[1].set_xlabel("iteration")
ax[1].legend()
ax[1].set_title("losses")
fig.tight_layout()
fig.savefig(mfclient.out_path("e2_relu_2d.png"), dpi=110)

# How many student particles ended near each teacher direction (angle < 0.1 rad, same sign),
# and the share of the output mass (1/m) Σ |a_i||w_i| they carry.
last = res[-1]
a, w = last["particles"]["a"], last["particles"]["w"]
for wk, ak in zip(teacher["w"], teacher["a"]):
    near, mass = 0, 0.0
    for i in range(m):
        nw = math.hypot(w[i][0], w[i][1])
        ang = math.acos(max(-1.0, min(1.0, (w[i][0] * wk[0] + w[i][1] * wk[1]) / nw)))
        if ang < 0.1 and a[i] * ak > 0:
            near += 1
            mass += abs(a[i]) * nw / m
    print(f"teacher direction ({wk[0]:+.3f}, {wk[1]:+.3f}), a* = {ak:+.0f}: {near} particles, "
          f"mass {mass:.4f} (teacher c = {teacher['c']:.4f})")
print(f"final train loss {last['loss']:.3g}, test loss {last['test_loss']:.3g}, "
      f"certificate {last['certificate']:.4f}")
