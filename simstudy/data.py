"""Data generators for scenarios.

A generator is any importable function with the signature::

    generator(random_state, **params) -> (X, y)

``random_state`` is a ``numpy.random.RandomState`` to draw from, or ``None`` in legacy
mode, where the draws come from NumPy's global generator. ``X`` is an array of shape
``(n_samples, n_features)`` and ``y`` holds the ``n_samples`` true cluster labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.datasets import make_blobs

#: The linear map that the blog applies to stretch round blobs into anisotropic ones.
BLOG_TRANSFORMATION = ((0.6, -0.6), (-0.4, 0.8))


def anisotropic_blobs(
    random_state: np.random.RandomState | None,
    *,
    n_samples: int = 300,
    centers: int = 3,
    cluster_std: float = 2.5,
    transformation: Sequence[Sequence[float]] = BLOG_TRANSFORMATION,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw isotropic Gaussian blobs in 2-D, then stretch them with a linear map.

    Parameters
    ----------
    random_state
        Stream to draw from; ``None`` draws from NumPy's global generator.
    n_samples
        Number of points, split evenly over the blobs.
    centers
        Number of blobs (true clusters). Their centres are drawn uniformly in
        ``[-10, 10]^2``.
    cluster_std
        Standard deviation of every blob before the map.
    transformation
        A 2 x 2 matrix ``T``; the returned points are ``X @ T``.

    Returns
    -------
    X : ndarray of shape (n_samples, 2)
    y : ndarray of shape (n_samples,)
        The blob each point was drawn from.

    Raises
    ------
    ValueError
        If ``transformation`` is not a 2 x 2 matrix of numbers.
    """
    matrix = np.asarray(transformation, dtype=float)
    if matrix.shape != (2, 2):
        raise ValueError(
            f"transformation {transformation!r} must be a 2 x 2 matrix, got shape {matrix.shape}"
        )
    X, y = make_blobs(
        n_samples=n_samples,
        centers=centers,
        n_features=2,
        cluster_std=cluster_std,
        random_state=random_state,
    )
    return X @ matrix, y
