"""Figures of each method on its own: its means, its compute time, and stopping rounds.

:func:`means_figure` draws each method's mean of each value per scenario with its
confidence interval, the headline of a study that is not about clustering (a rejection
rate, a held-out accuracy, a mean estimate); :func:`score_time_figure` weighs a value
against the seconds it took; :func:`stopping_figure` shows a precision-driven study's
rounds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from simstudy.plots import (
    facets,
    method_legend,
    palette,
    panel_grid,
    plain_text,
    rows_of_three,
    scenario_rows,
    styled,
)


def means_figure(
    means: Mapping[str, Mapping[str, Mapping[str, tuple[float, float, float]]]],
    *,
    methods: Sequence[str],
    dpi: int = 150,
    note: str = "",
) -> Figure:
    """Each method's mean of each value per scenario, with its 95% CI: a panel per value.

    Panels are wrapped into rows of at most three.

    Parameters
    ----------
    means
        Value label -> scenario label -> method label -> ``(mean, ci_low, ci_high)`` as
        ``summary.csv`` reports them. Scenarios are drawn top to bottom in the given
        order; a method missing from a panel (it does not give that value) or with a
        NaN mean (no successful trial) has no point there.
    methods
        Every method's label, in the order of the legend and of the points in a row.
    dpi
        Resolution of the figure.
    note
        A line for the title (such as the number of trials); empty for none.

    Returns
    -------
    Figure
        The figure; each point is labelled with its mean, every name is plain text.
    """
    values = list(means)
    scenarios = list(dict.fromkeys(s for rows in means.values() for s in rows))
    colours = dict(zip(methods, palette(len(methods)), strict=True))
    rows, columns = rows_of_three(len(values))
    height = 0.6 + len(scenarios) * (0.35 + 0.22 * len(methods))
    with styled():
        figsize = (1.6 + 4.0 * columns, 1.0 + height * rows)
        figure, grid = panel_grid(len(values), rows, columns, figsize, dpi)
        axes = list(grid.flat)
        positions = np.arange(len(scenarios))[::-1].astype(float)
        for ax, value in zip(axes, values, strict=False):
            _means_panel(ax, means[value], scenarios, positions, methods, colours)
            ax.set_title(f"mean {plain_text(value)}", fontsize="medium")
            ax.set_xlabel("mean, 95% CI", fontsize="small")
        scenario_rows(axes[0], positions, scenarios)
        method_legend(figure, colours)
        figure.suptitle(
            "Each method's mean per scenario, with its 95% CI"
            + (f"\n{plain_text(note)}" if note else ""),
            fontsize="medium",
        )
    return figure


def _means_panel(ax, rows, scenarios, positions, methods, colours) -> None:
    """One value's points: a row per scenario, the methods in it side by side."""
    offsets = np.linspace(0.22, -0.22, len(methods)) if len(methods) > 1 else [0.0]
    for position in positions[:-1]:
        ax.axhline(position - 0.5, color="0.88", linewidth=0.8, zorder=0)
    for scenario, position in zip(scenarios, positions, strict=True):
        for method, offset in zip(methods, offsets, strict=True):
            mean, low, high = rows.get(scenario, {}).get(method, (np.nan,) * 3)
            if not np.isfinite(mean):
                continue
            y = position + offset
            ax.errorbar(
                [mean],
                [y],
                xerr=[[mean - low], [high - mean]],
                fmt="o",
                markersize=5,
                color=colours[method],
                capsize=2.5,
            )
            right = high if np.isfinite(high) else mean
            ax.text(right, y, f"  {mean:.3g}", va="center", ha="left", fontsize="x-small")
    ax.margins(x=0.2)
    sns.despine(ax=ax, left=True)
    ax.tick_params(axis="y", length=0)


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
    direction: int = 1,
    per: str = "fit",
) -> Figure:
    """Mean score against median fit time, one panel per scenario, one colour per method.

    Parameters
    ----------
    points
        Scenario label -> its methods, in panel order; a method without timings has
        NaN times and is left out of its panel.
    metric_label
        Display name of the metric, or of any value.
    dpi
        Resolution of the figure.
    direction
        1 if a higher value is better (the title then weighs accuracy against time);
        else the title names the value only.
    per
        What one timing covers: ``"fit"`` (an estimator's) or ``"call"`` (a function's).

    Returns
    -------
    Figure
        The figure: horizontal bars are the times' interquartile range, vertical bars
        the 95% CI of the mean; the time axis is logarithmic. A method without a mean
        (it does not give the value) is left out.
    """
    scenarios = list(points)
    methods = list(dict.fromkeys(p.method for ps in points.values() for p in ps))
    colours = dict(zip(methods, palette(len(methods)), strict=True))
    single = len(scenarios) == 1
    metric = plain_text(metric_label)
    with styled():
        stacked = 1 < len(scenarios) <= 3  # one column: as wide as the titles need
        width = 6.5 if single or stacked else 3.6
        figure, axes = facets(len(scenarios), width, 4.5 if single else 3.2, dpi, sharey=True)
        for ax, scenario in zip(axes, scenarios, strict=True):
            for point in points[scenario]:
                if not (np.isfinite(point.median) and np.isfinite(point.mean)):
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
        _widen_to_steps(axes[0], [p for ps in points.values() for p in ps])
        handles = [
            plt.Line2D([], [], marker="o", linestyle="", color=colours[m], label=plain_text(m))
            for m in methods
        ]
        axes[0].legend(handles=handles, loc="best", fontsize="small", title="method")
        heading = (
            f"Accuracy against compute time: mean {metric} and median {per} time per method"
            if direction > 0
            else f"Mean {metric} against median {per} time, per method"
        )
        figure.supxlabel(f"median seconds per {per} (log scale; bars: interquartile range)")
        figure.supylabel(f"mean {metric} (bars: 95% CI)")
        figure.suptitle(
            f"{heading}\none worker thread per {per}; times depend on the machine and its load",
            fontsize="medium",
            wrap=True,
        )
    return figure


