"""A user's test function that warns on some datasets (not part of simstudy)."""

import warnings

from scipy import stats


def cautious_welch(data):
    """Welch's t-test that warns when the first x is below zero (about half the trials)."""
    if data["x"][0] < 0:
        warnings.warn("first point below zero", UserWarning, stacklevel=2)
    return {"p": stats.ttest_ind(data["x"], data["y"], equal_var=False).pvalue}
