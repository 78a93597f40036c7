#!/usr/bin/python3
"""E3 — excess loss versus the number of particles ([CB18] many-particle
limit, mean-field.md §11).

T1 teacher–student with m0 = 5 unit teacher neurons (a* = +1, c = 1/m0),
inputs uniform on the sphere, online batches of B = 500; ReLU and sigmoid
students trained by particle gradient descent (weight decay λ = 1e-5) for
3000 steps; excess population loss (test loss on 2000 fresh points, the
labels are noise-free) against m. Scaled down from the paper's d = 100 [R]
to d = 20 to run in a few minutes on two cores.
"""
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

import measured_client as mfclient

MS = [1, 2, 3, 5, 8, 12, 20, 50, 100, 200, 500]
SEEDS = [1, 2, 3]
base = {"task": "teacher", "d": 20, "teacher_m0": 5, "teacher_normalize": True, "batch": 500,
        "n_test": 2000, "lambda": 1e-5, "step": 2.0, "max_iter": 3000, "tol": 0,
        "init": "sphere", "stream_every": 100, "heavy_every": 100000,
        "return_particles": False}
fig, ax = plt.subplots(figsize=(6.5, 4.5))
for act, c in [("relu", "tab:blue"), ("sigmoid", "tab:red")]:
    jobs = [("two_layer", dict(base, m=m, seed=s, activation=act,
                               teacher_activation=act)) for m in MS for s in SEEDS]
    res = mfclient.run_jobs(jobs)
    for k, s in enumerate(SEEDS):
        ys = [res[i * len(SEEDS) + k]["test_loss"] for i in range(len(MS))]
        ax.loglog(MS, ys, "o-", color=c, alpha=0.5, label=f"{act}" if k == 0 else None)
    for i, m in enumerate(MS):
        print(act, m, [f"{res[i * len(SEEDS) + k]['test_loss']:.3g}" for k in range(len(SEEDS))])
ax.axvline(5, color="k", ls=":", lw=0.8)
ax.set_xlabel("number of particles m")
ax.set_ylabel("excess test loss")
ax.set_title("T1, d = 20, m0 = 5 (dotted), online B = 500, 3000 steps")
ax.legend()
fig.tight_layout()
fig.savefig(mfclient.out_path("e3_particles.png"), dpi=110)
