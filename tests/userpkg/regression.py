"""A user's function method for regression data (not part of simstudy)."""

import numpy as np


def mean_response(data):
    _, y = data
    return {"y_mean": float(np.mean(y))}
