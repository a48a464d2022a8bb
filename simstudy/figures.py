"""Draw the study's figures from its plan and result tables.

The example figures draw the example trial that rule ``run_example`` kept (see
:mod:`simstudy.example`); the scores in their titles must equal that trial's rows in
``trials.csv``, which makes every figure build a small reproducibility check. Nothing
here runs a trial.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from simstudy import plots
from simstudy.example import check_against_rows, read_example
from simstudy.layout import FIGURES
from simstudy.metrics import METRIC_LABELS
from simstudy.plan import StudyPlan
from simstudy.summary import comparison_label, paired_scores, read_trials
from simstudy.tables import STATUS_OK

#: The metric that ``ari_difference.png`` shows.
DIFFERENCE_METRIC = "ari"


def draw_examples(
    plan: StudyPlan,
    *,
    example: str | os.PathLike[str],
    trials: str | os.PathLike[str],
    data_png: str | os.PathLike[str],
    clusterings_png: str | os.PathLike[str],
) -> None:
    """Write ``example_data.png`` and ``example_clusterings.png`` for the example trial.

    A compared method that failed in that trial is drawn as an empty panel saying so.

    Parameters
    ----------
    plan
        The study's plan.
    example
        The example trial's file, as rule ``run_example`` wrote it.
    trials
        ``trials.csv``; the example's scores must equal its rows there.
    data_png, clusterings_png
        Where to write the two figures.

    Raises
    ------
    simstudy.example.ReproducibilityError
        If the example's scores differ from the trial's rows in ``trials``.
    """
    config = plan.config
    outcome = read_example(example)
    check_against_rows(outcome, trials, list(config["comparison"]))
    scenario = plan.scenario_label(plan.example.scenario)
    trial = plan.example.trial
    dpi = config["figures"]["dpi"]
    plots.save(
        plots.example_data_figure(outcome.X, outcome.y, scenario=scenario, trial=trial, dpi=dpi),
        data_png,
    )
    names = {method: plan.method_label(method) for method in config["comparison"]}
    scores = {m: outcome.scores.get(m, {}).get(DIFFERENCE_METRIC) for m in config["comparison"]}
    plots.save(
        plots.example_clusterings_figure(
            outcome.X,
            outcome.y,
            {names[m]: outcome.labels.get(m) for m in config["comparison"]},
            {names[m]: scores[m] for m in config["comparison"]},
            scenario=scenario,
            trial=trial,
            metric_label=METRIC_LABELS[DIFFERENCE_METRIC],
            dpi=dpi,
        ),
        clusterings_png,
    )


def paired_differences(trials, first: str, second: str, metric: str) -> dict[str, np.ndarray]:
    """Per scenario, ``first - second`` in ``metric`` over trials where both ran.

    Parameters
    ----------
    trials
        The trials table (as :func:`simstudy.summary.read_trials` reads it).
    first, second
        Names of the compared methods.
    metric
        The metric's column.

    Returns
    -------
    dict
        Scenario name -> the differences, in trial order (see
        :func:`simstudy.summary.paired_scores`); empty where the two never ran in the
        same trial (for example because one of them failed in every trial).
    """
    return {
        scenario: (both[first] - both[second]).to_numpy(dtype=float)
        for scenario, both in paired_scores(trials, first, second, metric).items()
    }


def methods_without_success(trials, scenarios, methods) -> dict[str, list[str]]:
    """Per scenario, those of ``methods`` that did not succeed in a single trial.

    Parameters
    ----------
    trials
        The trials table (as :func:`simstudy.summary.read_trials` reads it).
    scenarios, methods
        Names of the scenarios to look at and of the methods to look for.

    Returns
    -------
    dict
        Scenario name -> the names of the methods (in the order given) without a row of
        status ``ok`` in that scenario, for every scenario of ``scenarios``.
    """
    ran = trials[trials["status"] == STATUS_OK]
    succeeded = set(zip(ran["scenario"], ran["method"], strict=True))
    return {s: [m for m in methods if (s, m) not in succeeded] for s in scenarios}


def _no_success_labels(plan: StudyPlan, trials) -> dict[str, list[str]]:
    """Scenario label -> labels of the compared methods without a successful trial there."""
    config = plan.config
    missing = methods_without_success(trials, config["scenarios"], config["comparison"])
    return {
        plan.scenario_label(s): [plan.method_label(m) for m in methods]
        for s, methods in missing.items()
        if methods
    }


def _difference_rows(summary: str | os.PathLike[str], comparison: str) -> pd.DataFrame:
    table = pd.read_csv(summary, keep_default_na=False, na_values=[""])
    return table[(table["kind"] == "difference") & (table["method"] == comparison)]


def _summary_values(rows: pd.DataFrame, scenario: str, columns: tuple[str, ...]) -> list[float]:
    """The ``columns`` of ``rows`` (indexed by scenario) for ``scenario``; NaN if absent."""
    if scenario not in rows.index:
        return [np.nan] * len(columns)
    return [float(rows.loc[scenario, column]) for column in columns]


def warnings_note(plan: StudyPlan, summary: str | os.PathLike[str]) -> str:
    """How many trials each compared method warned in, over all scenarios.

    Parameters
    ----------
    plan
        The study's plan.
    summary
        ``summary.csv``: its method rows of :data:`DIFFERENCE_METRIC` give ``n_warned``
        and the trials (``n + n_failed``).

    Returns
    -------
    str
        The line the difference figures show (:func:`simstudy.plots.warnings_line`).
    """
    table = pd.read_csv(summary, keep_default_na=False, na_values=[""])
    rows = table[(table["kind"] == "method") & (table["metric"] == DIFFERENCE_METRIC)]
    counts = {}
    for method in plan.config["comparison"]:
        mine = rows[rows["method"] == method]
        counts[plan.method_label(method)] = (
            int(mine["n_warned"].sum()),
            int((mine["n"] + mine["n_failed"]).sum()),
        )
    return plots.warnings_line(counts)


def draw_difference(
    plan: StudyPlan,
    *,
    trials: str | os.PathLike[str],
    summary: str | os.PathLike[str],
    output: str | os.PathLike[str],
) -> None:
    """Write ``ari_difference.png``: the per-trial ARI differences, one panel per scenario.

    Every scenario gets a panel; one in which a compared method never succeeded says so.

    Parameters
    ----------
    plan
        The study's plan.
    trials, summary
        ``trials.csv`` and ``summary.csv``.
    output
        Where to write the figure.
    """
    config = plan.config
    first, second = config["comparison"]
    table = read_trials(trials)
    differences = paired_differences(table, first, second, DIFFERENCE_METRIC)
    rows = _difference_rows(summary, comparison_label(first, second))
    rows = rows[rows["metric"] == DIFFERENCE_METRIC].set_index("scenario")
    scenarios = list(config["scenarios"])
    plots.save(
        plots.difference_figure(
            {
                plan.scenario_label(s): differences.get(s, np.array([], dtype=float))
                for s in scenarios
            },
            {
                plan.scenario_label(s): tuple(
                    _summary_values(rows, s, ("mean", "ci_low", "ci_high"))
                )
                for s in scenarios
            },
            first=plan.method_label(first),
            second=plan.method_label(second),
            metric_label=METRIC_LABELS[DIFFERENCE_METRIC],
            dpi=config["figures"]["dpi"],
            no_success=_no_success_labels(plan, table),
            warnings_note=warnings_note(plan, summary),
        ),
        output,
    )


def draw_design(
    plan: StudyPlan,
    *,
    trials: str | os.PathLike[str],
    summary: str | os.PathLike[str],
    by_scenario: str | os.PathLike[str],
    paired: str | os.PathLike[str],
) -> None:
    """Write the design figures: the difference by scenario, and the paired scatter.

    Where a compared method never succeeded in a scenario, both figures say so.

    Parameters
    ----------
    plan
        The study's plan.
    trials, summary
        ``trials.csv`` and ``summary.csv``.
    by_scenario, paired
        Where to write ``difference_by_scenario.png`` and ``paired_scatter.png``.
    """
    config = plan.config
    first, second = config["comparison"]
    names = {"first": plan.method_label(first), "second": plan.method_label(second)}
    dpi = config["figures"]["dpi"]
    table = read_trials(trials)
    no_success = _no_success_labels(plan, table)
    note = warnings_note(plan, summary)
    rows = _difference_rows(summary, comparison_label(first, second))
    forest = {}
    columns = ("mean", "ci_low", "ci_high", "p_holm")
    for metric in config["metrics"]:
        metric_rows = rows[rows["metric"] == metric].set_index("scenario")
        forest[METRIC_LABELS[metric]] = {
            plan.scenario_label(s): dict(
                zip(columns, _summary_values(metric_rows, s, columns), strict=True)
            )
            for s in config["scenarios"]
        }
    plots.save(
        plots.difference_by_scenario_figure(
            forest, **names, dpi=dpi, no_success=no_success, warnings_note=note
        ),
        by_scenario,
    )

    scores = paired_scores(table, first, second, DIFFERENCE_METRIC)
    pairs = {}
    for scenario in config["scenarios"]:
        both = scores.get(scenario, pd.DataFrame(columns=[first, second], dtype=float))
        pairs[plan.scenario_label(scenario)] = (
            both[second].to_numpy(dtype=float),
            both[first].to_numpy(dtype=float),
        )
    plots.save(
        plots.paired_scatter_figure(
            pairs,
            **names,
            metric_label=METRIC_LABELS[DIFFERENCE_METRIC],
            dpi=dpi,
            no_success=no_success,
            warnings_note=note,
        ),
        paired,
    )


#: The figures :func:`draw_all` writes, by the key its ``outputs`` mapping uses.
FIGURE_NAMES = tuple(FIGURES)


def draw_all(
    plan: StudyPlan,
    *,
    example: str | os.PathLike[str],
    trials: str | os.PathLike[str],
    summary: str | os.PathLike[str],
    outputs: Mapping[str, str | os.PathLike[str]],
) -> None:
    """Write every figure; ``outputs`` maps each name of :data:`FIGURE_NAMES` to a path.

    Parameters
    ----------
    plan
        The study's plan.
    example
        The example trial's file (rule ``run_example``).
    trials, summary
        ``trials.csv`` and ``summary.csv``.
    outputs
        Figure name -> where to write it.

    Raises
    ------
    ValueError
        If ``outputs`` does not name exactly the figures of :data:`FIGURE_NAMES`.
    """
    if set(outputs) != set(FIGURE_NAMES):
        raise ValueError(f"outputs {sorted(outputs)} must name the figures {FIGURE_NAMES}")
    draw_examples(
        plan,
        example=example,
        trials=trials,
        data_png=outputs["example_data"],
        clusterings_png=outputs["example_clusterings"],
    )
    draw_difference(plan, trials=trials, summary=summary, output=outputs["ari_difference"])
    draw_design(
        plan,
        trials=trials,
        summary=summary,
        by_scenario=outputs["difference_by_scenario"],
        paired=outputs["paired_scatter"],
    )


def draw_timings(
    plan: StudyPlan,
    *,
    summary: str | os.PathLike[str],
    timing_summary: str | os.PathLike[str],
    output: str | os.PathLike[str],
) -> None:
    """Write ``score_vs_time.png``: mean ARI against median fit time, per scenario.

    Parameters
    ----------
    plan
        The study's plan.
    summary, timing_summary
        ``summary.csv`` (the mean score and its CI) and ``timing_summary.csv`` (the
        median and quartiles of the wall seconds).
    output
        Where to write the figure.
    """
    config = plan.config
    scores = pd.read_csv(summary, keep_default_na=False, na_values=[""])
    scores = scores[(scores["kind"] == "method") & (scores["metric"] == DIFFERENCE_METRIC)]
    scores = scores.set_index(["scenario", "method"])
    times = pd.read_csv(
        timing_summary, keep_default_na=False, dtype={"scenario": str, "method": str}
    )
    times = times.set_index(["scenario", "method"])
    points = {}
    for scenario in config["scenarios"]:
        points[plan.scenario_label(scenario)] = [
            plots.CostPoint(
                plan.method_label(method),
                *_indexed(times, (scenario, method), ("wall_median", "wall_q25", "wall_q75")),
                *_indexed(scores, (scenario, method), ("mean", "ci_low", "ci_high")),
            )
            for method in config["methods"]
        ]
    plots.save(
        plots.score_time_figure(
            points, metric_label=METRIC_LABELS[DIFFERENCE_METRIC], dpi=config["figures"]["dpi"]
        ),
        output,
    )


def _indexed(table: pd.DataFrame, key: tuple[str, str], columns: tuple[str, ...]) -> list[float]:
    """The ``columns`` of ``table``'s row ``key``; NaN where there is no such row."""
    if key not in table.index:
        return [np.nan] * len(columns)
    return [float(table.loc[key, column]) for column in columns]


def draw_stopping(
    plan: StudyPlan,
    *,
    stopping: str | os.PathLike[str],
    output: str | os.PathLike[str],
) -> None:
    """Write ``stopping.png``: each scenario's half-width against its trials, by round.

    Parameters
    ----------
    plan
        The study's plan; its ``stopping`` section gives the target.
    stopping
        ``stopping.csv``.
    output
        Where to write the figure.
    """
    config = plan.config
    table = pd.read_csv(stopping, keep_default_na=False, na_values=[""])
    rounds = {}
    for scenario in config["scenarios"]:
        rows = table[table["scenario"] == scenario].sort_values("round")
        rounds[plan.scenario_label(scenario)] = (
            rows["trials"].tolist(),
            rows["half_width"].astype(float).tolist(),
            str(rows["reason"].iloc[-1]),
        )
    plots.save(
        plots.stopping_figure(
            rounds, target=config["stopping"]["half_width"], dpi=config["figures"]["dpi"]
        ),
        output,
    )
