"""The study's figures, drawn with matplotlib and seaborn's current API.

Each function returns a matplotlib ``Figure`` and touches no global style: themes are
applied in a local context, so importing this module changes nothing for the caller.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import matplotlib

matplotlib.use("Agg")  # figures are files; never open a window

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from scipy.optimize import linear_sum_assignment

from simstudy.tables import atomic_write

_STYLE = {"style": "white", "context": "notebook"}
_DIFFERENCE_COLOR = "#4C72B0"


def _palette(n: int) -> list:
    return sns.color_palette("colorblind", n)


def match_labels(labels_true: np.ndarray, labels_pred: np.ndarray) -> np.ndarray:
    """Rename predicted clusters to the true labels they overlap most.

    Cluster ids are arbitrary, so without this a perfect clustering could be drawn in
    entirely different colours from the truth. The renaming maximises the overlap
    (Hungarian algorithm); it changes colours only, never which points are grouped.
    Predicted clusters left without a partner get fresh ids above the true ones.
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
    colors = dict(zip(ids, _palette(max(len(ids), int(ids.max()) + 1)), strict=False))
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
    """Scatter one trial's dataset, coloured by the cluster each point was drawn from."""
    with sns.axes_style(_STYLE["style"]), sns.plotting_context(_STYLE["context"]):
        figure, ax = plt.subplots(figsize=(6, 6), dpi=dpi, layout="constrained")
        _scatter(ax, X, y, legend_title="true cluster")
        ax.set_title(
            f"Example dataset: scenario '{scenario}', trial {trial}\n"
            f"{len(y)} points from {len(np.unique(y))} clusters",
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

    ``labels`` and ``scores`` are keyed by the display name of each method, in the order
    the panels appear; ``None`` marks a method that failed on this dataset, drawn in
    grey. Colours follow the true clusters (see :func:`match_labels`).
    """
    with sns.axes_style(_STYLE["style"]), sns.plotting_context(_STYLE["context"]):
        figure, axes = plt.subplots(
            1, len(labels), figsize=(5.5 * len(labels), 5.5), dpi=dpi, layout="constrained"
        )
        for ax, (name, predicted) in zip(np.atleast_1d(axes), labels.items(), strict=True):
            if predicted is None:
                _scatter(ax, X, np.zeros(len(X), dtype=int), legend_title=None)
                for collection in ax.collections:
                    collection.set_color("0.75")
                ax.set_title(f"{name}\nfailed on this dataset", fontsize="medium")
                continue
            _scatter(ax, X, match_labels(y, predicted), legend_title=None)
            ax.set_title(f"{name}\n{metric_label} = {scores[name]:.3f}", fontsize="medium")
        figure.suptitle(
            title
            or f"Predicted clusters on the example dataset (scenario '{scenario}', "
            f"trial {trial}); colours matched to the true clusters",
            fontsize="medium",
        )
    return figure


def difference_figure(
    differences: Mapping[str, np.ndarray],
    intervals: Mapping[str, tuple[float, float, float]],
    *,
    first: str,
    second: str,
    metric_label: str = "ARI",
    dpi: int = 150,
) -> Figure:
    """Histogram, density and rug of the per-trial paired differences, per scenario.

    Parameters
    ----------
    differences
        Scenario -> per-trial ``first - second`` scores.
    intervals
        Scenario -> ``(mean, ci_low, ci_high)`` as reported in ``summary.csv``.
    first, second
        Display names of the compared methods.
    """
    scenarios = list(differences)
    everything = np.concatenate([np.asarray(d, dtype=float) for d in differences.values()])
    if len(everything) == 0:
        everything = np.array([-1.0, 1.0])
    low, high = float(min(everything.min(), 0.0)), float(max(everything.max(), 0.0))
    pad = 0.08 * (high - low or 1.0)
    with sns.axes_style(_STYLE["style"]), sns.plotting_context(_STYLE["context"]):
        figure, axes = plt.subplots(
            len(scenarios),
            1,
            figsize=(8, 3.6 * len(scenarios) + 0.6),
            dpi=dpi,
            sharex=True,
            squeeze=False,
            layout="constrained",
        )
        for ax, scenario in zip(axes[:, 0], scenarios, strict=True):
            _difference_panel(
                ax,
                np.asarray(differences[scenario], dtype=float),
                intervals[scenario],
                first=first,
                second=second,
                title=scenario if len(scenarios) > 1 else None,
            )
            ax.set_xlim(low - pad, high + pad)
        axes[-1, 0].set_xlabel(
            f"{metric_label} of {first} minus {metric_label} of {second}, per trial"
        )
        figure.suptitle(
            f"Paired difference in {metric_label}: {first} vs {second}", fontsize="large"
        )
    return figure


def _difference_panel(
    ax,
    d: np.ndarray,
    interval: tuple[float, float, float],
    *,
    first: str,
    second: str,
    title: str | None,
) -> None:
    if len(d) == 0:
        ax.text(
            0.5,
            0.5,
            "no trial where both methods ran",
            transform=ax.transAxes,
            ha="center",
            va="center",
        )
        ax.set_yticks([])
        sns.despine(ax=ax, left=True)
        ax.set_title(
            f"{title}: n = 0 trials" if title else "n = 0 trials", fontsize="small", loc="left"
        )
        return
    bins = "auto" if np.ptp(d) > 0 else 1
    sns.histplot(
        x=d,
        bins=bins,
        kde=np.ptp(d) > 0 and len(d) > 2,
        color=_DIFFERENCE_COLOR,
        alpha=0.45,
        edgecolor="white",
        ax=ax,
    )
    sns.rugplot(x=d, height=0.05, color=_DIFFERENCE_COLOR, linewidth=1, ax=ax)
    ax.axvline(0, linestyle="--", linewidth=1.5, color="#C44E52", zorder=0)
    ax.set_ylabel("trials")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.35)  # headroom for the interval and side labels
    sns.despine(ax=ax)
    # x in data units, y as a fraction of the panel height
    top = ax.get_xaxis_transform()
    mean, ci_low, ci_high = interval
    ax.plot([ci_low, ci_high], [0.8, 0.8], transform=top, color="black", linewidth=2.5)
    ax.plot([mean], [0.8], transform=top, marker="o", color="black", markersize=6)
    ax.text(
        ci_high,
        0.8,
        f"  mean {mean:+.3f}, 95% CI [{ci_low:+.3f}, {ci_high:+.3f}]",
        transform=top,
        ha="left",
        va="center",
        fontsize="small",
    )
    corner = ax.transAxes
    ax.text(0.01, 0.97, f"← {second} better", transform=corner, ha="left", va="top")
    ax.text(0.99, 0.97, f"{first} better →", transform=corner, ha="right", va="top")
    heading = f"n = {len(d)} trials"
    ax.set_title(f"{title}: {heading}" if title else heading, fontsize="small", loc="left")


def save(figure: Figure, path: str | os.PathLike[str]) -> None:
    """Write ``figure`` to ``path`` as PNG (atomically) and release it."""
    with atomic_write(path, binary=True) as handle:
        figure.savefig(handle, format="png")
    plt.close(figure)
