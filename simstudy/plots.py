"""The study's figures, drawn with matplotlib and seaborn's current API.

Each function returns a matplotlib ``Figure`` and touches no global style: themes are
applied in a local context, so importing this module changes nothing for the caller.

Every name passed in (method and scenario labels, titles) is drawn as plain text: labels
come from the study config, and matplotlib would otherwise read ``$...$`` in them as
mathtext, which draws ``a $x$ b`` in italics and fails on ``$\\foo$``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import matplotlib

matplotlib.use("Agg")  # figures are files; never open a window

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter
from scipy.optimize import linear_sum_assignment

from simstudy.tables import atomic_write

_STYLE = {"style": "white", "context": "notebook"}
_DIFFERENCE_COLOR = "#4C72B0"
# Side labels sit on a white box, so that the zero line never runs through their text.
_LABEL_BOX = {"facecolor": "white", "edgecolor": "none", "pad": 1.5}
# Text is drawn the same whatever a matplotlibrc says: never through TeX, and with mathtext
# parsing on, so that the escaped dollars of plain_text are drawn as dollars.
_TEXT_RC = {"text.usetex": False, "text.parse_math": True}


#: What a panel says about a compared method without a single successful trial.
NO_SUCCESS = "{}: no successful trial"


def plain_text(text: object) -> str:
    """Return ``text`` so that matplotlib draws it exactly as written.

    Matplotlib reads a string holding an even number of unescaped ``$`` as mathtext;
    escaping every ``$`` turns that off, and matplotlib draws ``\\$`` as ``$``. Nothing else
    in a string drawn without usetex has a special meaning.

    Parameters
    ----------
    text
        Any text, typically a label from the study config; non-strings are converted
        with ``str``.

    Returns
    -------
    str
        The text with every ``$`` escaped.
    """
    return str(text).replace("$", r"\$")


def _no_success_note(names: Sequence[str]) -> str:
    return "\n".join(NO_SUCCESS.format(plain_text(name)) for name in names)


def warnings_line(counts: Mapping[str, tuple[int, int]]) -> str:
    """The line that difference figures add about warnings.

    Parameters
    ----------
    counts
        Method display name -> (trials in which it warned, trials it ran on).

    Returns
    -------
    str
        For instance ``"Trials with warnings: GMM 3 of 40, KMeans 0 of 40"``, not yet
        made plain text (the figures do that).
    """
    listed = ", ".join(f"{name} {warned} of {total}" for name, (warned, total) in counts.items())
    return f"Trials with warnings: {listed}"


def _second_line(note: str) -> str:
    return f"\n{plain_text(note)}" if note else ""


@contextmanager
def _styled() -> Iterator[None]:
    """The local theme and text settings every figure is drawn in."""
    with (
        sns.axes_style(_STYLE["style"]),
        sns.plotting_context(_STYLE["context"]),
        matplotlib.rc_context(_TEXT_RC),
    ):
        yield


def _palette(n: int) -> list:
    return sns.color_palette("colorblind", n)


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
    """Scatter one trial's dataset, coloured by the cluster each point was drawn from.

    Parameters
    ----------
    X, y
        The dataset's points (two columns) and their true clusters.
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
    with _styled():
        figure, ax = plt.subplots(figsize=(6, 6), dpi=dpi, layout="constrained")
        _scatter(ax, X, y, legend_title="true cluster")
        ax.set_title(
            f"Example dataset: scenario '{plain_text(scenario)}', trial {trial}\n"
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

    Parameters
    ----------
    X, y
        The dataset's points (two columns) and their true clusters.
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
    with _styled():
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
            f"'{plain_text(scenario)}', trial {trial}); colours matched to the true clusters",
            fontsize="medium",
        )
    return figure


