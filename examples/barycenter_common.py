"""barycenter_common.py — helpers shared by the barycenter examples: 1-D
grids, Gaussian weights, moments, 1-D quantile functions and W2 distances,
and a `barycenter` job on a 1-D grid through the HTTP API."""
import math

from measured_client import solve


def grid(n, lo, hi):
    return [lo + (hi - lo) * i / (n - 1) for i in range(n)]


def normalise(w):
    s = sum(w)
    return [v / s for v in w]


def gaussian(xs, m, var):
    return normalise([math.exp(-0.5 * (x - m) ** 2 / var) for x in xs])


def moments(xs, w):
    m = sum(x * v for x, v in zip(xs, w))
    return m, sum(v * (x - m) ** 2 for x, v in zip(xs, w))


def quantile(xs, w, us):
    """Quantile function of a histogram on sorted points xs (linear within
    cells), at the levels us."""
    out, c, i = [], 0.0, 0
    cdf = []
    for v in w:
        c += v
        cdf.append(c)
    for u in us:
        while i < len(xs) - 1 and cdf[i] < u:
            i += 1
        prev = cdf[i - 1] if i else 0.0
        t = (u - prev) / (cdf[i] - prev) if cdf[i] > prev else 0.0
        lo = xs[i - 1] if i else xs[0]
        out.append(lo + t * (xs[i] - lo))
    return out


def w2_1d(xs, w1, w2, levels=2000):
    us = [(k + 0.5) / levels for k in range(levels)]
    q1, q2 = quantile(xs, w1, us), quantile(xs, w2, us)
    return math.sqrt(sum((a - b) ** 2 for a, b in zip(q1, q2)) / levels)


def grid_barycenter(n, lo, hi, values, lam, tau, weights=None, **extra):
    """The barycenter of histograms `values` on a 1-D grid: (weights, result)."""
    params = {"grid": {"shape": [n], "bounds": [[lo, hi]], "values": values},
              "lambda": lam, "tau": tau}
    if weights:
        params["weights"] = weights
    params.update(extra)
    r = solve("barycenter", params)
    return r["support"]["weights"], r
