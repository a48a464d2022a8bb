"""A test helper that jobs import by dotted path: a clusterer that never succeeds.

Jobs find this module (``always_fails.AlwaysFails``) when ``tests/`` is on PYTHONPATH.
"""

from typing import ClassVar

from sklearn.base import BaseEstimator, ClusterMixin


class AlwaysFails(ClusterMixin, BaseEstimator):
    """A clusterer whose ``fit_predict`` always raises, with ``message`` as the error text.

    ``message`` is any string, so a study can pass untrusted text through a param value.
    """

    # scikit-learn's parameter validation, which check_config runs: any value goes
    _parameter_constraints: ClassVar[dict] = {}

    def __init__(self, n_clusters=3, message="this method never succeeds"):
        self.n_clusters = n_clusters
        self.message = message

    def fit_predict(self, X, y=None):
        """Raise ``RuntimeError(message)``, whatever the data."""
        raise RuntimeError(self.message)