def _facets(count: int, width: float, height: float, dpi: int, *, sharex=True, sharey=False):
    """A figure with ``count`` panels, wrapped into rows of at most five."""
    columns = 1 if count <= 3 else min(5, count)
    rows = -(-count // columns)
    figure, grid = plt.subplots(
        rows,
        columns,
        figsize=(width * columns, height * rows + 0.8),
        dpi=dpi,
        sharex=sharex,
        sharey=sharey,
        squeeze=False,
        layout="constrained",
    )
    axes = list(grid.flat)
    for ax in axes[count:]:
        ax.set_visible(False)
    return figure, axes[:count]


def difference_figure(
    differences: Mapping[str, np.ndarray],
    intervals: Mapping[str, tuple[float, float, float]],
    *,
    first: str,
    second: str,
    metric_label: str = "ARI",
    dpi: int = 150,
    no_success: Mapping[str, Sequence[str]] | None = None,
    warnings_note: str = "",
) -> Figure:
    """Histogram, density and rug of the per-trial paired differences, one panel per scenario.

    Parameters
    ----------
    differences
        Scenario label -> per-trial ``first - second`` scores, in panel order.
    intervals
        Scenario label -> ``(mean, ci_low, ci_high)`` as reported in ``summary.csv``; a
        scenario missing here has no interval.
    first, second
        Display names of the compared methods.
    metric_label
        Display name of the metric.
    dpi
        Resolution of the figure.
    no_success
        Scenario label -> display names of the compared methods without a single
        successful trial in that scenario; its panel says so instead of showing nothing.
    warnings_note
        A line saying how many trials each compared method warned in (see
        :func:`warnings_line`); empty for none.

    Returns
    -------
    Figure
        The figure; every name in it is drawn as plain text (see :func:`plain_text`).
    """
    no_success = no_success or {}
    scenarios = list(differences)
    everything = np.concatenate(
        [np.asarray(d, dtype=float) for d in differences.values()] or [np.array([])]
    )
    if len(everything) == 0:
        everything = np.array([-1.0, 1.0])
    low, high = float(min(everything.min(), 0.0)), float(max(everything.max(), 0.0))
    pad = 0.08 * (high - low or 1.0)
    single = len(scenarios) == 1
    first, second, metric = plain_text(first), plain_text(second), plain_text(metric_label)
    with _styled():
        figure, axes = _facets(len(scenarios), 8 if single else 4.2, 4.2 if single else 3.2, dpi)
        for ax, scenario in zip(axes, scenarios, strict=True):
            _difference_panel(
                ax,
                np.asarray(differences[scenario], dtype=float),
                intervals.get(scenario, (np.nan, np.nan, np.nan)),
                first=first,
                second=second,
                title=None if single else plain_text(scenario),
                no_success=no_success.get(scenario, ()),
            )
            ax.set_xlim(low - pad, high + pad)
            ax.set_xlabel("")
        figure.supxlabel(f"{metric} of {first} minus {metric} of {second}, per trial")
        figure.suptitle(
            f"Paired difference in {metric}: {first} vs {second} (black: mean and 95% CI)"
            + _second_line(warnings_note),
            fontsize="large",
            wrap=True,
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
    no_success: Sequence[str],
) -> None:
    """One scenario's panel; ``first``, ``second`` and ``title`` are already plain text."""
    heading = f"{title}: n = {len(d)} trials" if title else f"n = {len(d)} trials"
    if len(d) == 0:
        ax.text(
            0.5,
            0.5,
            _no_success_note(no_success) if no_success else "no trial where both methods ran",
            transform=ax.transAxes,
            ha="center",
            va="center",
        )
        ax.set_yticks([])
        sns.despine(ax=ax, left=True)
        ax.set_title(heading, fontsize="small", loc="left")
        return
    sns.histplot(
        x=d,
        bins="auto" if np.ptp(d) > 0 else 1,
        kde=bool(np.ptp(d) > 0 and len(d) > 2),
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
        0.01,
        0.97,
        f"← {second} better",
        transform=ax.transAxes,
        ha="left",
        va="top",
        fontsize="small",
        bbox=_LABEL_BOX,
    )
    ax.text(
        0.99,
        0.97,
        f"{first} better →",
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize="small",
        bbox=_LABEL_BOX,
    )
    ax.set_title(
        f"{heading}\nmean {mean:+.3f}, 95% CI [{ci_low:+.3f}, {ci_high:+.3f}]",
        fontsize="small",
        loc="left",
    )


def difference_by_scenario_figure(
    rows: Mapping[str, Mapping[str, Mapping[str, float]]],
    *,
    first: str,
    second: str,
    dpi: int = 150,
    no_success: Mapping[str, Sequence[str]] | None = None,
    warnings_note: str = "",
) -> Figure:
    """Mean paired difference with its 95% CI against the scenario, one panel per metric.

    Parameters
    ----------
    rows
        Metric label -> scenario label -> the summary's ``mean``, ``ci_low``, ``ci_high``
        and ``p_holm`` for the difference ``first - second`` (NaN where the summary has
        none). Scenarios are drawn top to bottom in the given order.
    first, second
        Display names of the compared methods.
    dpi
        Resolution of the figure.
    no_success
        Scenario label -> display names of the compared methods without a single
        successful trial in that scenario; its row says so in every panel. Other rows
        without a mean say that no trial had both methods run.
    warnings_note
        A line saying how many trials each compared method warned in (see
        :func:`warnings_line`); empty for none.

    Returns
    -------
    Figure
        The figure; every name in it is drawn as plain text (see :func:`plain_text`).
    """
    no_success = no_success or {}
    metrics = list(rows)
    scenarios = list(next(iter(rows.values())))
    first, second = plain_text(first), plain_text(second)
    with _styled():
        figure, axes = plt.subplots(
            1,
            len(metrics),
            figsize=(2.2 + 3.8 * len(metrics), 2.4 + 0.42 * len(scenarios)),
            dpi=dpi,
            sharey=True,
            squeeze=False,
            layout="constrained",
        )
        positions = np.arange(len(scenarios))[::-1]
        for ax, metric in zip(axes[0], metrics, strict=True):
            values = [rows[metric][s] for s in scenarios]
            means = np.array([v["mean"] for v in values], dtype=float)
            lows = np.array([v["ci_low"] for v in values], dtype=float)
            highs = np.array([v["ci_high"] for v in values], dtype=float)
            significant = np.array([v["p_holm"] < 0.05 for v in values])
            ax.axvline(0, linestyle="--", linewidth=1.2, color="#C44E52", zorder=0)
            ax.hlines(positions, lows, highs, color="black", linewidth=2)
            ax.plot(
                means[significant],
                positions[significant],
                "o",
                color="black",
                label="Holm-adjusted p < 0.05",
            )
            ax.plot(
                means[~significant],
                positions[~significant],
                "o",
                color="white",
                markeredgecolor="black",
                label="not significant",
            )
            for scenario, position, mean in zip(scenarios, positions, means, strict=True):
                if no_success.get(scenario) or np.isnan(mean):
                    ax.text(
                        0,
                        position,
                        _no_success_note(no_success[scenario])
                        if no_success.get(scenario)
                        else "no trial where both methods ran",
                        ha="center",
                        va="center",
                        fontsize="x-small",
                        bbox=_LABEL_BOX,
                    )
            ax.set_title(f"{plain_text(metric)}: {first} − {second}", fontsize="medium")
            ax.set_xlabel(
                f"mean difference in {plain_text(metric)}, 95% CI\n"
                f"← {second} better     {first} better →",
                fontsize="small",
            )
            extent = np.abs(np.r_[lows, highs, means])
            extent = extent[np.isfinite(extent)]
            span = max(extent.max(), 1e-3) * 1.15 if len(extent) else 1.0
            ax.set_xlim(-span, span)
            ax.xaxis.set_major_locator(MaxNLocator(nbins=5, symmetric=True))
            sns.despine(ax=ax, left=True)
            ax.tick_params(axis="y", length=0)
        axes[0, 0].set_yticks(positions, [plain_text(s) for s in scenarios])
        axes[0, 0].set_ylim(-0.7, len(scenarios) - 0.3)
        handles, texts = axes[0, 0].get_legend_handles_labels()
        figure.legend(
            handles, texts, loc="outside lower center", ncols=2, frameon=False, fontsize="small"
        )
        figure.suptitle(
            f"Mean paired difference {first} − {second} by scenario, with 95% CI"
            + _second_line(warnings_note),
            fontsize="medium",
        )
    return figure


def paired_scatter_figure(
    pairs: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    first: str,
    second: str,
    metric_label: str = "ARI",
    dpi: int = 150,
    no_success: Mapping[str, Sequence[str]] | None = None,
    warnings_note: str = "",
) -> Figure:
    """Per trial, ``first``'s score against ``second``'s, with the line y = x.

    Parameters
    ----------
    pairs
        Scenario label -> (scores of ``second``, scores of ``first``) over the trials
        where both ran, in panel order.
    first, second
        Display names of the compared methods.
    metric_label
        Display name of the metric.
    dpi
        Resolution of the figure.
    no_success
        Scenario label -> display names of the compared methods without a single
        successful trial in that scenario; its panel says so.
    warnings_note
        A line saying how many trials each compared method warned in (see
        :func:`warnings_line`); empty for none.

    Returns
    -------
    Figure
        The figure; every name in it is drawn as plain text (see :func:`plain_text`).
    """
    no_success = no_success or {}
    scenarios = list(pairs)
    values = np.concatenate([np.r_[x, y] for x, y in pairs.values()] or [np.array([0.0, 1.0])])
    low = float(min(np.nanmin(values), 0.0)) if len(values) else 0.0
    limits = (low - 0.03, 1.03)
    single = len(scenarios) == 1
    first, second, metric = plain_text(first), plain_text(second), plain_text(metric_label)
    with _styled():
        figure, axes = _facets(
            len(scenarios), 5.5 if single else 3.4, 5.5 if single else 3.4, dpi, sharey=True
        )
        for ax, scenario in zip(axes, scenarios, strict=True):
            x, y = pairs[scenario]
            ax.plot(limits, limits, linestyle="--", color="#C44E52", linewidth=1.2, zorder=0)
            ax.scatter(x, y, s=14, color=_DIFFERENCE_COLOR, alpha=0.6, linewidths=0)
            if no_success.get(scenario):
                ax.text(
                    0.5,
                    0.5,
                    _no_success_note(no_success[scenario]),
                    transform=ax.transAxes,
                    ha="center",
                    va="center",
                    bbox=_LABEL_BOX,
                )
            wins = int(np.sum(y > x))
            ax.set_title(
                f"{'' if single else plain_text(scenario) + ': '}"
                f"{first} higher in {wins} of {len(x)}",
                fontsize="small",
                loc="left",
            )
            ax.set_xlim(limits)
            ax.set_ylim(limits)
            ax.set_aspect("equal")
            sns.despine(ax=ax)
        figure.supxlabel(f"{metric} of {second}")
        figure.supylabel(f"{metric} of {first}")
        figure.suptitle(
            f"{metric} per trial: {first} against {second}\n"
            f"above the dashed line y = x, {first} did better" + _second_line(warnings_note),
            fontsize="medium",
        )
    return figure


class CostPoint(NamedTuple):
    """One method in one scenario of the score-against-time figure."""

    method: str
    median: float
    q25: float
    q75: float
    mean: float
    ci_low: float
    ci_high: float


def score_time_figure(
    points: Mapping[str, Sequence[CostPoint]],
    *,
    metric_label: str = "ARI",
    dpi: int = 150,
) -> Figure:
    """Mean score against median fit time, one panel per scenario, one colour per method.

    Parameters
    ----------
    points
        Scenario label -> its methods, in panel order; a method without timings has
        NaN times and is left out of its panel.
    metric_label
        Display name of the metric.
    dpi
        Resolution of the figure.

    Returns
    -------
    Figure
        The figure: horizontal bars are the fit times' interquartile range, vertical
        bars the 95% CI of the mean score; the time axis is logarithmic.
    """
    scenarios = list(points)
    methods = list(dict.fromkeys(p.method for ps in points.values() for p in ps))
    colours = dict(zip(methods, _palette(len(methods)), strict=True))
    single = len(scenarios) == 1
    metric = plain_text(metric_label)
    with _styled():
        figure, axes = _facets(
            len(scenarios), 6.5 if single else 3.6, 4.5 if single else 3.2, dpi, sharey=True
        )
        for ax, scenario in zip(axes, scenarios, strict=True):
            for point in points[scenario]:
                if not np.isfinite(point.median):
                    continue
                ax.errorbar(
                    [point.median],
                    [point.mean],
                    xerr=[[point.median - point.q25], [point.q75 - point.median]],
                    yerr=[[point.mean - point.ci_low], [point.ci_high - point.mean]],
                    fmt="o",
                    color=colours[point.method],
                    capsize=3,
                    label=plain_text(point.method),
                )
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.margins(x=0.15, y=0.1)
            if not single:
                ax.set_title(plain_text(scenario), fontsize="small", loc="left")
            sns.despine(ax=ax)
        handles = [
            plt.Line2D([], [], marker="o", linestyle="", color=colours[m], label=plain_text(m))
            for m in methods
        ]
        axes[0].legend(handles=handles, loc="best", fontsize="small", title="method")
        figure.supxlabel("median seconds per fit (log scale; bars: interquartile range)")
        figure.supylabel(f"mean {metric} (bars: 95% CI)")
        figure.suptitle(
            f"Accuracy against compute time: mean {metric} and median fit time per method\n"
            "one worker thread per fit; times depend on the machine and its load",
            fontsize="medium",
        )
    return figure


def stopping_figure(
    rounds: Mapping[str, tuple[Sequence[int], Sequence[float], str]],
    *,
    target: float,
    dpi: int = 150,
) -> Figure:
    """Each scenario's CI half-width against its trials, round by round, with the target.

    Parameters
    ----------
    rounds
        Scenario label -> (trials after each round, the half-width then, why it
        stopped: ``"precision"`` or ``"max_trials"``). NaN half-widths are not drawn.
    target
        The half-width at which a scenario stops.
    dpi
        Resolution of the figure.

    Returns
    -------
    Figure
        One line per scenario; the last round is marked with a star where the target
        was reached and a cross where ``max_trials`` stopped it.
    """
    colours = _palette(max(len(rounds), 1))
    with _styled():
        figure, ax = plt.subplots(figsize=(7.5, 4.5), dpi=dpi, layout="constrained")
        for colour, (scenario, (trials, widths, reason)) in zip(
            colours, rounds.items(), strict=False
        ):
            x, y = np.asarray(trials, dtype=float), np.asarray(widths, dtype=float)
            shown = np.isfinite(y)
            ax.plot(
                x[shown],
                y[shown],
                marker="o",
                markersize=4,
                color=colour,
                label=f"{plain_text(scenario)} ({int(x[-1])} trials, {reason})",
            )
            if shown[-1]:
                ax.plot(
                    x[-1],
                    y[-1],
                    marker="*" if reason == "precision" else "X",
                    markersize=13,
                    color=colour,
                    linestyle="",
                )
        ax.axhline(
            target,
            linestyle="--",
            color="#C44E52",
            linewidth=1.5,
            label=f"target half-width {target:g}",
        )
        ax.set_xlabel("trials in the scenario")
        ax.set_ylabel("half-width of the 95% CI\nof the mean paired difference")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize="small", loc="upper right")
        sns.despine(ax=ax)
        ax.set_title(
            "Precision-driven stopping: the interval's half-width, round by round\n"
            "(star: target reached; cross: max_trials reached)",
            fontsize="medium",
        )
    return figure


def save(figure: Figure, path: str | os.PathLike[str]) -> None:
    """Write ``figure`` to ``path`` as PNG (atomically) and release it.

    The figure is closed once it is written (not if writing fails).

    Parameters
    ----------
    figure
        The figure to write.
    path
        The PNG file to write.
    """
    with atomic_write(path, binary=True) as handle, matplotlib.rc_context(_TEXT_RC):
        figure.savefig(handle, format="png")
    plt.close(figure)
