"""A user's permutation test, which draws from its own stream (not part of simstudy)."""

import numpy as np


def permutation(data, rng, *, n_permutations=50, alpha=0.05):
    """A permutation test of the difference in means."""
    pooled = np.concatenate([data["x"], data["y"]])
    observed = abs(data["y"].mean() - data["x"].mean())
    n = len(data["x"])
    count = 0
    for _ in range(n_permutations):
        order = rng.permutation(len(pooled))
        count += abs(pooled[order[n:]].mean() - pooled[order[:n]].mean()) >= observed
    p = (count + 1) / (n_permutations + 1)
    return {"p": p, "reject": bool(p < alpha)}


def global_draw(data, *, alpha=0.05):
    """Draws from NumPy's global generator: the guard must catch it."""
    p = float(np.random.uniform())  # noqa: NPY002 - the point of this function
    return {"p": p, "reject": bool(p < alpha)}
