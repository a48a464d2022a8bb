"""Draw the study's figures from its plan and result tables.

Which figures a study gets is the catalog's (:mod:`simstudy.catalog`); each entry names a
function here, ``draw_<...>(plan, results, value)``, that draws it from the result tables
(:class:`Results`) and returns the matplotlib figure; ``value`` is the value a figure
drawn per value shows, else None. The figure rule first checks the example trial that
rule ``run_example`` kept against its rows in ``trials.csv`` (see
:mod:`simstudy.example`), whatever the kind of study, which makes every figure build a
small reproducibility check. Nothing here runs a trial.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from simstudy import catalog, plots, plots_performance
from simstudy.example import check_against_rows
from simstudy.figure_data import (
    Results,
    compared,
    difference_rows,
    direction,
    estimand_settings,
    estimand_trials,
    first_value,
    indexed,
    missing_note,
    no_success_labels,
    paired_differences,
    performance_cells,
    warnings_note,
    zip_panels,
)
from simstudy.layout import FIGURES
from simstudy.metrics import value_label
from simstudy.plan import StudyPlan
from simstudy.plots_examples import example_clusterings_figure, example_data_figure
from simstudy.plots_pairs import (
    difference_by_scenario_figure,
    difference_figure,
    paired_scatter_figure,
)
from simstudy.plots_summaries import CostPoint, means_figure, score_time_figure, stopping_figure
from simstudy.summary import paired_scores

#: The figures that ``plot_figures`` draws for a clustering study scored by ``ari`` only,
#: such as the default study (any study's: ``catalog.figures(plan, "plot_figures")``).
FIGURE_NAMES = tuple(FIGURES)

# The figures, as the catalog names them ---------------------------------------------


def check_example(plan: StudyPlan, results: Results) -> None:
    """Check the example trial's values against its rows in ``trials.csv``.

    Parameters
    ----------
    plan
        The study's plan; the compared methods are checked.
    results
        The tables, with ``example`` and ``trials``.

    Raises
    ------
    simstudy.example.ReproducibilityError
        If the example's values differ from the trial's rows.
    """
    check_against_rows(results.example, results.paths["trials"], list(plan.config["comparison"]))


def draw_example_data(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``example_data.png``: the example trial's points, coloured by true cluster.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables, and None (one figure for the study).

    Returns
    -------
    Figure
        The figure.
    """
    outcome = results.example
    return example_data_figure(
        outcome.X,
        outcome.y,
        scenario=plan.scenario_label(plan.example.scenario),
        trial=plan.example.trial,
        dpi=plan.config["figures"]["dpi"],
    )


