"""Test helpers that jobs import by dotted path: a flaky clusterer and a data generator.

Jobs find this module (``flaky.FlakyKMeans``, ``flaky.two_moons``) when ``tests/`` is on
PYTHONPATH.
"""

from sklearn.cluster import KMeans


class FlakyKMeans(KMeans):
    """KMeans that refuses datasets whose first point lies left of the origin."""

    def fit_predict(self, X, y=None, sample_weight=None):
        if X[0, 0] < 0:
            raise ValueError(f"first point {X[0, 0]:.3f} lies left of the origin")
        return super().fit_predict(X, y, sample_weight=sample_weight)


def two_moons(random_state, *, n_samples=200, noise=0.08):
    """A data generator by dotted path (``flaky.two_moons``): two interleaved half circles."""
    from sklearn.datasets import make_moons

    return make_moons(n_samples=n_samples, noise=noise, random_state=random_state)


_FIRST_FIT_IN_PROCESS = [True]


class WarnyKMeans(KMeans):
    """KMeans that warns twice on datasets whose first point lies left of the origin.

    Its first fit in a process also raises a DeprecationWarning, as a lazily imported
    module might: the count of warnings must not depend on which fit came first.
    """

    def fit_predict(self, X, y=None, sample_weight=None):
        import warnings

        from sklearn.exceptions import ConvergenceWarning

        if _FIRST_FIT_IN_PROCESS.pop() if _FIRST_FIT_IN_PROCESS else False:
            warnings.warn("first use in this process", DeprecationWarning, stacklevel=2)
        if X[0, 0] < 0:
            warnings.warn(
                f"first point {X[0, 0]:.3f}\nlies left of the origin",
                ConvergenceWarning,
                stacklevel=2,
            )
            warnings.warn("and a second warning", UserWarning, stacklevel=2)
        return super().fit_predict(X, y, sample_weight=sample_weight)
