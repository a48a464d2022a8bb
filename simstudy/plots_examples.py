"""Figures of one trial's labelled points: the example dataset and its clusterings.

Only a clustering study gets them (see :mod:`simstudy.catalog`): every method labels the
points, and the labels are drawn as colours. Points are drawn on their first two
features; a title says so when the data have more.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from scipy.optimize import linear_sum_assignment

from simstudy.plots import palette, plain_text, styled


def plane(X: np.ndarray) -> tuple[np.ndarray, str]:
    """The points to draw, on two axes, and a note on what was left out.

    Parameters
    ----------
    X
        The dataset's points, one row each (a 1-D array is one feature).

    Returns
    -------
    points : numpy.ndarray
        Two columns: the first two features (a single feature is drawn against 0).
    note : str
        ``""`` for two features, else a note saying which are drawn.
    """
    X = np.asarray(X, dtype=float).reshape(len(X), -1)
    features = X.shape[1]
    if features == 2:
        return X, ""
    if features == 1:
        return np.column_stack([X[:, 0], np.zeros(len(X))]), " (one feature, drawn against 0)"
    return X[:, :2], f" (features 1 and 2 of {features} drawn)"


def match_labels(labels_true: np.ndarray, labels_pred: np.ndarray) -> np.ndarray:
    """Rename predicted clusters to the true labels they overlap most.

    Cluster ids are arbitrary, so without this a perfect clustering could be drawn in
    entirely different colours from the truth. The renaming maximises the overlap
    (Hungarian algorithm); it changes colours only, never which points are grouped.
    Predicted clusters left without a partner get fresh ids above the true ones.

    Parameters
    ----------
    labels_true, labels_pred
        The true and the predicted integer cluster labels, one per point.

    Returns
    -------
    numpy.ndarray
        The predicted labels, renamed.
    """
    true_ids = np.unique(labels_true)
    pred_ids = np.unique(labels_pred)
    overlap = np.array(
        [[np.sum((labels_pred == p) & (labels_true == t)) for t in true_ids] for p in pred_ids]
    )
    rows, cols = linear_sum_assignment(-overlap)
    mapping = {pred_ids[r]: true_ids[c] for r, c in zip(rows, cols, strict=True)}
    spare = iter(range(int(true_ids.max()) + 1, int(true_ids.max()) + 1 + len(pred_ids)))
    for p in pred_ids:
        mapping.setdefault(p, next(spare))
    return np.array([mapping[p] for p in labels_pred])


def _scatter(ax, X: np.ndarray, labels: np.ndarray, *, legend_title: str | None) -> None:
    ids = np.unique(labels)
    colors = dict(zip(ids, palette(max(len(ids), int(ids.max()) + 1)), strict=False))
    sns.scatterplot(
        x=X[:, 0],
        y=X[:, 1],
        hue=labels,
        palette={i: colors[i] for i in ids},
        s=22,
        linewidth=0,
        alpha=0.85,
        legend=legend_title is not None,
        ax=ax,
    )
    if legend_title is not None:
        ax.legend(title=legend_title, loc="best", frameon=False, markerscale=1.5)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    sns.despine(ax=ax, left=True, bottom=True)


def example_data_figure(
    X: np.ndarray, y: np.ndarray, *, scenario: str, trial: int, dpi: int = 150
) -> Figure:
    """Scatter one trial's dataset, coloured by the cluster each point was drawn from.

    Parameters
    ----------
    X, y
        The dataset's points and their true clusters (see :func:`plane`).
    scenario
        Display name of the scenario, drawn as plain text.
    trial
        Index of the trial.
    dpi
        Resolution of the figure.

    Returns
    -------
    Figure
        The scatter plot, titled with the scenario, the trial and the cluster count.
    """
    X, note = plane(X)
    with styled():
        figure, ax = plt.subplots(figsize=(6, 6), dpi=dpi, layout="constrained")
        _scatter(ax, X, y, legend_title="true cluster")
        ax.set_title(
            f"Example dataset: scenario '{plain_text(scenario)}', trial {trial}\n"
            f"{len(y)} points from {len(np.unique(y))} clusters{note}",
            fontsize="medium",
        )
    return figure


def example_clusterings_figure(
    X: np.ndarray,
    y: np.ndarray,
    labels: Mapping[str, np.ndarray | None],
    scores: Mapping[str, float | None],
    *,
    scenario: str,
    trial: int,
    metric_label: str = "ARI",
    dpi: int = 150,
    title: str | None = None,
) -> Figure:
    """Draw each method's clustering of one dataset side by side, titled with its score.

    Parameters
    ----------
    X, y
        The dataset's points and their true clusters (see :func:`plane`).
    labels
        Display name of each method -> its predicted clusters, in panel order; ``None``
        marks a method that failed on this dataset, drawn in grey.
    scores
        Display name of each method -> its score (``None`` where it failed).
    scenario, trial
        Display name of the scenario, and the trial's index.
    metric_label
        Display name of the score's metric.
    dpi
        Resolution of the figure.
    title
        Overall title, instead of the one naming the scenario and trial.

    Returns
    -------
    Figure
        One panel per method. Colours follow the true clusters (see
        :func:`match_labels`); every name is drawn as plain text (see :func:`plain_text`).
    """
    X, note = plane(X)
    with styled():
        figure, axes = plt.subplots(
            1, len(labels), figsize=(5.5 * len(labels), 5.5), dpi=dpi, layout="constrained"
        )
        for ax, (name, predicted) in zip(np.atleast_1d(axes), labels.items(), strict=True):
            if predicted is None:
                ax.scatter(X[:, 0], X[:, 1], s=22, color="0.75", linewidths=0)
                ax.set_aspect("equal", adjustable="datalim")
                ax.set_axis_off()
                ax.set_title(f"{plain_text(name)}\nfailed on this dataset", fontsize="medium")
                continue
            _scatter(ax, X, match_labels(y, predicted), legend_title=None)
            ax.set_title(
                f"{plain_text(name)}\n{plain_text(metric_label)} = {scores[name]:.3f}",
                fontsize="medium",
            )
        figure.suptitle(
            plain_text(title)
            if title
            else f"Predicted clusters on the example dataset (scenario "
            f"'{plain_text(scenario)}', trial {trial}); colours matched to the true clusters"
            + note,
            fontsize="medium",
        )
    return figure
