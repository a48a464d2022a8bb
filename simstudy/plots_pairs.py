"""Figures of the paired comparison of two methods, trial by trial, on one or more values.

``first - second`` per trial: its distribution (:func:`difference_figure`), its mean
with a confidence interval per scenario (:func:`difference_by_scenario_figure`), and the
two methods' values against each other (:func:`paired_scatter_figure`). Which side is
"better" is said only for values known to be scores or errors (``direction``, see
:func:`simstudy.plots.side_labels`); any other value has a higher side only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from simstudy.plots import (
    DIFFERENCE_COLOR,
    LABEL_BOX,
    facets,
    no_success_note,
    plain_text,
    second_line,
    side_labels,
    styled,
)


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
    direction: int = 1,
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
        :func:`~simstudy.plots.warnings_line`); empty for none.
    direction
        Which side of zero is better (see :func:`~simstudy.plots.side_labels`).

    Returns
    -------
    Figure
        The figure; every name in it is drawn as plain text. Differences that are all
        whole numbers (of a 0/1 value, say) get a bar per number and no density.
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
    if high > low and np.all(everything == np.round(everything)):  # bars a unit wide
        pad = max(pad, 0.6)
    single = len(scenarios) == 1
    first, second, metric = plain_text(first), plain_text(second), plain_text(metric_label)
    with styled():
        stacked = 1 < len(scenarios) <= 3  # one column: as wide as the titles need
        width = 8 if single else 6.5 if stacked else 4.2
        figure, axes = facets(len(scenarios), width, 4.2 if single else 3.2, dpi)
        for ax, scenario in zip(axes, scenarios, strict=True):
            _difference_panel(
                ax,
                np.asarray(differences[scenario], dtype=float),
                intervals.get(scenario, (np.nan, np.nan, np.nan)),
                title=None if single else plain_text(scenario),
                no_success=no_success.get(scenario, ()),
                sides=side_labels(first, second, direction),
            )
            ax.set_xlim(low - pad, high + pad)
            ax.set_xlabel("")
        figure.supxlabel(f"{metric} of {first} minus {metric} of {second}, per trial", wrap=True)
        figure.suptitle(
            f"Paired difference in {metric}: {first} vs {second} (black: mean and 95% CI)"
            + second_line(warnings_note),
            fontsize="large",
            wrap=True,
        )
    return figure


def _difference_panel(
    ax,
    d: np.ndarray,
    interval: tuple[float, float, float],
    *,
    title: str | None,
    no_success: Sequence[str],
    sides: tuple[str, str],
) -> None:
    """One scenario's panel; ``title`` and ``sides`` are already plain text."""
    heading = f"{title}: n = {len(d)} trials" if title else f"n = {len(d)} trials"
    if len(d) == 0:
        ax.text(
            0.5,
            0.5,
            no_success_note(no_success) if no_success else "no trial where both methods ran",
            transform=ax.transAxes,
            ha="center",
            va="center",
        )
        ax.set_yticks([])
        sns.despine(ax=ax, left=True)
        ax.set_title(heading, fontsize="small", loc="left")
        return
    counts = bool(0 < np.ptp(d) <= 20 and np.all(d == np.round(d)))  # whole numbers: a bar each
    sns.histplot(
        x=d,
        bins="auto" if np.ptp(d) > 0 and not counts else 1,
        discrete=counts or None,
        kde=bool(np.ptp(d) > 0 and len(d) > 2 and not counts),
        color=DIFFERENCE_COLOR,
        alpha=0.45,
        edgecolor="white",
        ax=ax,
    )
    sns.rugplot(x=d, height=0.05, color=DIFFERENCE_COLOR, linewidth=1, ax=ax)
    if counts:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.axvline(0, linestyle="--", linewidth=1.5, color="#C44E52", zorder=0)
    ax.set_ylabel("trials")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.35)  # headroom for the interval and side labels
    sns.despine(ax=ax)
    # x in data units, y as a fraction of the panel height
    top = ax.get_xaxis_transform()
    mean, ci_low, ci_high = interval
    ax.plot([ci_low, ci_high], [0.8, 0.8], transform=top, color="black", linewidth=2.5)
    ax.plot([mean], [0.8], transform=top, marker="o", color="black", markersize=6)
    for x, side, align in ((0.01, sides[0], "left"), (0.99, sides[1], "right")):
        ax.text(
            x,
            0.97,
            side,
            transform=ax.transAxes,
            ha=align,
            va="top",
            fontsize="small",
            bbox=LABEL_BOX,
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
    directions: Mapping[str, int] | None = None,
) -> Figure:
    """Mean paired difference with its 95% CI against the scenario, one panel per value.

    Parameters
    ----------
    rows
        Value label -> scenario label -> the summary's ``mean``, ``ci_low``, ``ci_high``
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
        :func:`~simstudy.plots.warnings_line`); empty for none.
    directions
        Value label -> which side of zero is better (see
        :func:`~simstudy.plots.side_labels`); 1 for a value not given.

    Returns
    -------
    Figure
        The figure; every name in it is drawn as plain text.
    """
    no_success, directions = no_success or {}, directions or {}
    metrics = list(rows)
    scenarios = list(next(iter(rows.values())))
    first, second = plain_text(first), plain_text(second)
    with styled():
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
            notes = {
                s: no_success_note(no_success[s])
                if no_success.get(s)
                else "no trial where both methods ran"
                for s in scenarios
            }
            _forest_panel(
                ax,
                [rows[metric][s] for s in scenarios],
                positions,
                [notes[s] if no_success.get(s) else None for s in scenarios],
                [notes[s] for s in scenarios],
            )
            left, right = side_labels(first, second, directions.get(metric, 1))
            ax.set_title(f"{plain_text(metric)}: {first} − {second}", fontsize="medium")
            ax.set_xlabel(
                f"mean difference in {plain_text(metric)}, 95% CI\n{left}     {right}",
                fontsize="small",
            )
        axes[0, 0].set_yticks(positions, [plain_text(s) for s in scenarios])
        axes[0, 0].set_ylim(-0.7, len(scenarios) - 0.3)
        handles, texts = axes[0, 0].get_legend_handles_labels()
        figure.legend(
            handles, texts, loc="outside lower center", ncols=2, frameon=False, fontsize="small"
        )
        figure.suptitle(
            f"Mean paired difference {first} − {second} by scenario, with 95% CI"
            + second_line(warnings_note),
            fontsize="medium",
        )
    return figure


