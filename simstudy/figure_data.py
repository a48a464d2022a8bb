"""What the figures read from the result tables, and how they name what they show.

:class:`Results` reads each table once, on first use; the functions here pick a study's
rows out of them for :mod:`simstudy.figures`. :func:`direction` says which way a value
is better, where that is known. The figures of performance measures read
``performance.csv`` (:func:`performance_cells`) and each trial's estimate and interval
(:func:`estimand_trials`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from statistics import NormalDist

import numpy as np
import pandas as pd

from simstudy import catalog
from simstudy.example import Example, read_example
from simstudy.metrics import metric_column
from simstudy.performance import MEASURES, estimand_columns, true_value
from simstudy.plan import StudyPlan
from simstudy.plots import warnings_line
from simstudy.plots_performance import Trials, ZipPanel
from simstudy.summary import comparison_label, paired_scores, read_trials
from simstudy.tables import STATUS_OK

#: Values known to be better when higher, or lower: the built-in metrics. A metric given
#: by dotted path goes by scikit-learn's naming (``*_score`` higher, ``*_error`` and
#: ``*_loss`` lower); a method function's value has no better side.
HIGHER_IS_BETTER = frozenset({"ari", "ami", "nmi", "accuracy", "balanced_accuracy", "f1", "r2"})
LOWER_IS_BETTER = frozenset({"mse", "mae"})


def direction(plan: StudyPlan, value: str) -> int:
    """Which way ``value`` is better: 1 higher, -1 lower, 0 neither (see above).

    Parameters
    ----------
    plan
        The study's plan.
    value
        One of its value columns.

    Returns
    -------
    int
        1, -1 or 0, as :func:`simstudy.plots.side_labels` takes it.
    """
    config = plan.config
    estimators = any(entry.get("estimator") for entry in config["methods"].values())
    if not estimators or value not in {metric_column(m) for m in config["metrics"]}:
        return 0
    if value in HIGHER_IS_BETTER or value.endswith("_score"):
        return 1
    return -1 if value in LOWER_IS_BETTER or value.endswith(("_error", "_loss")) else 0


class Results:
    """The result tables that figures are drawn from, each read once, on first use.

    Parameters
    ----------
    paths
        Table name -> file: ``trials``, ``summary``, ``example``, ``timing_summary``,
        ``stopping``, ``performance`` (those a rule has; other names are ignored).
    """

    def __init__(self, paths: Mapping[str, str | os.PathLike[str]]) -> None:
        self.paths = dict(paths)

    @cached_property
    def trials(self) -> pd.DataFrame:
        """``trials.csv``, read exactly (:func:`simstudy.summary.read_trials`)."""
        return read_trials(self.paths["trials"])

    @cached_property
    def summary(self) -> pd.DataFrame:
        """``summary.csv``."""
        return read_summary(self.paths["summary"])

    @cached_property
    def example(self) -> Example:
        """The example trial that rule ``run_example`` kept."""
        return read_example(self.paths["example"])

    @cached_property
    def timing_summary(self) -> pd.DataFrame:
        """``timing_summary.csv``, indexed by scenario and method."""
        table = pd.read_csv(
            self.paths["timing_summary"],
            keep_default_na=False,
            dtype={"scenario": str, "method": str},
        )
        return table.set_index(["scenario", "method"])

    @cached_property
    def stopping(self) -> pd.DataFrame:
        """``stopping.csv``."""
        return pd.read_csv(self.paths["stopping"], keep_default_na=False, na_values=[""])

    @cached_property
    def performance(self) -> pd.DataFrame:
        """``performance.csv``: names as text, ``value`` and ``mcse`` as floats."""
        names = dict.fromkeys(("scenario", "method", "estimand", "measure"), str)
        table = pd.read_csv(
            self.paths["performance"], keep_default_na=False, na_values=[""], dtype=names
        )
        return table.astype({"value": float, "mcse": float})


def read_summary(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read ``summary.csv``, its names as text and empty cells as NaN.

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    DataFrame
        Its rows.
    """
    names = dict.fromkeys(("kind", "scenario", "metric", "method"), str)
    return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype=names)


