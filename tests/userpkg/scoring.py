"""A user's own metric for estimator methods (not part of simstudy)."""

import numpy as np


def within_one(y_true, y_pred):
    return float(np.mean(np.abs(y_true - y_pred) <= 1.0))
