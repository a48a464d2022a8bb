"""An independent, minimal re-implementation of the blog post's procedure.

Written for the tests only, from the post's description: seed NumPy's global generator
with the master seed, draw one ``randint(1e8)`` seed per experiment; each experiment
seeds the global generator with its seed, draws 300 points of three blobs with standard
deviation 2.5, maps them with the fixed 2 x 2 matrix, then fits a full-covariance
Gaussian mixture and k-means (both three clusters, 20 restarts, unseeded) in that order
and scores both with the adjusted Rand index. It shares no code with ``simstudy``.
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture

STRETCH = np.array([[0.6, -0.6], [-0.4, 0.8]])


def master_seeds(master: int, count: int) -> list[int]:
    np.random.seed(master)  # noqa: NPY002 - replaying the global-state procedure
    return [int(value) for value in np.random.randint(1e8, size=count)]  # noqa: NPY002


def stretched_blobs() -> tuple[np.ndarray, np.ndarray]:
    points, truth = make_blobs(n_samples=300, cluster_std=2.5)
    return np.dot(points, STRETCH), truth


def experiment(seed: int, restarts: int = 20) -> dict[str, float]:
    """ARI of the mixture and of k-means for one experiment seed."""
    np.random.seed(seed)  # noqa: NPY002
    points, truth = stretched_blobs()
    mixture = GaussianMixture(n_components=3, covariance_type="full", n_init=restarts)
    mixture_labels = mixture.fit_predict(points)
    kmeans_labels = KMeans(n_clusters=3, n_init=restarts).fit_predict(points)
    return {
        "gmm": adjusted_rand_score(truth, mixture_labels),
        "kmeans": adjusted_rand_score(truth, kmeans_labels),
    }
