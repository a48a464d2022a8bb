"""Scores of an estimator method's predictions against the truth.

A metric is a built-in name (:data:`METRICS`) or the dotted path of any function
``f(y_true, y_pred) -> float``, such as ``sklearn.metrics.balanced_accuracy_score``. Its
column in ``trials.csv`` is its name: the built-in name, or the function's own name for
a dotted path (:func:`metric_column`). Adding a metric needs no edit here.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from simstudy.components import import_object

#: Built-in metric name -> dotted path of a function ``f(y_true, y_pred) -> float``.
#: Resolved on first use, so that importing this module does not import scikit-learn.
METRICS: dict[str, str] = {
    # clustering: agreement of two partitions, up to a renaming of the labels
    "ari": "sklearn.metrics.adjusted_rand_score",
    "ami": "sklearn.metrics.adjusted_mutual_info_score",
    "nmi": "sklearn.metrics.normalized_mutual_info_score",
    # classification, on the held-out part
    "accuracy": "sklearn.metrics.accuracy_score",
    "balanced_accuracy": "sklearn.metrics.balanced_accuracy_score",
    "f1": "sklearn.metrics.f1_score",
    # regression, on the held-out part
    "r2": "sklearn.metrics.r2_score",
    "mse": "sklearn.metrics.mean_squared_error",
    "mae": "sklearn.metrics.mean_absolute_error",
}

#: How figures and captions name the built-in metrics; other values go by their name.
METRIC_LABELS = {
    "ari": "ARI",
    "ami": "AMI",
    "nmi": "NMI",
    "accuracy": "accuracy",
    "balanced_accuracy": "balanced accuracy",
    "f1": "F1",
    "r2": "R²",
    "mse": "MSE",
    "mae": "MAE",
}


def metric_column(metric: str) -> str:
    """Return the column name of ``metric`` in ``trials.csv``.

    Parameters
    ----------
    metric
        A built-in name or a dotted path.

    Returns
    -------
    str
        The built-in name, or the last part of the dotted path (the function's name).
    """
    return metric if metric in METRICS else metric.rpartition(".")[2]


def value_label(name: str) -> str:
    """Return how figures and captions name a value: ``"ARI"`` for ``ari``, and so on.

    Parameters
    ----------
    name
        A column of named values (a metric's column or a method function's key).

    Returns
    -------
    str
        The label of a built-in metric, or ``name`` itself.
    """
    return METRIC_LABELS.get(name, name)


@cache
def score_function(metric: str):
    """The function that computes ``metric``, imported on first use.

    Parameters
    ----------
    metric
        A built-in name (a key of :data:`METRICS`) or a dotted path.

    Returns
    -------
    callable
        The function ``f(y_true, y_pred)``.

    Raises
    ------
    ValueError
        If ``metric`` is neither a built-in name nor the dotted path of a function that
        imports.
    """
    if metric not in METRICS and "." not in metric:
        raise ValueError(
            f"metric {metric!r} is neither a built-in metric ({', '.join(METRICS)}) nor "
            f"a dotted path to a function f(y_true, y_pred) -> float"
        )
    function = import_object(METRICS.get(metric, metric))
    if not callable(function):
        raise ValueError(f"metric {metric!r} is not a function (got {function!r})")
    return function


def score(metric: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Return ``metric`` for one prediction as a Python float.

    Parameters
    ----------
    metric
        A built-in name or a dotted path (see :func:`score_function`).
    y_true, y_pred
        The truth and the prediction, one per observation.

    Returns
    -------
    float
        The score.

    Raises
    ------
    ValueError
        From :func:`score_function`.
    """
    return float(score_function(metric)(y_true, y_pred))
