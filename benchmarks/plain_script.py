"""The baseline the workflow is measured against: the default study as one plain script.

It does exactly the work of the workflow's chunk jobs for the default study, written
the way a careful person would by hand: per-trial seeds from NumPy's SeedSequence, one
stream for the data and one per method, ``joblib.Parallel`` over trials with BLAS and
OpenMP pinned to one thread per worker (or a plain loop with ``--n-jobs 1``), and a CSV of
the ARIs at the end. It imports nothing from this project.

    python benchmarks/plain_script.py --trials 400 --n-jobs 2 --output plain.csv
"""

from __future__ import annotations

import argparse
import csv
import hashlib

import numpy as np
from joblib import Parallel, delayed, parallel_config
from threadpoolctl import threadpool_limits

ROOT_SEED = 8888
STRETCH = np.array([[0.6, -0.6], [-0.4, 0.8]])


def stream(trial_seed: int, label: str) -> np.random.RandomState:
    digest = hashlib.sha256(label.encode()).digest()
    key = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))
    return np.random.RandomState(
        np.random.MT19937(np.random.SeedSequence(trial_seed, spawn_key=key))
    )


def trial_seed(trial: int) -> int:
    words = np.random.SeedSequence(ROOT_SEED, spawn_key=(trial,)).generate_state(4, np.uint32)
    return int.from_bytes(words.astype("<u4").tobytes(), "little")


def one_trial(trial: int) -> tuple[int, float, float]:
    from sklearn.cluster import KMeans
    from sklearn.datasets import make_blobs
    from sklearn.metrics import adjusted_rand_score
    from sklearn.mixture import GaussianMixture

    with threadpool_limits(limits=1):
        seed = trial_seed(trial)
        X, y = make_blobs(
            n_samples=300,
            centers=3,
            n_features=2,
            cluster_std=2.5,
            random_state=stream(seed, "data"),
        )
        X = X @ STRETCH
        gmm = GaussianMixture(
            n_components=3,
            covariance_type="full",
            n_init=20,
            random_state=stream(seed, "method/gmm"),
        ).fit_predict(X)
        kmeans = KMeans(
            n_clusters=3, n_init=20, random_state=stream(seed, "method/kmeans")
        ).fit_predict(X)
        return trial, adjusted_rand_score(y, gmm), adjusted_rand_score(y, kmeans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--output", default="plain.csv")
    args = parser.parse_args()
    if args.n_jobs == 1:
        rows = [one_trial(t) for t in range(args.trials)]
    else:
        with parallel_config(backend="loky", inner_max_num_threads=1):
            rows = Parallel(n_jobs=args.n_jobs)(delayed(one_trial)(t) for t in range(args.trials))
    with open(args.output, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["trial", "gmm", "kmeans"])
        writer.writerows((t, repr(g), repr(k)) for t, g, k in rows)


if __name__ == "__main__":
    main()