def _forest_panel(ax, values, positions, failed, empty) -> None:
    """One value's intervals, a row per scenario.

    ``failed`` holds, per row, the note naming methods without a successful trial (or
    None); ``empty`` the note for a row without a mean.
    """
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
    for position, mean, note, nothing in zip(positions, means, failed, empty, strict=True):
        if note or np.isnan(mean):
            ax.text(
                0,
                position,
                note or nothing,
                ha="center",
                va="center",
                fontsize="x-small",
                bbox=LABEL_BOX,
            )
    extent = np.abs(np.r_[lows, highs, means])
    extent = extent[np.isfinite(extent)]
    span = max(extent.max(), 1e-3) * 1.15 if len(extent) else 1.0
    ax.set_xlim(-span, span)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, symmetric=True))
    sns.despine(ax=ax, left=True)
    ax.tick_params(axis="y", length=0)


def _statement(first: str, direction: int) -> str:
    """What the side of the line y = x says, for ``first`` on the vertical axis."""
    if direction > 0:
        return f"above the dashed line y = x, {first} did better"
    if direction < 0:
        return f"below the dashed line y = x, {first} did better"
    return f"above the dashed line y = x, {first} is higher"


def pair_limits(values: np.ndarray) -> tuple[float, float]:
    """The range of both axes of a paired scatter of ``values``.

    Parameters
    ----------
    values
        Every value drawn, of both methods.

    Returns
    -------
    tuple of float
        From 0 (or the lowest value) to 1, with a margin, for values up to 1, such as
        scores and rates; else the values' own range with a 5% margin. Whole numbers
        that differ (0/1 decisions, counts) get a margin of 0.3 for their labels.
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return (-0.03, 1.03)
    low, high = float(values.min()), float(values.max())
    if high > low and np.all(values == np.round(values)):
        return (low - 0.3, high + 0.3)
    if high <= 1:
        return (min(low, 0.0) - 0.03, 1.03)
    pad = 0.05 * (high - low or 1.0)
    return (low - pad, high + pad)


def paired_scatter_figure(
    pairs: Mapping[str, Mapping[str, tuple[np.ndarray, np.ndarray]]],
    *,
    first: str,
    second: str,
    dpi: int = 150,
    no_success: Mapping[str, Sequence[str]] | None = None,
    warnings_note: str = "",
    directions: Mapping[str, int] | None = None,
) -> Figure:
    """Per trial, ``first``'s value against ``second``'s, with the line y = x.

    Parameters
    ----------
    pairs
        Value label -> scenario label -> (values of ``second``, values of ``first``) over
        the trials where both ran. A row of panels per value, a panel per scenario (one
        value in more than five scenarios: wrapped in rows of five).
    first, second
        Display names of the compared methods.
    dpi
        Resolution of the figure.
    no_success
        Scenario label -> display names of the compared methods without a single
        successful trial in that scenario; its panels say so.
    warnings_note
        A line saying how many trials each compared method warned in (see
        :func:`~simstudy.plots.warnings_line`); empty for none.
    directions
        Value label -> which side of the line is better (see
        :func:`~simstudy.plots.side_labels`); 1 for a value not given.

    Returns
    -------
    Figure
        The figure; every name in it is drawn as plain text.
    """
    no_success, directions = no_success or {}, directions or {}
    metrics = list(pairs)
    scenarios = list(pairs[metrics[0]])
    first, second = plain_text(first), plain_text(second)
    single = len(scenarios) == 1
    with styled():
        if len(metrics) == 1 and (single or len(scenarios) > 5):  # wrapped in rows of five
            side = 5.5 if single else 3.4
            figure, axes = facets(len(scenarios), side, side, dpi, sharey=True)
            grid = [axes]
        else:  # a row of panels per value
            figure, grid = plt.subplots(
                len(metrics),
                len(scenarios),
                figsize=(3.4 * len(scenarios) + 0.6, 3.4 * len(metrics) + 0.8),
                dpi=dpi,
                squeeze=False,
                layout="constrained",
            )
        for row, metric in zip(grid, metrics, strict=True):
            limits = pair_limits(np.concatenate([np.r_[x, y] for x, y in pairs[metric].values()]))
            for ax, scenario in zip(row, scenarios, strict=True):
                heading = "" if single else plain_text(scenario) + ": "
                _pair_panel(ax, *pairs[metric][scenario], limits, heading, first)
                if no_success.get(scenario):
                    ax.text(
                        0.5,
                        0.5,
                        no_success_note(no_success[scenario]),
                        transform=ax.transAxes,
                        ha="center",
                        va="center",
                        bbox=LABEL_BOX,
                    )
        title = _pair_labels(figure, grid, metrics, first, second, directions)
        figure.suptitle(title + second_line(warnings_note), fontsize="medium")
    return figure


def _pair_panel(ax, x, y, limits, heading: str, first: str) -> None:
    """One scenario's points, with the line y = x; the title counts where ``first`` wins.

    Whole-number values (a 0/1 decision, say) fall on a few places, each drawn once,
    sized by and labelled with its number of trials.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ax.plot(limits, limits, linestyle="--", color="#C44E52", linewidth=1.2, zorder=0)
    places, counts = np.unique(np.column_stack([x, y]), axis=0, return_counts=True)
    if len(x) and len(places) <= 9 and np.all(places == np.round(places)):
        sizes = 30 + 470 * counts / counts.max()
        ax.scatter(*places.T, s=sizes, color=DIFFERENCE_COLOR, alpha=0.6, linewidths=0)
        for (px, py), count, size in zip(places, counts, sizes, strict=True):
            offset = 0.75 * np.sqrt(size) / 2 + 2  # clear of the marker, in points
            ax.annotate(
                str(count),
                (px, py),
                xytext=(offset, offset),
                textcoords="offset points",
                fontsize="small",
            )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        ax.scatter(x, y, s=14, color=DIFFERENCE_COLOR, alpha=0.6, linewidths=0)
    wins = int(np.sum(y > x))
    ax.set_title(f"{heading}{first} higher in {wins} of {len(x)}", fontsize="small", loc="left")
    ax.set_xlim(limits)
    ax.set_ylim(limits)
    ax.set_aspect("equal")
    sns.despine(ax=ax)


def _axis_label(metric: str, method: str) -> str:
    """``"<value> of <method>"``, on two lines when it would be wider than a panel."""
    text = f"{plain_text(metric)} of {method}"
    return text if len(text) <= 36 else text.replace(" of ", "\nof ", 1)


def _pair_labels(figure, grid, metrics, first: str, second: str, directions) -> str:
    """Axis labels, for one value on the figure, for several on each row; and the title."""
    if len(metrics) == 1:
        metric = plain_text(metrics[0])
        figure.supxlabel(f"{metric} of {second}")
        figure.supylabel(f"{metric} of {first}")
        statement = _statement(first, directions.get(metrics[0], 1))
        return f"{metric} per trial: {first} against {second}\n{statement}"
    for row, metric in zip(grid, metrics, strict=True):
        for ax in row:
            ax.set_xlabel(_axis_label(metric, second), fontsize="small")
        row[0].set_ylabel(_axis_label(metric, first), fontsize="small")
    shared = {directions.get(metric, 1) for metric in metrics}
    statement = _statement(first, shared.pop() if len(shared) == 1 else 0)
    return f"Per trial, a row of panels per value: {first} against {second}\n{statement}"
