"""A user's location estimators with standard errors and intervals (not part of simstudy)."""

import numpy as np
from scipy import stats


def normal_sample(rng, *, n=20, mu=0.0):
    return rng.normal(mu, 1.0, n)


def mean(sample):
    """The mean, its SE, its exact 95% t interval and the t-test's p-value against 0."""
    estimate = float(np.mean(sample))
    se = float(np.std(sample, ddof=1) / np.sqrt(len(sample)))
    t = stats.t.ppf(0.975, len(sample) - 1)
    p = 2 * stats.t.sf(abs(estimate / se), len(sample) - 1)
    return {
        "mu": estimate,
        "mu_se": se,
        "mu_lower": estimate - t * se,
        "mu_upper": estimate + t * se,
        "mu_p": p,
    }


def median(sample):
    return {"mu": float(np.median(sample))}