def paired_differences(trials, first: str, second: str, metric: str) -> dict[str, np.ndarray]:
    """Per scenario, ``first - second`` in ``metric`` over trials where both ran.

    Parameters
    ----------
    trials
        The trials table (as :func:`simstudy.summary.read_trials` reads it).
    first, second
        Names of the compared methods.
    metric
        The value's column.

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


def no_success_labels(plan: StudyPlan, trials) -> dict[str, list[str]]:
    """Per scenario, the compared methods without a successful trial there, as labels.

    Parameters
    ----------
    plan
        The study's plan.
    trials
        The trials table.

    Returns
    -------
    dict
        Scenario label -> method labels, for the scenarios that have any.
    """
    config = plan.config
    missing = methods_without_success(trials, config["scenarios"], config["comparison"])
    return {
        plan.scenario_label(s): [plan.method_label(m) for m in methods]
        for s, methods in missing.items()
        if methods
    }


def difference_rows(plan: StudyPlan, summary: pd.DataFrame, value: str) -> pd.DataFrame:
    """The summary's difference rows of the comparison in ``value``.

    Parameters
    ----------
    plan
        The study's plan.
    summary
        The summary table (:func:`read_summary`).
    value
        A value both compared methods give.

    Returns
    -------
    DataFrame
        The rows, indexed by scenario.
    """
    label = comparison_label(*plan.config["comparison"])
    chosen = (summary["kind"] == "difference") & (summary["method"] == label)
    return summary[chosen & (summary["metric"] == value)].set_index("scenario")


def indexed(table: pd.DataFrame, key, columns: tuple[str, ...]) -> list[float]:
    """The ``columns`` of ``table``'s row ``key``, as floats.

    Parameters
    ----------
    table
        A table with a (possibly multi-level) index.
    key
        The row's index.
    columns
        The columns to read.

    Returns
    -------
    list of float
        Their values; NaN each where there is no such row.
    """
    if key not in table.index:
        return [np.nan] * len(columns)
    return [float(table.loc[key, column]) for column in columns]


def compared(plan: StudyPlan) -> list[str]:
    """The values both compared methods give, in the study's order.

    Parameters
    ----------
    plan
        The study's plan.

    Returns
    -------
    list of str
        The values the difference figures show, one by one.
    """
    return list(catalog.study_kind(plan).compared)


def first_value(plan: StudyPlan) -> str:
    """The value a figure of one value shows: the first both compared methods give.

    Parameters
    ----------
    plan
        The study's plan.

    Returns
    -------
    str
        That value; the study's first value if the two give none in common.
    """
    return (compared(plan) or plan.values)[0]  # noqa: PD011 - a list of names


def warnings_note(
    plan: StudyPlan, summary: str | os.PathLike[str] | pd.DataFrame, value: str | None = None
) -> str:
    """How many trials each compared method warned in, over all scenarios.

    Parameters
    ----------
    plan
        The study's plan.
    summary
        ``summary.csv`` (or its table): its method rows of ``value`` give ``n_warned``
        and the trials (``n + n_failed``).
    value
        A value both compared methods give; the first one by default. Every value's
        rows count the same trials.

    Returns
    -------
    str
        The line the difference figures show (:func:`simstudy.plots.warnings_line`).
    """
    table = summary if isinstance(summary, pd.DataFrame) else read_summary(summary)
    value = value or first_value(plan)
    rows = table[(table["kind"] == "method") & (table["metric"] == value)]
    counts = {}
    for method in plan.config["comparison"]:
        mine = rows[rows["method"] == method]
        counts[plan.method_label(method)] = (
            int(mine["n_warned"].sum()),
            int((mine["n"] + mine["n_failed"]).sum()),
        )
    return warnings_line(counts)


# The figures of performance measures ---------------------------------------------------


def estimand_settings(plan: StudyPlan, estimand: str) -> dict:
    """What every figure of an estimand is given: the labels of its methods, and ``dpi``.

    Parameters
    ----------
    plan
        The study's plan.
    estimand
        One of its estimands.

    Returns
    -------
    dict
        ``methods``: the labels of the methods that give it, in config order; ``dpi``.
    """
    methods = [m for m in plan.config["methods"] if estimand in plan.method_values(m)]
    return {
        "methods": [plan.method_label(m) for m in methods],
        "dpi": plan.config["figures"]["dpi"],
    }


def performance_cells(
    plan: StudyPlan, table: pd.DataFrame, estimand: str
) -> dict[str, dict[str, dict[str, tuple[float, float, float]]]]:
    """One estimand's measures from ``performance.csv``, by measure, scenario and method label.

    Parameters
    ----------
    plan
        The study's plan.
    table
        ``performance.csv`` (:attr:`Results.performance`).
    estimand
        One of the study's estimands.

    Returns
    -------
    dict
        Measure (in the order of :data:`~simstudy.performance.MEASURES`, ``n_missing``
        included) -> scenario label (config order) -> method label (config order) ->
        ``(value, mcse, n)``, for the rows there are.
    """
    rows = table[table["estimand"] == estimand]
    found: dict[str, dict[str, dict[str, tuple[float, float, float]]]] = {}
    for measure in sorted(set(rows["measure"]), key=MEASURES.index):
        mine = rows[rows["measure"] == measure].set_index(["scenario", "method"])
        found[measure] = {
            plan.scenario_label(s): {
                plan.method_label(m): tuple(indexed(mine, (s, m), ("value", "mcse", "n")))
                for m in plan.config["methods"]
                if (s, m) in mine.index
            }
            for s in plan.config["scenarios"]
        }
    return found


def missing_note(cells: Mapping[str, Mapping[str, Mapping]]) -> str:
    """The trials per scenario, and which methods lack an estimate in how many of them.

    Parameters
    ----------
    cells
        :func:`performance_cells` of one estimand: its ``n_missing`` rows (a
        scenario's trials are their ``n`` plus their value) are read.

    Returns
    -------
    str
        Such as ``"1000 trials per scenario; no estimate missing"``, or the methods and
        scenarios without an estimate in some trials.
    """
    missing = cells.get("n_missing", {})
    counts = {int(c[2] + c[0]) for by_method in missing.values() for c in by_method.values()}
    trials = f"{counts.pop()} trials per scenario" if len(counts) == 1 else "trials vary"
    lacking = [
        f"{m} {int(cell[0])} ({s})"
        for s, by_method in missing.items()
        for m, cell in by_method.items()
        if cell[0] > 0
    ]
    return f"{trials}; " + (
        "trials without an estimate: " + ", ".join(lacking) if lacking else "no estimate missing"
    )


def _intervals(data: pd.DataFrame, truth: float, alpha: float) -> Trials:
    """The trials' intervals, as :func:`simstudy.performance` forms them."""
    estimates = data["estimate"].to_numpy(dtype=float)
    if "lower" in data and "upper" in data:
        lower, upper = data["lower"].to_numpy(float), data["upper"].to_numpy(float)
    elif "se" in data:
        z = NormalDist().inv_cdf(1 - alpha / 2)
        lower = estimates - z * data["se"].to_numpy(float)
        upper = estimates + z * data["se"].to_numpy(float)
    else:
        return Trials(estimates, truth)
    centre, half = (lower + upper) / 2, (upper - lower) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        distance = np.where(centre == truth, 0.0, np.abs(centre - truth) / half)
    return Trials(estimates, truth, lower, upper, distance)


def estimand_trials(
    plan: StudyPlan, trials: pd.DataFrame, estimand: str
) -> dict[str, dict[str, Trials]]:
    """Each method's estimates of ``estimand``, with their intervals, per scenario.

    A trial counts as it does in ``performance.csv``: its row has status ``ok`` and a
    number in the estimate and in each of the SE, limits and p-value its method gives.
    The interval is the method's own (both limits), else ``estimate ± z se`` with ``z``
    the normal quantile at ``1 - alpha / 2``.

    Parameters
    ----------
    plan
        The study's plan: its ``estimands`` config and each method's values.
    trials
        ``trials.csv`` (:attr:`Results.trials`).
    estimand
        One of the study's estimands.

    Returns
    -------
    dict
        Scenario label (config order) -> label of a method giving the estimand (config
        order) -> :class:`~simstudy.plots_performance.Trials`.
    """
    config = plan.config
    entry = config["estimands"][estimand]
    columns = estimand_columns(estimand, entry)
    found: dict[str, dict[str, Trials]] = {}
    for scenario, scenario_entry in config["scenarios"].items():
        truth = true_value(entry, scenario_entry["params"])
        found[plan.scenario_label(scenario)] = mine = {}
        for method in config["methods"]:
            gives = plan.method_values(method)
            if estimand not in gives:
                continue
            wanted = {"estimate": estimand} | {k: c for k, c in columns.items() if c in gives}
            rows = trials[(trials["scenario"] == scenario) & (trials["method"] == method)]
            data = pd.DataFrame({k: rows[c].to_numpy(float) for k, c in wanted.items()})
            usable = (rows["status"].to_numpy() == STATUS_OK) & data.notna().all(axis=1)
            mine[plan.method_label(method)] = _intervals(
                data[usable.to_numpy()], truth, entry.get("alpha", 0.05)
            )
    return found


def zip_panels(plan: StudyPlan, results: Results, estimand: str) -> list[ZipPanel]:
    """The zip plot's panels: each method with an interval or an SE, in each scenario.

    Parameters
    ----------
    plan
        The study's plan.
    results
        Its tables: ``trials`` (:func:`estimand_trials`) and ``performance`` (the
        coverage and its MCSE).
    estimand
        One of the study's estimands.

    Returns
    -------
    list of ZipPanel
        Method by method (config order), scenario by scenario, with labels.
    """
    found = estimand_trials(plan, results.trials, estimand)
    cover = performance_cells(plan, results.performance, estimand).get("cover", {})
    return [
        ZipPanel(m, s, found[s][m], *cover.get(s, {}).get(m, (np.nan,) * 2)[:2])
        for m in (plan.method_label(m) for m in plan.config["methods"])
        for s in found
        if m in found[s] and found[s][m].lower is not None
    ]
