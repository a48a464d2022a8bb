"""Two-sample location tests, written as a user of simstudy writes a study's code.

The generator draws two independent samples, ``y`` shifted from ``x`` by ``shift``. Each
method is a plain function of the two samples: it estimates the shift, tests whether it
is zero, and returns its estimate, the p-value and whether it rejects at ``alpha``.
Averaged over trials, ``reject`` is the type-I error rate when there is no shift, and
the power when there is one; with the estimand ``shift`` declared in the study, the
workflow also reports the estimates' bias and the tests' power with Monte Carlo errors.
"""

import numpy as np
from scipy import stats


def two_samples(rng, *, n=30, shift=0.0, distribution="normal", scale_ratio=1.0):
    """Draw ``x`` (n points) and ``y`` (n points, shifted by ``shift``).

    ``distribution`` is ``"normal"`` or ``"t3"`` (Student's t with 3 degrees of freedom,
    heavy-tailed); ``y``'s spread is ``scale_ratio`` times ``x``'s.
    """
    if distribution == "normal":
        x, y = rng.standard_normal(n), rng.standard_normal(n)
    elif distribution == "t3":
        x, y = rng.standard_t(3, n), rng.standard_t(3, n)
    else:
        raise ValueError(f"distribution {distribution!r} is not 'normal' or 't3'")
    return {"x": x, "y": shift + scale_ratio * y}


def welch(data, *, alpha=0.05):
    """Welch's t-test (unequal variances), two-sided; the shift as a difference of means."""
    x, y = data["x"], data["y"]
    result = stats.ttest_ind(y, x, equal_var=False)
    se = np.sqrt(x.var(ddof=1) / len(x) + y.var(ddof=1) / len(y))
    return {
        "shift": float(y.mean() - x.mean()),
        "shift_se": float(se),
        "shift_p": float(result.pvalue),
        "reject": bool(result.pvalue < alpha),
    }


def mann_whitney(data, *, alpha=0.05):
    """The Wilcoxon-Mann-Whitney test, two-sided; the shift by Hodges and Lehmann's
    estimator (the median of all differences y_j - x_i)."""
    x, y = data["x"], data["y"]
    p = stats.mannwhitneyu(y, x, alternative="two-sided").pvalue
    return {
        "shift": float(np.median(np.subtract.outer(y, x))),
        "shift_p": float(p),
        "reject": bool(p < alpha),
    }
