"""A user's test function: Welch's t-test (not part of simstudy)."""

from scipy import stats


def welch(data, *, alpha=0.05):
    p = stats.ttest_ind(data["x"], data["y"], equal_var=False).pvalue
    return {"p": p, "reject": bool(p < alpha)}