def draw_example_clusterings(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``example_clusterings.png``: each compared method's clusters, titled with its score.

    A compared method that failed in that trial is drawn as an empty panel saying so;
    the score is the first value both compared methods give (ARI in the default study).

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables, and None (one figure for the study).

    Returns
    -------
    Figure
        The figure.
    """
    outcome, comparison = results.example, plan.config["comparison"]
    shown = compared(plan)[0]
    names = {method: plan.method_label(method) for method in comparison}
    return example_clusterings_figure(
        outcome.X,
        outcome.y,
        {names[m]: outcome.labels.get(m) for m in comparison},
        {names[m]: outcome.scores.get(m, {}).get(shown) for m in comparison},
        scenario=plan.scenario_label(plan.example.scenario),
        trial=plan.example.trial,
        metric_label=value_label(shown),
        dpi=plan.config["figures"]["dpi"],
    )


def draw_means_by_scenario(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``means_by_scenario.png``: each method's mean of each value, per scenario, with CI.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables, and None (one figure for the study).

    Returns
    -------
    Figure
        A panel per value of the study; a method is drawn where it gives the value.
    """
    config, summary = plan.config, results.summary
    rows = summary[summary["kind"] == "method"].set_index(["metric", "scenario", "method"])
    columns = ("mean", "ci_low", "ci_high")
    means = {
        value_label(v): {
            plan.scenario_label(s): {
                plan.method_label(m): tuple(indexed(rows, (v, s, m), columns))
                for m in config["methods"]
                if v in plan.method_values(m)
            }
            for s in config["scenarios"]
        }
        for v in plan.values  # noqa: PD011 - a list of names
    }
    trials = sorted(set(rows["n"] + rows["n_failed"]))
    counted = f"{trials[0]} trials" if len(trials) == 1 else "trials vary"
    return means_figure(
        means,
        methods=[plan.method_label(m) for m in config["methods"]],
        dpi=config["figures"]["dpi"],
        note=f"{counted} per scenario; a method without a point does not give that value",
    )


def draw_performance(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``performance_<estimand>.png``: each measure per scenario and method, ±1.96 MCSE.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables (``performance``) and the estimand.

    Returns
    -------
    Figure
        A panel per measure that ``performance.csv`` has for the estimand.
    """
    config, cells = plan.config, performance_cells(plan, results.performance, value)
    return plots_performance.performance_figure(
        cells,
        alpha=config["estimands"][value].get("alpha", 0.05),
        second=plan.method_label(config["comparison"][1]),
        title=f"Performance of the estimates of {value_label(value)}, with ±1.96 MCSE",
        note=missing_note(cells),
        **estimand_settings(plan, value),
    )


def draw_zip(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``zip_<estimand>.png``: each trial's interval, ranked by its distance from the truth.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables (``trials``, ``performance``) and the estimand.

    Returns
    -------
    Figure
        A panel per method that gives an interval or an SE, and scenario.
    """
    return plots_performance.zip_figure(
        zip_panels(plan, results, value),
        nominal=1 - plan.config["estimands"][value].get("alpha", 0.05),
        dpi=plan.config["figures"]["dpi"],
        title=f"Zip plot of the intervals for {value_label(value)}, ranked by |z|",
    )


def draw_estimates(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``estimates_<estimand>.png``: each method's estimates around the truth, per scenario.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables (``trials``) and the estimand.

    Returns
    -------
    Figure
        A panel per scenario, a violin and a box per method.
    """
    return plots_performance.estimates_figure(
        estimand_trials(plan, results.trials, value),
        title=f"Estimates of {value_label(value)} around the truth, per scenario",
        **estimand_settings(plan, value),
    )


def draw_nested_loop(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``nested_loop_<estimand>.png``: ``figures.nested_loop_measure`` in every scenario.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables (``performance``) and the estimand.

    Returns
    -------
    Figure
        The scenarios in the order of their factors (:func:`catalog.nested_order`).
    """
    config = plan.config
    measure = config["figures"]["nested_loop_measure"]
    order, factors = catalog.nested_order(config["scenarios"])
    return plots_performance.nested_loop_figure(
        performance_cells(plan, results.performance, value).get(measure, {}),
        measure=measure,
        scenarios=[plan.scenario_label(s) for s in order],
        factors=factors,
        alpha=config["estimands"][value].get("alpha", 0.05),
        second=plan.method_label(config["comparison"][1]),
        title=f"Nested-loop plot: {measure} of {value_label(value)} in every scenario",
        **estimand_settings(plan, value),
    )


def draw_value_difference(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``<value>_difference.png``: the per-trial differences in ``value``, a panel each scenario.

    Every scenario gets a panel; one in which a compared method never succeeded says so.

    Parameters
    ----------
    plan, results
        The study's plan and its tables.
    value
        The value, one that both compared methods give.

    Returns
    -------
    Figure
        The figure.
    """
    config = plan.config
    first, second = config["comparison"]
    differences = paired_differences(results.trials, first, second, value)
    rows = difference_rows(plan, results.summary, value)
    scenarios = list(config["scenarios"])
    return difference_figure(
        {plan.scenario_label(s): differences.get(s, np.array([], dtype=float)) for s in scenarios},
        {
            plan.scenario_label(s): tuple(indexed(rows, s, ("mean", "ci_low", "ci_high")))
            for s in scenarios
        },
        first=plan.method_label(first),
        second=plan.method_label(second),
        metric_label=value_label(value),
        dpi=config["figures"]["dpi"],
        no_success=no_success_labels(plan, results.trials),
        warnings_note=warnings_note(plan, results.summary),
        direction=direction(plan, value),
    )


def draw_difference_by_scenario(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``difference_by_scenario.png``: the mean paired difference and its CI, per value.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables, and None (one figure for the study).

    Returns
    -------
    Figure
        A panel per value both compared methods give, a row per scenario.
    """
    config = plan.config
    first, second = config["comparison"]
    columns = ("mean", "ci_low", "ci_high", "p_holm")
    forest = {}
    for shown in compared(plan):
        rows = difference_rows(plan, results.summary, shown)
        forest[value_label(shown)] = {
            plan.scenario_label(s): dict(zip(columns, indexed(rows, s, columns), strict=True))
            for s in config["scenarios"]
        }
    return difference_by_scenario_figure(
        forest,
        first=plan.method_label(first),
        second=plan.method_label(second),
        dpi=config["figures"]["dpi"],
        no_success=no_success_labels(plan, results.trials),
        warnings_note=warnings_note(plan, results.summary),
        directions={value_label(v): direction(plan, v) for v in compared(plan)},
    )


def draw_paired_scatter(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``paired_scatter.png``: each trial's value under one compared method against the other.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables, and None (one figure for the study).

    Returns
    -------
    Figure
        A panel per scenario, a row of them per value both compared methods give.
    """
    config = plan.config
    first, second = config["comparison"]
    pairs = {}
    for shown in compared(plan):
        scores = paired_scores(results.trials, first, second, shown)
        empty = pd.DataFrame(columns=[first, second], dtype=float)
        pairs[value_label(shown)] = {
            plan.scenario_label(s): (
                scores.get(s, empty)[second].to_numpy(dtype=float),
                scores.get(s, empty)[first].to_numpy(dtype=float),
            )
            for s in config["scenarios"]
        }
    return paired_scatter_figure(
        pairs,
        first=plan.method_label(first),
        second=plan.method_label(second),
        dpi=config["figures"]["dpi"],
        no_success=no_success_labels(plan, results.trials),
        warnings_note=warnings_note(plan, results.summary),
        directions={value_label(v): direction(plan, v) for v in compared(plan)},
    )


def draw_score_vs_time(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``score_vs_time.png``: each method's mean against its median time, per scenario.

    The value is the first that both compared methods give (else the study's first);
    methods that do not give it are left out.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables (``summary`` and ``timing_summary``), and None.

    Returns
    -------
    Figure
        The figure.
    """
    config, summary = plan.config, results.summary
    shown = first_value(plan)
    scores = summary[(summary["kind"] == "method") & (summary["metric"] == shown)]
    scores = scores.set_index(["scenario", "method"])
    times = results.timing_summary
    methods = [m for m in config["methods"] if shown in plan.method_values(m)]
    points = {
        plan.scenario_label(scenario): [
            CostPoint(
                plan.method_label(method),
                *indexed(times, (scenario, method), ("wall_median", "wall_q25", "wall_q75")),
                *indexed(scores, (scenario, method), ("mean", "ci_low", "ci_high")),
            )
            for method in methods
        ]
        for scenario in config["scenarios"]
    }
    fits = all(entry.get("estimator") for entry in config["methods"].values())
    return score_time_figure(
        points,
        metric_label=value_label(shown),
        dpi=config["figures"]["dpi"],
        direction=direction(plan, shown),
        per="fit" if fits else "run",
    )


def draw_stopping_rounds(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``stopping.png``: each scenario's precision against its trials, by round.

    The precision is the half-width of the compared difference's interval, or under a
    ``stopping.mcse`` rule the largest Monte Carlo SE of the measure over the methods.

    Parameters
    ----------
    plan, results, value
        The study's plan (its ``stopping`` section gives the target), its tables
        (``stopping``), and None.

    Returns
    -------
    Figure
        The figure.
    """
    config, table = plan.config, results.stopping
    stopping = config["stopping"]
    rule = column = "mcse" if "mcse" in stopping else "half_width"
    words = {}
    if rule == "mcse":
        words = {
            "precision": "MCSE",
            "measured": (
                f"of {stopping['measure']} of {stopping['estimand']}\n(largest over the methods)"
            ),
        }
    rounds = {}
    for scenario in config["scenarios"]:
        rows = table[table["scenario"] == scenario].sort_values("round")
        rounds[plan.scenario_label(scenario)] = (
            rows["trials"].tolist(),
            rows[column].astype(float).tolist(),
            str(rows["reason"].iloc[-1]),
        )
    return stopping_figure(rounds, target=stopping[rule], dpi=config["figures"]["dpi"], **words)


#: The drawing function of each catalog entry, by name: a missing one fails on import.
DRAWERS = {kind.draw: globals()[kind.draw] for kind in catalog.FIGURE_KINDS}


# What the rules call ------------------------------------------------------------------


def draw_figures(
    plan: StudyPlan,
    rule: str,
    *,
    inputs: Mapping[str, str | os.PathLike[str]],
    outputs: Mapping[str, str | os.PathLike[str]],
) -> None:
    """Write every figure that ``rule`` draws for the study.

    Parameters
    ----------
    plan
        The study's plan.
    rule
        One of :data:`simstudy.catalog.FIGURE_RULES`.
    inputs
        The rule's tables (see :class:`Results`). With ``example``, the example trial is
        checked first (:func:`check_example`).
    outputs
        Figure name -> where to write it, for each figure of ``catalog.figures(plan, rule)``.

    Raises
    ------
    ValueError
        If ``outputs`` does not name exactly those figures.
    simstudy.example.ReproducibilityError
        From :func:`check_example`.
    """
    figures = catalog.figures(plan, rule)
    names = [figure.name for figure in figures]
    if set(outputs) != set(names):
        raise ValueError(f"outputs {sorted(outputs)} must name the figures {names} of {rule}")
    results = Results(inputs)
    if "example" in inputs:
        check_example(plan, results)
    for figure in figures:
        plots.save(DRAWERS[figure.draw](plan, results, figure.value), outputs[figure.name])
