"""Methods and data generators that break the rules, for the trial guards' tests.

Jobs import them by dotted path (``misbehaving.GlobalDrawKMeans``) when ``tests/`` is on
PYTHONPATH, as they do ``tests/flaky.py``. Which trials misbehave is decided by the
dataset, so that it is the same in every process: with the tiny study of
``tests/conftest.py``, the first point of trials 0 to 6 has x = -3.4, 2.3, -6.7, 2.6,
-6.7, 11.7 and 2.0.
"""

from __future__ import annotations

import os
import signal
import time

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans

from simstudy.data import anisotropic_blobs

#: Long enough to count as "forever" in a test, short enough that a process left over by
#: a failed test ends on its own.
FOREVER = 600.0


class GlobalDrawKMeans(KMeans):
    """KMeans that also draws from NumPy's global generator when x[0] < 0 (trials 0, 2, 4)."""

    def fit_predict(self, X, y=None, sample_weight=None):
        if X[0, 0] < 0:
            np.random.rand()  # noqa: NPY002 - the misbehaviour under test
        return super().fit_predict(X, y, sample_weight=sample_weight)


class NoSeedKMeans(ClusterMixin, BaseEstimator):
    """A clusterer without ``random_state`` that leaves KMeans on the global generator."""

    def __init__(self, n_clusters: int = 3) -> None:
        self.n_clusters = n_clusters

    def fit_predict(self, X, y=None):
        return KMeans(n_clusters=self.n_clusters, n_init=1).fit_predict(X)


class SeedsGlobalKMeans(KMeans):
    """KMeans that reseeds NumPy's global generator (always to 0) before fitting."""

    def fit_predict(self, X, y=None, sample_weight=None):
        np.random.seed(0)  # noqa: NPY002 - the misbehaviour under test
        return super().fit_predict(X, y, sample_weight=sample_weight)


class SleepyKMeans(KMeans):
    """KMeans that sleeps "forever" when 2 < x[0] < 2.5 (trial 1 of the tiny study)."""

    def fit_predict(self, X, y=None, sample_weight=None):
        if 2 < X[0, 0] < 2.5:
            time.sleep(FOREVER)
        return super().fit_predict(X, y, sample_weight=sample_weight)


class StuckKMeans(KMeans):
    """KMeans that hangs like compiled code when 2 < x[0] < 2.5 (trial 1).

    It blocks SIGALRM before sleeping, as a long call into C that never returns to the
    interpreter would: Python then cannot run the time limit's signal handler.
    """

    def fit_predict(self, X, y=None, sample_weight=None):
        if 2 < X[0, 0] < 2.5:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(FOREVER)
        return super().fit_predict(X, y, sample_weight=sample_weight)


class CrashingKMeans(KMeans):
    """KMeans whose process dies at once when x[0] < -5 (trials 2 and 4)."""

    def fit_predict(self, X, y=None, sample_weight=None):
        if X[0, 0] < -5:
            os._exit(1)
        return super().fit_predict(X, y, sample_weight=sample_weight)


def global_blobs(random_state, **params):
    """Anisotropic blobs whose noise partly comes from NumPy's global generator."""
    X, y = anisotropic_blobs(random_state, **params)
    return X + 1e-6 * np.random.standard_normal(X.shape), y  # noqa: NPY002 - under test


def slow_blobs(random_state, *, delay: float = 0.0, **params):
    """Anisotropic blobs that take ``delay`` seconds to draw."""
    time.sleep(delay)
    return anisotropic_blobs(random_state, **params)


class OneNormalKMeans(KMeans):
    """KMeans that draws a single normal deviate from NumPy's global generator."""

    def fit_predict(self, X, y=None, sample_weight=None):
        np.random.standard_normal()  # noqa: NPY002 - the misbehaviour under test
        return super().fit_predict(X, y, sample_weight=sample_weight)
