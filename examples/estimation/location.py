"""Estimators of a location under contamination, written as a user of simstudy would.

The generator draws a normal sample with a share of gross outliers; each method is a
plain function of the sample that returns its estimate of the location ``mu`` and, where
it has them, a standard error and a 95% confidence interval. The study declares the
estimand ``mu`` with its true value, so the workflow reports bias, empirical and model
SEs, coverage and relative precision, each with its Monte Carlo SE.
"""

import numpy as np
from scipy import stats


def contaminated_normal(rng, *, n=50, mu=0.0, contamination=0.1, outlier_shift=8.0):
    """``n`` draws from N(mu, 1), each replaced with probability ``contamination`` by a
    draw from N(mu + outlier_shift, 1)."""
    sample = rng.normal(mu, 1.0, n)
    outliers = rng.random(n) < contamination
    sample[outliers] += outlier_shift
    return sample


def mean(sample, *, level=0.95):
    """The sample mean, its standard error and its exact t interval (for normal data)."""
    estimate = float(np.mean(sample))
    se = float(np.std(sample, ddof=1) / np.sqrt(len(sample)))
    t = stats.t.ppf(0.5 + level / 2, len(sample) - 1)
    return {
        "mu": estimate,
        "mu_se": se,
        "mu_lower": estimate - t * se,
        "mu_upper": estimate + t * se,
    }


def median(sample):
    """The sample median."""
    return {"mu": float(np.median(sample))}


def bagged_median(sample, rng, *, n_boot=200):
    """The mean of the medians of ``n_boot`` bootstrap resamples, and their spread as SE."""
    draws = rng.integers(0, len(sample), size=(n_boot, len(sample)))
    medians = np.median(sample[draws], axis=1)
    return {"mu": float(np.mean(medians)), "mu_se": float(np.std(medians, ddof=1))}
