"""Agreement scores between true and predicted cluster labels.

Every metric takes ``(labels_true, labels_pred)`` and returns a float; 1.0 means the
partitions agree up to a renaming of the labels. To add a metric, add its scikit-learn
function (or a dotted path to your own) to :data:`METRICS` and its name to the ``metrics``
enum of the config schema.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from simstudy.components import import_object

#: Metric name -> dotted path of a function ``f(labels_true, labels_pred) -> float``.
#: Resolved on first use, so that importing this module does not import scikit-learn.
METRICS: dict[str, str] = {
    "ari": "sklearn.metrics.adjusted_rand_score",
    "ami": "sklearn.metrics.adjusted_mutual_info_score",
    "nmi": "sklearn.metrics.normalized_mutual_info_score",
}

#: How figures and captions name each metric.
METRIC_LABELS = {"ari": "ARI", "ami": "AMI", "nmi": "NMI"}


@cache
def score_function(metric: str):
    """The function that computes ``metric``, imported on first use.

    Parameters
    ----------
    metric
        A metric name, a key of :data:`METRICS`.

    Returns
    -------
    callable
        The function ``f(labels_true, labels_pred)``.

    Raises
    ------
    ValueError
        If ``metric`` is not one of :data:`METRICS`, or its function cannot be imported.
    """
    try:
        return import_object(METRICS[metric])
    except KeyError:
        raise ValueError(f"metric {metric!r} is not one of {', '.join(METRICS)}") from None


def score(metric: str, labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Return ``metric`` for one predicted labelling as a Python float.

    Parameters
    ----------
    metric
        A metric name, a key of :data:`METRICS`.
    labels_true, labels_pred
        The true and the predicted cluster labels, one per observation.

    Returns
    -------
    float
        The score; 1.0 when the partitions agree up to a renaming of the labels.

    Raises
    ------
    ValueError
        If ``metric`` is not one of :data:`METRICS`.
    """
    return float(score_function(metric)(labels_true, labels_pred))
