#!/usr/bin/python3
"""E8 — mean-field Langevin dynamics: bilevel reduction versus lifting
([WMC24], mean-field.md §11).

T2 single ReLU neuron in d = 20 (x ~ N(0, I), n = 10d), m = 256 particles,
λ = 1e-2, temperatures τ ∈ {1e-3, 1e-4} and no noise; MFLD-bilevel (θ on the
sphere, output weights solved exactly) versus MFLD-lifting with κ ∈ {0.1, 1,
10}. The two objectives differ in their regulariser, so the plot shows the
training loss R and the test loss (noise-free labels) against iterations
[R: the paper's exact set-up was not re-read].
"""
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

import measured_client as mfclient

TAUS = [1e-3, 1e-4, 0.0]
base = {"task": "single_neuron", "d": 20, "n": 200, "n_test": 1000, "gaussian_inputs": True,
        "m": 256, "lambda": 1e-2, "max_iter": 3000, "tol": 0, "stream_every": 20,
        "heavy_every": 1000, "seed": 4, "return_particles": False}
runs = []
for tau in TAUS:
    runs.append((f"bilevel τ={tau:g}", dict(base, method="mfld_bilevel", tau=tau, step=0.5)))
    for kappa in [0.1, 1.0, 10.0]:
        runs.append((f"lifting κ={kappa:g} τ={tau:g}",
                     dict(base, method="mfld_lifting", tau=tau, step=0.2, kappa=kappa,
                          init_scale=0.1)))
res = mfclient.run_jobs([("two_layer", p) for _, p in runs])
fig, ax = plt.subplots(1, len(TAUS), figsize=(15, 4.2), sharey=True)
for (name, p), r in zip(runs, res):
    j = TAUS.index(p["tau"])
    h = r["history"]
    ls = "-" if p["method"] == "mfld_bilevel" else "--"
    ax[j].semilogy(h["iteration"], h["test_loss"], ls, label=name.split(" τ")[0])
    print(f"{name}: train {r['loss']:.3g} test {r['test_loss']:.3g}")
for j, tau in enumerate(TAUS):
    ax[j].set_title(f"τ = {tau:g}")
    ax[j].set_xlabel("iteration")
ax[0].set_ylabel("test loss")
ax[0].legend(fontsize=8)
fig.tight_layout()
fig.savefig(mfclient.out_path("e8_bilevel.png"), dpi=110)
