"""A clusterer that fails on some datasets, for testing how failures are handled.

Jobs import it by dotted path (``flaky.FlakyKMeans``) when ``tests/`` is on PYTHONPATH.
"""

from sklearn.cluster import KMeans


class FlakyKMeans(KMeans):
    """KMeans that refuses datasets whose first point lies left of the origin."""

    def fit_predict(self, X, y=None, sample_weight=None):
        if X[0, 0] < 0:
            raise ValueError(f"first point {X[0, 0]:.3f} lies left of the origin")
        return super().fit_predict(X, y, sample_weight=sample_weight)
