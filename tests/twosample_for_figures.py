"""A tiny testing study, as a user would write it: two samples, two tests of their shift.

The figure tests name these by dotted path (``tests/`` is on the path while they run).
Each test returns its p-value and whether it rejects at ``alpha``; the t-test also
returns its statistic, a value the other method does not give.
"""

from scipy import stats


def two_samples(rng, *, n=15, shift=0.0):
    """Draw ``x`` and ``y`` (``n`` points each) from normals whose means differ by ``shift``."""
    return {"x": rng.standard_normal(n), "y": shift + rng.standard_normal(n)}


def t_test(data, *, alpha=0.05):
    """Welch's t-test, two-sided."""
    result = stats.ttest_ind(data["y"], data["x"], equal_var=False)
    return {"p": result.pvalue, "reject": bool(result.pvalue < alpha), "t": result.statistic}


def rank_test(data, *, alpha=0.05):
    """The Wilcoxon-Mann-Whitney test, two-sided."""
    p = stats.mannwhitneyu(data["y"], data["x"], alternative="two-sided").pvalue
    return {"p": p, "reject": bool(p < alpha)}
