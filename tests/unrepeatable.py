"""Methods and a data generator whose results do not repeat for the same seed.

A user's module, as the repeat check of the chunk jobs meets it: each estimator here
takes the ``random_state`` the workflow passes in and fits KMeans with it, as a
well-behaved one would, but then moves a quarter of the points to other clusters, which
points and where chosen by a source of randomness of its own. Jobs import this module
by dotted path (``unrepeatable.RandomModuleKMeans``) when ``tests/`` is on PYTHONPATH.
"""

from __future__ import annotations

import os
import random
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.cluster import KMeans

from simstudy.data import anisotropic_blobs


class _ReshufflingKMeans(ClusterMixin, BaseEstimator):
    """KMeans on the given stream, then a quarter of the labels redrawn from ``_own_seed``."""

    def __init__(self, n_clusters: int = 3, random_state=None) -> None:
        self.n_clusters = n_clusters
        self.random_state = random_state

    def _own_seed(self) -> int:
        raise NotImplementedError

    def fit_predict(self, X, y=None):
        model = KMeans(n_clusters=self.n_clusters, n_init=1, random_state=self.random_state)
        labels = model.fit_predict(X)
        own = np.random.default_rng(self._own_seed())
        moved = own.choice(len(X), size=len(X) // 4, replace=False)
        labels[moved] = own.integers(self.n_clusters, size=len(moved))
        return labels


class UnseededRngKMeans(_ReshufflingKMeans):
    """Draws from ``np.random.default_rng()`` without a seed."""

    def _own_seed(self) -> int:
        return int(np.random.default_rng().integers(2**32))


class RandomModuleKMeans(_ReshufflingKMeans):
    """Draws from Python's ``random`` module."""

    def _own_seed(self) -> int:
        return random.randrange(2**32)


class ClockKMeans(_ReshufflingKMeans):
    """Seeds itself from the clock."""

    def _own_seed(self) -> int:
        return int(time.time() * 1e6)


class UrandomKMeans(_ReshufflingKMeans):
    """Seeds itself from ``os.urandom``."""

    def _own_seed(self) -> int:
        return int.from_bytes(os.urandom(4), "little")


class CountingKMeans(_ReshufflingKMeans):
    """Seeds itself from a count of its fits, kept in a class attribute between calls."""

    fits = 0

    def _own_seed(self) -> int:
        CountingKMeans.fits += 1
        return CountingKMeans.fits


def noisy_blobs(random_state, **params):
    """Anisotropic blobs, plus noise from an unseeded ``np.random.default_rng()``."""
    X, y = anisotropic_blobs(random_state, **params)
    return X + 1e-3 * np.random.default_rng().standard_normal(X.shape), y


_warned = False


class WarnsOnceKMeans(KMeans):
    """KMeans that raises a DeprecationWarning on its first fit in a process only.

    Well behaved: such a warning speaks of the process, not of the fit, and is not
    counted (see ``simstudy.trials.PROCESS_WARNINGS``), so the rows repeat.
    """

    def fit_predict(self, X, y=None, sample_weight=None):
        global _warned
        if not _warned:
            _warned = True
            warnings.warn("this name will go away", DeprecationWarning, stacklevel=2)
        return super().fit_predict(X, y, sample_weight=sample_weight)


class AddressErrorKMeans(KMeans):
    """KMeans that always fails with an object's memory address in its message.

    Well behaved, for the repeat check: the address differs from call to call, but the
    check compares the error cells with addresses written ``0x...``.
    """

    def fit_predict(self, X, y=None, sample_weight=None):
        raise ValueError(f"cannot fit with {object()}")


def jittered_mean(data):
    """A method function: the mean of the points, plus noise from an unseeded generator."""
    X = data[0] if isinstance(data, tuple) else data
    return {"estimate": float(np.mean(X)) + np.random.default_rng().normal()}
