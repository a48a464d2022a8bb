"""Figures of performance measures: each measure with its Monte Carlo SE, and the trials.

:func:`performance_figure` draws every measure of one estimand as rsimsum's forest plots
do, with bars of ±1.96 Monte Carlo SEs; :func:`zip_figure` is the zip plot of Morris,
White and Crowther (Statistics in Medicine 2019, figure 4); :func:`estimates_figure`
shows the estimates around the truth; :func:`nested_loop_figure` is the nested-loop plot
of Rücker and Schwarzer (BMC Medical Research Methodology 2014): one measure over all
scenarios in the order of the design's factors, whose levels are drawn beneath as steps.
Every name is drawn as plain text (:mod:`simstudy.plots`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure

from simstudy.plots import (
    method_legend,
    palette,
    panel_grid,
    plain_text,
    rows_of_three,
    scenario_rows,
    styled,
)

#: How far each bar of :func:`performance_figure` reaches: a 95% Monte Carlo interval.
MCSE_MULTIPLIER = 1.96
#: Colours of the zip plot: intervals that hold the truth, and those that miss it.
COVERS_COLOR, MISSES_COLOR = "#0173B2", "#D55E00"
REFERENCE_COLOR = "#C44E52"
#: The nested-loop plot's band of ±1.96 MCSE around each method's line.
BAND = {"fill": True, "alpha": 0.15, "lw": 0}

#: How the figures name each measure (``performance.csv``'s names in brackets).
MEASURE_TITLES = {
    "bias": "bias",
    "empse": "empirical SE (empse)",
    "mse": "mean squared error (mse)",
    "modelse": "model-based SE (modelse)",
    "relerror": "relative error of the model SE, % (relerror)",
    "cover": "coverage (cover)",
    "becover": "bias-eliminated coverage (becover)",
    "power": "rejection rate (power)",
    "relprec": "% precision gain over {reference} (relprec)",
}


def _title(measure: str, second: str) -> str:
    """How the figures name a measure; ``second`` is the method ``relprec`` is against."""
    return MEASURE_TITLES.get(measure, measure).format(reference=second)


def measure_reference(measure: str, alpha: float) -> float | None:
    """Where a measure is as it should be, if anywhere: the figures' reference line.

    Parameters
    ----------
    measure
        A measure of ``performance.csv``.
    alpha
        The estimand's ``alpha``.

    Returns
    -------
    float or None
        0 for ``bias``, ``relerror`` and ``relprec`` (no bias, a model SE as large as
        the empirical one, B's precision); ``1 - alpha`` for ``cover`` and ``becover``;
        None for the rest (the power's value under a null is not known in general).
    """
    if measure in ("bias", "relerror", "relprec"):
        return 0.0
    return 1 - alpha if measure in ("cover", "becover") else None


def performance_figure(
    cells: Mapping[str, Mapping[str, Mapping[str, tuple[float, ...]]]],
    *,
    methods: Sequence[str],
    alpha: float = 0.05,
    second: str = "B",
    dpi: int = 150,
    title: str = "Performance measures",
    note: str = "",
) -> Figure:
    """Each measure per scenario and method, with ±1.96 Monte Carlo SE: a panel each.

    Parameters
    ----------
    cells
        Measure -> scenario label -> method label -> ``(value, mcse, ...)``, in panel
        order (but ``n_missing``). Scenarios are drawn top to bottom; a method without
        a value in a row has no point there, and one with a NaN MCSE no bar.
    methods
        Every method's label, in the order of the legend and of the points in a row.
    alpha
        The estimand's ``alpha``: the reference line of coverage is at ``1 - alpha``
        (see :func:`measure_reference`).
    second
        The label of the method ``relprec`` is relative to.
    dpi
        Resolution of the figure.
    title, note
        The figure's title, and a line under it (empty for none).

    Returns
    -------
    Figure
        Panels wrapped into rows of at most three; each point is labelled with its value.
    """
    titles = [measure for measure in cells if measure != "n_missing"]
    scenarios = list(dict.fromkeys(s for rows in cells.values() for s in rows))
    colours = dict(zip(methods, palette(len(methods)), strict=True))
    rows, columns = rows_of_three(len(titles))
    height = 0.7 + len(scenarios) * (0.3 + 0.2 * len(methods))
    with styled():
        figsize = (1.4 + 3.9 * columns, 1.1 + height * rows)
        figure, grid = panel_grid(len(titles), rows, columns, figsize, dpi)
        axes = list(grid.flat)
        positions = np.arange(len(scenarios))[::-1].astype(float)
        for ax, measure in zip(axes, titles, strict=False):
            _forest_panel(ax, cells[measure], scenarios, positions, colours)
            if (reference := measure_reference(measure, alpha)) is not None:
                ax.axvline(reference, linestyle="--", color=REFERENCE_COLOR, lw=1)
            ax.set_title(plain_text(_title(measure, second)), fontsize="small")
        scenario_rows(axes[0], positions, scenarios)
        method_legend(figure, colours)
        figure.suptitle(
            plain_text(title) + (f"\n{plain_text(note)}" if note else ""), fontsize="medium"
        )
    return figure


def _forest_panel(ax, rows, scenarios, positions, colours) -> None:
    """One measure's points: a row per scenario, the methods in it side by side."""
    methods = list(colours)
    offsets = np.linspace(0.22, -0.22, len(methods)) if len(methods) > 1 else [0.0]
    for position in positions[:-1]:
        ax.axhline(position - 0.5, color="0.88", linewidth=0.8, zorder=0)
    for scenario, position in zip(scenarios, positions, strict=True):
        for method, offset in zip(methods, offsets, strict=True):
            value, mcse = rows.get(scenario, {}).get(method, (np.nan, np.nan))[:2]
            if not np.isfinite(value):
                continue
            reach = MCSE_MULTIPLIER * mcse if np.isfinite(mcse) else 0.0
            y = position + offset
            ax.errorbar(
                [value],
                [y],
                xerr=[[reach], [reach]],
                fmt="o",
                markersize=4.5,
                color=colours[method],
                capsize=2.5,
            )
            ax.text(value + reach, y, f"  {value:.3g}", va="center", fontsize="x-small")
    ax.margins(x=0.25)
    ax.tick_params(axis="y", length=0)
    ax.tick_params(axis="x", labelsize="x-small")
    sns.despine(ax=ax, left=True)


class Trials(NamedTuple):
    """One method's trials in one scenario: estimates, their intervals and the truth.

    ``distance``: how far the truth is from each interval's centre, in half-widths
    (``|estimate - truth| / (z se)`` for an interval made from an SE; the rank of
    ``|z|``): above 1, the interval misses the truth. ``lower``, ``upper`` and
    ``distance`` are None for a method with neither an interval nor an SE.
    """

    estimates: np.ndarray
    truth: float
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    distance: np.ndarray | None = None


class ZipPanel(NamedTuple):
    """One method in one scenario of the zip plot, with ``performance.csv``'s coverage."""

    method: str
    scenario: str
    trials: Trials
    cover: float
    mcse: float


def zip_figure(
    panels: Sequence[ZipPanel],
    *,
    nominal: float,
    dpi: int = 150,
    title: str = "Zip plot",
) -> Figure:
    """Every trial's interval, ranked by how far it is from the truth: a panel each.

    Parameters
    ----------
    panels
        One per method and scenario, in order: a row per method when there are at
        most five scenarios, else wrapped into rows of five.
    nominal
        The intervals' nominal coverage, ``1 - alpha``, drawn as a dashed line.
    dpi
        Resolution of the figure.
    title
        The figure's title.

    Returns
    -------
    Figure
        The intervals as horizontal lines, the one nearest the truth at the bottom:
        blue where they hold the truth, orange where they miss it. The grey band is
        the coverage's 95% Monte Carlo interval (``cover ± 1.96 mcse``), the vertical
        line the truth.
    """
    scenarios = list(dict.fromkeys(p.scenario for p in panels))
    columns = min(len(scenarios), 5)
    rows = -(-len(panels) // columns)
    with styled():
        figsize = (0.4 + 3.3 * columns, 1.3 + 3.0 * rows)
        figure, grid = panel_grid(len(panels), rows, columns, figsize, dpi)
        axes = list(grid.flat)
        for ax, panel in zip(axes, panels, strict=False):
            _zip_panel(ax, panel, nominal)
        for ax in grid[:, 0]:
            ax.set_ylabel("centile of |z|", fontsize="small")
        handles = [
            plt.Line2D([], [], color=COVERS_COLOR, label="holds the truth"),
            plt.Line2D([], [], color=MISSES_COLOR, label="misses the truth"),
            plt.Line2D([], [], color=REFERENCE_COLOR, ls="--", label=f"nominal {nominal:.0%}"),
            plt.Rectangle((0, 0), 1, 1, fc="0.8", ec="0.35", label="coverage, 95% MC CI"),
            plt.Line2D([], [], color="0.15", label="the truth"),
        ]
        figure.legend(
            handles=handles,
            loc="outside lower center",
            ncols=5 if columns > 3 else 3,
            frameon=False,
            fontsize="small",
        )
        for ax in grid[-1, :]:
            ax.set_xlabel("interval", fontsize="small")
        figure.suptitle(plain_text(title), fontsize="medium")
    return figure


def _zip_panel(ax, panel: ZipPanel, nominal: float) -> None:
    """One method's intervals in one scenario, ranked by their distance from the truth."""
    trials, heading = panel.trials, f"{plain_text(panel.method)} · {plain_text(panel.scenario)}"
    n = len(trials.distance)
    if n == 0:
        ax.set_title(f"{heading}\nno trial with an interval", fontsize="small")
        return
    order = np.argsort(trials.distance, kind="stable")
    centile = 100 * np.arange(1, n + 1) / n
    lower, upper = trials.lower[order], trials.upper[order]
    covers = (lower <= trials.truth) & (trials.truth <= upper)
    segments = np.stack([np.c_[lower, centile], np.c_[upper, centile]], axis=1)
    colours = np.where(covers[:, None], to_rgba_array(COVERS_COLOR), to_rgba_array(MISSES_COLOR))
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=0.7))
    low, high = (100 * (panel.cover + k * MCSE_MULTIPLIER * panel.mcse) for k in (-1, 1))
    low, high = max(low, 0), min(high, 100)
    ax.axhspan(low, high, color="0.8", lw=0, zorder=0)
    for limit in (low, high):  # the band's limits, over the intervals
        ax.axhline(limit, color="0.25", lw=0.9, zorder=4)
    ax.axhline(100 * nominal, color=REFERENCE_COLOR, ls="--", lw=1, zorder=4)
    ax.axvline(trials.truth, color="0.15", lw=1, zorder=4)
    ax.autoscale_view()
    ax.set_ylim(0, 100)
    ax.tick_params(labelsize="x-small")
    band = f"{low:.1f} to {high:.1f}"
    ax.set_title(f"{heading}\ncoverage {panel.cover:.1%} (95% MC CI {band})", fontsize="small")
    sns.despine(ax=ax)


def estimates_figure(
    trials: Mapping[str, Mapping[str, Trials]],
    *,
    methods: Sequence[str],
    dpi: int = 150,
    title: str = "Estimates",
) -> Figure:
    """The distribution of each method's estimates around the truth: a panel per scenario.

    Parameters
    ----------
    trials
        Scenario label -> method label -> its :class:`Trials` (at least one method
        each); a method without estimates has no violin. The truth is a dashed line.
    methods
        Every method's label, top to bottom.
    dpi
        Resolution of the figure.
    title
        The figure's title.

    Returns
    -------
    Figure
        For each method a violin (the estimates' smoothed density), a box (quartiles,
        whiskers to 1.5 interquartile ranges) and a white diamond at the mean.
    """
    scenarios = list(trials)
    colours = dict(zip(methods, palette(len(methods)), strict=True))
    positions = np.arange(len(methods))[::-1].astype(float)
    with styled():
        columns = 1 if len(scenarios) == 1 else 2 if len(scenarios) <= 4 else 3
        rows, height = -(-len(scenarios) // columns), 0.9 + 0.75 * len(methods)
        figsize = (0.8 + 4.6 * columns, 0.9 + height * rows)
        figure, grid = panel_grid(len(scenarios), rows, columns, figsize, dpi)
        axes = list(grid.flat)
        for ax, scenario in zip(axes, scenarios, strict=False):
            for method, y in zip(methods, positions, strict=True):
                if method in trials[scenario]:
                    shown = np.asarray(trials[scenario][method].estimates, dtype=float)
                    _distribution(ax, shown[np.isfinite(shown)], y, colours[method])
            truth = next(iter(trials[scenario].values())).truth
            ax.axvline(truth, color=REFERENCE_COLOR, ls="--", lw=1.2, zorder=5)
            ax.set_title(f"{plain_text(scenario)} (truth {truth:g})", fontsize="small")
            ax.tick_params(axis="x", labelsize="x-small")
            sns.despine(ax=ax, left=True)
        axes[0].set_yticks(positions, [plain_text(m) for m in methods])
        axes[0].set_ylim(-0.6, len(methods) - 0.4)
        figure.supxlabel("estimate (dashed line: the truth)", fontsize="small")
        figure.suptitle(plain_text(title), fontsize="medium")
    return figure


def _distribution(ax, values: np.ndarray, y: float, colour) -> None:
    """A violin, a box and the mean of ``values`` at height ``y``."""
    if len(values) == 0:
        return
    if len(values) > 1 and np.ptp(values) > 0:
        violin = ax.violinplot(
            [values], [y], orientation="horizontal", widths=0.8, showextrema=False
        )
        for body in violin["bodies"]:
            body.set(facecolor=colour, edgecolor=colour, alpha=0.35)
    ax.boxplot(
        [values],
        positions=[y],
        orientation="horizontal",
        widths=0.18,
        showfliers=False,
        patch_artist=True,
        boxprops={"facecolor": colour, "edgecolor": "0.2"},
        **{f"{part}props": {"color": "0.2"} for part in ("median", "whisker", "cap")},
    )
    ax.plot([np.mean(values)], [y], marker="D", color="white", mec="0.1", ms=5, zorder=6)


def _level_text(level) -> str:
    """A factor's level as its lane labels it: ``0.5``, ``normal``, ``default``."""
    if level is None:
        return "default"
    return f"{level:g}" if isinstance(level, float) else plain_text(level)


def _loop_lines(ax, series, edges, colours) -> None:
    """The measure's step line per method, its band of ±1.96 MCSE, and their legend."""
    for method, (values, mcses) in series.items():
        reach, colour = MCSE_MULTIPLIER * mcses, colours[method]
        ax.stairs(values, edges, baseline=None, color=colour, lw=2, label=plain_text(method))
        ax.stairs(values + reach, edges, baseline=values - reach, color=colour, **BAND)
    if series:
        ax.legend(fontsize="small", loc="best", title="method", title_fontsize="small")
    else:
        ax.text(0.5, 0.5, "no method gives this measure", transform=ax.transAxes, ha="center")


def nested_loop_figure(
    cells: Mapping[str, Mapping[str, tuple[float, ...]]],
    *,
    measure: str,
    methods: Sequence[str],
    scenarios: Sequence[str],
    factors: Mapping[str, tuple[Sequence[int], Sequence]],
    alpha: float = 0.05,
    second: str = "B",
    dpi: int = 150,
    title: str = "Nested-loop plot",
) -> Figure:
    """One measure over every scenario in nested order, and the factors' levels beneath.

    Parameters
    ----------
    cells
        Scenario label -> method label -> ``(value, mcse, ...)`` of the measure.
    measure
        The measure's name (:data:`MEASURE_TITLES`).
    methods
        The labels of the methods that give the estimand; those without the measure
        in any scenario are named in the title instead of drawn.
    scenarios
        The scenarios' labels, in nested-loop order (the first factor outermost).
    factors
        Factor name -> (the index of its level in each scenario, its levels: numbers,
        text, or None for a generator's default), outermost first.
    alpha, second
        For the reference line (:func:`measure_reference`) and the title of ``relprec``.
    dpi
        Resolution of the figure.
    title
        The figure's title.

    Returns
    -------
    Figure
        On top, a step line per method with a band of ±1.96 MCSE; below, a lane per
        factor whose step line shows its level in each scenario.
    """
    series = {
        m: np.array([cells.get(s, {}).get(m, (np.nan,) * 2)[:2] for s in scenarios], float).T
        for m in methods
        if any(m in cells.get(s, {}) for s in scenarios)
    }
    if missing := [m for m in methods if m not in series]:
        title = f"{title}\nno {measure} for: {', '.join(missing)}"
    reference, shown = measure_reference(measure, alpha), _title(measure, second)
    count, edges = len(scenarios), np.arange(len(scenarios) + 1) - 0.5
    colours = dict(zip(methods, palette(len(methods)), strict=True))
    with styled():
        figure, axes = plt.subplots(
            1 + len(factors),
            1,
            sharex=True,
            dpi=dpi,
            layout="constrained",
            figsize=(max(6.5, 1.6 + 0.45 * count), 4.4 + 0.75 * len(factors)),
            gridspec_kw={"height_ratios": [5, *[0.9] * len(factors)]},
        )
        top = axes[0]
        _loop_lines(top, series, edges, colours)
        if reference is not None:
            top.axhline(reference, color=REFERENCE_COLOR, ls="--", lw=1)
        top.set_ylabel(f"{plain_text(shown)}\n(band: ±1.96 MCSE)", fontsize="small")
        for ax, (factor, (index, levels)) in zip(axes[1:], factors.items(), strict=True):
            ax.stairs(np.asarray(index, float), edges, color="0.25", lw=1.5, baseline=None)
            ax.set_yticks(range(len(levels)), [_level_text(level) for level in levels])
            ax.set_ylim(-0.5, len(levels) - 0.5)
            ax.set_ylabel(plain_text(factor), rotation=0, ha="right", va="center")
            ax.tick_params(axis="y", labelsize="x-small")
        for ax in axes:
            sns.despine(ax=ax)
            ax.set_xlim(edges[0], edges[-1])
        bottom = axes[-1]
        bottom.set_xticks(range(count), [plain_text(s) for s in scenarios] if count <= 24 else [])
        bottom.tick_params(axis="x", labelrotation=45, labelsize="x-small")
        bottom.set_xlabel(
            "scenario, in the order of its factors (first factor outermost)", fontsize="small"
        )
        figure.suptitle(plain_text(title), fontsize="medium")
    return figure
