"""Generators and method functions of every shape, good and bad, that the config tests
name by dotted path (``tests/`` is on the path while the tests run)."""

import numpy as np


def numbers(rng, *, n=20):
    """A generator of plain numbers, with no labels."""
    return rng.normal(size=n)


def no_stream(*, n=20):
    """Not a generator: it takes no random stream."""
    return np.zeros(n)


def mean(data):
    """A method function: the mean of the data's first column (or of the numbers)."""
    values = data[0][:, 0] if isinstance(data, tuple) else data
    return {"estimate": float(np.mean(values))}


def no_data():
    """Not a method function: it takes no data."""
    return {"estimate": 0.0}


def a_list(data):
    """Returns a list, not a mapping."""
    return [1.0, 2.0]


def text_value(data):
    """Returns text where a number belongs."""
    return {"estimate": "high"}


def seed_value(data):
    """Returns a name that is a column of trials.csv."""
    return {"seed": 1.0}


def doubles_in_place(data):
    """A method that changes its data in place (and reports their mean before)."""
    before = float(np.mean(data))
    data *= 2.0
    return {"estimate": before}


def spread(data):
    """The standard deviation of the numbers it is given."""
    return {"spread": float(np.std(data))}


def complex_value(data):
    """Returns a complex number, which float() would cut to its real part."""
    return {"estimate": np.complex128(1.0 + 1.0j)}


def numpy_decision(data):
    """Returns NumPy scalars, a NumPy boolean among them, as a test's p < alpha gives."""
    p = np.float64(0.01)
    return {"p": p, "reject": p < 0.05, "count": np.int64(3)}


def frame(rng, *, n=20):
    """A generator whose data are a pandas DataFrame."""
    import pandas as pd

    return pd.DataFrame({"x": rng.normal(size=n), "g": rng.integers(0, 2, size=n)})


def frame_group_gap(data):
    """A method function that reads a DataFrame: the gap between the two groups' means."""
    means = data.groupby("g")["x"].mean()
    return {"gap": means.get(1, 0.0) - means.get(0, 0.0)}
