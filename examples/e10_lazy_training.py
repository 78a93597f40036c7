#!/usr/bin/python3
"""E10 — lazy training ([COB19], mean-field.md §5, §11): the same two-layer
ReLU network trained by gradient descent with the output scaled by α
(objective α^-2 R(α f), `scale_mode: "output"` of the scaling_path kind),
from the same symmetric initialisation, for α from 0.1 to 100.

Set-up (T1-like, stated here since the kind takes data arrays): d = 5 inputs
uniform on the unit sphere (plus the kind's bias column), a planted teacher
of m0 = 3 ReLU neurons with unit directions and output weights (+1, -1, +1),
n = 60 training points, 500 test points passed as `x_eval`; student m = 1000
particles, step 0.5, up to 2·10^4 steps or train loss 1e-8. Expected: for
large α the parameters barely move (`rel_displacement` ~ 1/α) and the
predictor is the tangent-kernel interpolant (`f_kernel`), usually with a
worse test error on the planted teacher; for small α the network moves far
from its initialisation (feature learning).
"""
import math
import random

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import measured_client as mfclient

D, M0, N, NT = 5, 3, 60, 500
ALPHAS = [0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0]
rng = random.Random(3)


def sphere(d):
    v = [rng.gauss(0, 1) for _ in range(d)]
    s = math.sqrt(sum(t * t for t in v))
    return [t / s for t in v]


W = [sphere(D) for _ in range(M0)]
A = [1.0, -1.0, 1.0]


def teacher(x):
    return sum(a * max(0.0, sum(wk * xk for wk, xk in zip(w, x))) for a, w in zip(A, W))


x = [sphere(D) for _ in range(N)]
xt = [sphere(D) for _ in range(NT)]
y = [teacher(p) for p in x]
yt = [teacher(p) for p in xt]

r = mfclient.solve("scaling_path", {
    "x": x, "y": y, "x_eval": xt, "alphas": ALPHAS, "m": 1000, "scale_mode": "output",
    "step": 0.5, "max_iter": 20000, "loss_tol": 1e-8, "seed": 4, "stream_every": 500})

var = sum(v * v for v in yt) / NT


def test_err(f):
    return sum((a - b) ** 2 for a, b in zip(f, yt)) / NT / var


err_net = [test_err(f) for f in r["f"]]
err_ker = test_err(r["f_kernel"])
fig, ax = plt.subplots(1, 2, figsize=(11, 4.2))
ax[0].loglog(ALPHAS, r["rel_displacement"], "o-", label="|u − u0| / |u0|")
ax[0].loglog(ALPHAS, r["kernel_drift"], "s--", label="tangent-kernel drift")
ax[0].set_xlabel("output scale α")
ax[0].legend()
ax[0].set_title("how far training moves the network")
ax[1].semilogx(ALPHAS, err_net, "o-", label="network after training")
ax[1].axhline(err_ker, color="k", ls=":", label="tangent-kernel interpolant (α → ∞)")
ax[1].set_xlabel("output scale α")
ax[1].set_ylabel("test error / teacher variance")
ax[1].legend()
ax[1].set_title(f"d = {D}, n = {N}, m = 1000, teacher of {M0} neurons")
fig.tight_layout()
fig.savefig(mfclient.out_path("e10_lazy_training.png"), dpi=110)
print(f"{'alpha':>7} {'train loss':>11} {'rel disp':>9} {'kernel drift':>12} {'test err':>9}")
for k, al in enumerate(ALPHAS):
    print(f"{al:7g} {r['loss'][k]:11.3g} {r['rel_displacement'][k]:9.3g} "
          f"{r['kernel_drift'][k]:12.3g} {err_net[k]:9.3g}")
print(f"tangent-kernel interpolant: test err {err_ker:.3g}")
