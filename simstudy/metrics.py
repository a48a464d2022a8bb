"""Agreement scores between true and predicted cluster labels.

Every metric takes ``(labels_true, labels_pred)`` and returns a float; 1.0 means the
partitions agree up to a renaming of the labels. To add a metric, add it to
:data:`METRICS`; the config schema lists the accepted names too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import (
    adjusted_mutual_info_score,
    adjusted_rand_score,
    normalized_mutual_info_score,
)

Metric = Callable[[np.ndarray, np.ndarray], float]

METRICS: dict[str, Metric] = {
    "ari": adjusted_rand_score,
    "ami": adjusted_mutual_info_score,
    "nmi": normalized_mutual_info_score,
}

#: How figures and captions name each metric.
METRIC_LABELS = {"ari": "ARI", "ami": "AMI", "nmi": "NMI"}


def score(metric: str, labels_true: np.ndarray, labels_pred: np.ndarray) -> float:
    """Return ``metric`` for one predicted labelling as a Python float.

    Raises
    ------
    ValueError
        If ``metric`` is not one of :data:`METRICS`.
    """
    try:
        function = METRICS[metric]
    except KeyError:
        raise ValueError(f"metric {metric!r} is not one of {', '.join(METRICS)}") from None
    return float(function(labels_true, labels_pred))
