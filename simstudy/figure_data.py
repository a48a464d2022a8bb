"""What the figures read from the result tables, and how they name what they show.

:class:`Results` reads each table once, on first use; the functions here pick a study's
rows out of them for :mod:`simstudy.figures`. :func:`direction` says which way a value
is better, where that is known.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property

import numpy as np
import pandas as pd

from simstudy import catalog
from simstudy.example import Example, read_example
from simstudy.metrics import metric_column
from simstudy.plan import StudyPlan
from simstudy.plots import warnings_line
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
        ``stopping`` (those a rule has; other names are ignored).
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