def _widen_to_steps(ax, points: Sequence[CostPoint]) -> None:
    """Widen a log axis of times to two 1-2-5 steps when it holds fewer, for tick labels.

    Otherwise matplotlib ticks a narrow range linearly, with long labels that overlap.
    """
    times = np.array([t for p in points for t in (p.q25, p.q75)], dtype=float)
    times = times[np.isfinite(times) & (times > 0)]
    if not len(times):
        return
    low, high = times.min(), times.max()
    exponents = range(int(np.floor(np.log10(low))) - 1, int(np.ceil(np.log10(high))) + 2)
    steps = np.array([m * 10.0**e for e in exponents for m in (1, 2, 5)])
    if np.sum((steps >= low) & (steps <= high)) < 2:
        ax.set_xlim(steps[steps <= low].max() / 1.15, steps[steps >= high].min() * 1.15)


def stopping_figure(
    rounds: Mapping[str, tuple[Sequence[int], Sequence[float], str]],
    *,
    target: float,
    dpi: int = 150,
    precision: str = "half-width",
    measured: str = "of the 95% CI\nof the mean paired difference",
) -> Figure:
    """Each scenario's precision against its trials, round by round, with the target.

    Parameters
    ----------
    rounds
        Scenario label -> (trials after each round, the half-width then, why it
        stopped: ``"precision"`` or ``"max_trials"``). NaN half-widths are not drawn.
    target
        The precision at which a scenario stops.
    dpi
        Resolution of the figure.
    precision, measured
        What the precision is (``"half-width"``, ``"MCSE"``) and of what, for the axis.

    Returns
    -------
    Figure
        One line per scenario; the last round is marked with a star where the target
        was reached and a cross where ``max_trials`` stopped it.
    """
    colours = palette(max(len(rounds), 1))
    with styled():
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
            label=f"target {precision} {target:g}",
        )
        ax.set_xlabel("trials in the scenario")
        ax.set_ylabel(f"{precision} {measured}")
        ax.set_ylim(bottom=0)
        ax.legend(fontsize="small", loc="upper right")
        sns.despine(ax=ax)
        ax.set_title(
            f"Precision-driven stopping: the {precision}, round by round\n"
            "(star: target reached; cross: max_trials reached)",
            fontsize="medium",
        )
    return figure
