#!/usr/bin/python3
"""games_partial_curvature.py — [P2]'s illustrations (games.md §7.4, §8, §9.8):

(a) the trig_2x2 game, hot-started near its unique equilibrium: with the
    coupling delta = 1 the positions' curvature reaches the weights and conic
    particle MP converges at a rate ∝ eta per iteration, far faster than
    weights-only MP on the exact support (rate ∝ eta²); with delta = 0 the
    particles gain nothing;
(b) the quadratic game P = diag(0.2, 0), Q = 0, B = R(theta) diag(1, 2): the
    eigenvalues of the game Jacobian sit on the imaginary axis for theta = 0
    (eigenvectors of A in ker S) and move to Re ≈ tr(S)/dim = 0.05 for
    theta = pi/4 (general position), so gradient methods contract at first
    order in eta.
Writes examples/out/games_partial_curvature.png. Runs through the HTTP API."""
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from measured_client import out_path, solve

torus = {"type": "torus", "dim": 1}
fig, (ax, bx, cx) = plt.subplots(1, 3, figsize=(16, 4.5))
eta = 0.1
for delta, style in ((1, "-"), (0, "--")):
    for method, atoms, color in (("cp_mirror_prox", (0.02, 0.48, 0.03, 0.51), "C0"),
                                 ("fixed_support", (0.0, 0.5, 0.0, 0.5), "C3")):
        params = {
            "game": {"family": "trig_2x2", "delta": delta, "x_space": torus, "y_space": torus},
            "method": method, "eta_w": eta, "eta_pos": eta / 50, "max_iter": int(80 / eta),
            "ni_every": 2, "tol": 0,
            "x_init": {"points": [[atoms[0]], [atoms[1]]], "weights": [0.6, 0.4]},
            "y_init": {"points": [[atoms[2]], [atoms[3]]], "weights": [0.5, 0.5]},
        }
        r = solve("nash", params)
        h = r["gap_history"]
        label = f"{'conic particles' if method.startswith('cp') else 'fixed support'}, delta={delta}"
        print(f"{label}: gap {r['nash_gap']:.3g}, value {r['value']:.9f} (1/7 = {1/7:.9f})")
        # delta = 0 drawn wide and pale: both methods give the same curve.
        ax.semilogy([eta * t for t in h["iterations"]], [max(g, 1e-16) for g in h["nash_gap"]],
                    style, color=color, label=label, linewidth=1 if delta else 4,
                    alpha=1 if delta else 0.35)
ax.set_xlabel("eta × iteration")
ax.set_ylabel("Nash gap")
ax.set_title(f"trig_2x2, eta = {eta}")
ax.legend()

for theta, marker in ((0.0, "o"), (math.pi / 4, "x")):
    c, s = math.cos(theta), math.sin(theta)
    params = {"quadratic": {"P": [[0.2, 0], [0, 0]], "B": [[c, -2 * s], [s, 2 * c]],
                            "Q": [[0, 0], [0, 0]]},
              "x0": [0.3, -0.2], "y0": [0.5, 0.1], "method": "extragradient", "eta": 0.1,
              "max_iter": 3000, "tol": 0, "etas": [0.01, 0.02, 0.05, 0.1, 0.2]}
    r = solve("minmax", params)
    d = r["diagnostics"]
    bx.plot(d["eig_J_re"], d["eig_J_im"], marker, markersize=9,
            label=f"theta = {theta:.2f}: min Re = {d['min_re_eig_J']:.4f}")
    print(f"theta {theta:.3f}: eig(J) re {d['eig_J_re']} im {d['eig_J_im']}, "
          f"tr(S)/dim {d['mean_eig_S']}, general position {d['general_position']:.3g}")
    for m, color in (("extragradient", "C0"), ("proximal_point", "C1"), ("gda", "C3")):
        pts = [(o["eta"], -math.log(o["spectral_radius"]) / o["eta"]) for o in d["methods"]
               if o["method"] == m]
        cx.plot([p[0] for p in pts], [p[1] for p in pts], marker + "-", color=color,
                label=f"{m}, theta = {theta:.2f}")
bx.axvline(0.05, color="gray", linestyle=":", label="tr(S)/dim = 0.05")
bx.set_xlabel("Re eig(J)")
bx.set_ylabel("Im eig(J)")
bx.set_title("quadratic game: partial curvature")
bx.legend(fontsize=8)
cx.axhline(0, color="k", linewidth=0.5)
cx.set_xscale("log")
cx.set_ylim(-0.2, 0.16)
cx.set_xlabel("eta")
cx.set_ylabel("predicted rate per unit time  -log(rho)/eta")
cx.set_title("linearised rates (negative: diverges)")
cx.legend(fontsize=7)
fig.tight_layout()
fig.savefig(out_path("games_partial_curvature.png"), dpi=110)
print("wrote", out_path("games_partial_curvature.png"))
