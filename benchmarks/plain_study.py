"""The baseline of measure A: the blog post's whole default study as one plain script.

What a careful person writes by hand to get what ``snakemake`` gives for the default
study: the demo (one dataset of anisotropic blobs, drawn, then clustered by GMM and by
KMeans, drawn again) and the study (40 trials of both methods with joblib, the ARI
difference per trial, drawn), with the three figures saved as PNG. Trials use the same
seeds and streams as the workflow (see ``plain_script.py``), so the scores agree. It
imports nothing from this project.

    python benchmarks/plain_study.py --trials 40 --n-jobs 2 --outdir plain-out
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from joblib import Parallel, delayed, parallel_config
from plain_script import STRETCH, one_trial, stream, trial_seed
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture


def demo(outdir: Path, dpi: int) -> None:
    """Draw trial 0's dataset, then how each method clusters it."""
    seed = trial_seed(0)
    X, y = make_blobs(
        n_samples=300, centers=3, n_features=2, cluster_std=2.5, random_state=stream(seed, "data")
    )
    X = X @ STRETCH
    labels = {
        "GMM": GaussianMixture(
            n_components=3,
            covariance_type="full",
            n_init=20,
            random_state=stream(seed, "method/gmm"),
        ).fit_predict(X),
        "KMeans": KMeans(
            n_clusters=3, n_init=20, random_state=stream(seed, "method/kmeans")
        ).fit_predict(X),
    }
    palette = sns.color_palette("Set2", 3)
    figure, axis = plt.subplots(figsize=(5, 5))
    sns.scatterplot(x=X[:, 0], y=X[:, 1], hue=y, palette=palette, s=18, ax=axis, legend=False)
    axis.set(title="Example dataset (trial 0)", xticks=[], yticks=[])
    figure.savefig(outdir / "example_data.png", dpi=dpi)
    plt.close(figure)
    figure, axes = plt.subplots(1, 2, figsize=(9, 4.5))
    for axis, (name, predicted) in zip(axes, labels.items(), strict=True):
        sns.scatterplot(
            x=X[:, 0], y=X[:, 1], hue=predicted, palette=palette, s=18, ax=axis, legend=False
        )
        axis.set(
            title=f"{name}: ARI {adjusted_rand_score(y, predicted):.3f}", xticks=[], yticks=[]
        )
    figure.savefig(outdir / "example_clusterings.png", dpi=dpi)
    plt.close(figure)


def study(outdir: Path, trials: int, n_jobs: int, dpi: int) -> None:
    """Run the trials, save their scores and draw the GMM - KMeans ARI difference."""
    with parallel_config(backend="loky", inner_max_num_threads=1):
        rows = Parallel(n_jobs=n_jobs)(delayed(one_trial)(t) for t in range(trials))
    with open(outdir / "scores.csv", "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["trial", "gmm", "kmeans"])
        writer.writerows((t, repr(g), repr(k)) for t, g, k in rows)
    difference = np.array([g - k for _, g, k in rows])
    figure, axis = plt.subplots(figsize=(6, 4))
    sns.histplot(difference, bins=15, ax=axis)
    axis.axvline(difference.mean(), color="black", linestyle="--")
    axis.set(xlabel="ARI(GMM) - ARI(KMeans)", title=f"{trials} datasets")
    figure.savefig(outdir / "ari_difference.png", dpi=dpi)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--outdir", default="plain-out")
    parser.add_argument("--dpi", type=int, default=150)
    args = parser.parse_args()
    outdir = Path(args.outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    demo(outdir, args.dpi)
    study(outdir, args.trials, args.n_jobs, args.dpi)


if __name__ == "__main__":
    main()
