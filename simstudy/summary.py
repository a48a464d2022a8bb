"""Summarise a study: per-method means and the paired comparison of two methods.

Statistics, per scenario and metric:

- for each method: the number of trials that ran (``n``), that failed (``n_failed``)
  and in which it raised at least one warning (``n_warned``, failed trials included), the
  mean, the standard deviation, the Monte Carlo standard error of the
  mean (``sd / sqrt(n)``) and a 95% Student-t confidence interval for the mean;
- for the comparison A - B, over the trials where both ran: the mean paired difference
  with its Monte Carlo standard error and 95% Student-t confidence interval; the paired
  trials in which A or B warned (``n_warned``); wins (A
  scored higher), ties (equal scores) and losses; the two-sided Wilcoxon signed-rank
  p-value (zero differences dropped, ``zero_method="wilcox"``); and that p-value adjusted
  for the number of scenarios with Holm's step-down method, within each metric.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from simstudy.integrity import write_table
from simstudy.tables import KEY_COLUMNS, STATUS_OK, TRAILING_COLUMNS

CI_LEVEL = 0.95

SUMMARY_COLUMNS = (
    "kind",
    "scenario",
    "metric",
    "method",
    "n",
    "n_failed",
    "n_warned",
    "mean",
    "sd",
    "mcse",
    "ci_level",
    "ci_low",
    "ci_high",
    "wins",
    "ties",
    "losses",
    "p_wilcoxon",
    "p_holm",
)


def read_trials(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read ``trials.csv`` exactly.

    Seeds stay text (they exceed 64 bits) and metric values are parsed by Python's
    ``float``, which reads the shortest round-trip text back to the very same double
    whatever the pandas version. Empty metric cells (failed trials) become NaN.

    Parameters
    ----------
    path
        The ``trials.csv`` file.

    Returns
    -------
    DataFrame
        One row per data row of the file: ``trial`` as int, the metric columns (those between
        :data:`~simstudy.tables.KEY_COLUMNS` and :data:`~simstudy.tables.TRAILING_COLUMNS`)
        as float, ``trial`` and ``n_warnings`` as int, every other column as text.
    """
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table["trial"] = table["trial"].astype(int)
    table["n_warnings"] = table["n_warnings"].astype(int)
    for column in table.columns[len(KEY_COLUMNS) : -len(TRAILING_COLUMNS)]:
        table[column] = [float(text) if text else math.nan for text in table[column]]
    return table


def comparison_label(first: str, second: str) -> str:
    """How the summary names the paired difference ``first - second``.

    Parameters
    ----------
    first, second
        Names of the compared methods.

    Returns
    -------
    str
        ``"<first> - <second>"``, the ``method`` of the summary's difference rows.
    """
    return f"{first} - {second}"


def paired_scores(
    trials: pd.DataFrame, first: str, second: str, metric: str
) -> dict[str, pd.DataFrame]:
    """Per scenario, the scores of ``first`` and ``second`` in the trials where both ran.

    This pairing is what the summary's differences and the difference figures use.

    Parameters
    ----------
    trials
        The trials table, as :func:`read_trials` reads it.
    first, second
        Names of the compared methods.
    metric
        The metric's column.

    Returns
    -------
    dict
        Scenario name (sorted) -> a table indexed by trial, in trial order, with the
        columns ``first`` and ``second``: one row per trial in which both have status
        ``ok``. Every scenario of ``trials`` is there, with no rows where the two never
        ran in the same trial.
    """
    compared = trials[trials["method"].isin([first, second])]
    paired = {}
    for scenario in sorted(trials["scenario"].unique()):
        rows = compared[compared["scenario"] == scenario]
        status = rows.pivot(index="trial", columns="method", values="status")
        scores = rows.pivot(index="trial", columns="method", values=metric)
        status = status.reindex(columns=[first, second])
        both = (status == STATUS_OK).all(axis=1)
        paired[scenario] = scores.reindex(columns=[first, second])[both]
    return paired


def warned_trials(trials: pd.DataFrame, methods: Sequence[str]) -> dict[str, set[int]]:
    """Per scenario, the trials in which any of ``methods`` raised a warning.

    Parameters
    ----------
    trials
        The trials table, as :func:`read_trials` reads it.
    methods
        The method names to look at.

    Returns
    -------
    dict
        Scenario name -> the trial indices; scenarios without such a trial are left out.
    """
    rows = trials[trials["method"].isin(list(methods)) & (trials["n_warnings"] > 0)]
    return {scenario: set(group["trial"].tolist()) for scenario, group in rows.groupby("scenario")}


def describe(values: np.ndarray, level: float = CI_LEVEL) -> dict[str, float]:
    """Mean, standard deviation, Monte Carlo standard error and t-interval of ``values``.

    With fewer than two values the spread and interval are undefined (NaN); with none,
    the mean is NaN too.

    Parameters
    ----------
    values
        The sample, read as floats.
    level
        Confidence level of the Student-t interval for the mean.

    Returns
    -------
    dict of str to float
        ``mean``, ``sd`` (with ``ddof=1``), ``mcse`` (``sd / sqrt(n)``), ``ci_low`` and
        ``ci_high``.
    """
    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = float(values.mean()) if n else math.nan
    if n < 2:
        return {
            "mean": mean,
            "sd": math.nan,
            "mcse": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
        }
    sd = float(values.std(ddof=1))
    mcse = sd / math.sqrt(n)
    half_width = t_quantile(n, level) * mcse
    return {
        "mean": mean,
        "sd": sd,
        "mcse": mcse,
        "ci_low": mean - half_width,
        "ci_high": mean + half_width,
    }


def t_quantile(n: int, level: float = CI_LEVEL) -> float:
    """The Student-t quantile that a two-sided ``level`` interval of a mean of ``n`` uses.

    Parameters
    ----------
    n
        The sample size, at least 2.
    level
        The confidence level.

    Returns
    -------
    float
        ``t.ppf(0.5 + level / 2, df=n - 1)``; the half-width is this times the MCSE.
    """
    from scipy import stats  # here, not at the top: the figure rule reads tables only

    return float(stats.t.ppf(0.5 + level / 2, df=n - 1))


def wilcoxon_p(differences: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value; NaN when no difference is non-zero.

    Parameters
    ----------
    differences
        The paired differences; zeros are dropped (``zero_method="wilcox"``).

    Returns
    -------
    float
        The p-value, or NaN when there are no differences or all are zero.
    """
    differences = np.asarray(differences, dtype=float)
    if not np.any(differences != 0):
        return math.nan
    from scipy import stats

    return float(stats.wilcoxon(differences, zero_method="wilcox").pvalue)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment; NaN entries stay NaN and do not count as tests.

    Parameters
    ----------
    p_values
        The unadjusted p-values of a family of tests.

    Returns
    -------
    list of float
        The adjusted p-values, in the order of ``p_values``, capped at 1.
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(len(p), math.nan)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()


def summarize(
    trials: pd.DataFrame,
    *,
    values: Sequence[str],
    comparison: Sequence[str],
    method_values: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Compute the summary table of a study (see the module docstring).

    Parameters
    ----------
    trials
        The rows of ``trials.csv``.
    values
        Named values to summarise (columns of ``trials.csv``; summary.csv's ``metric``).
    comparison
        ``[A, B]``: the difference A - B is compared.
    method_values
        Method -> the values it gives; a method is summarised, and a difference taken,
        only on values it gives. By default every method gives every value.

    Returns
    -------
    DataFrame
        One row per (scenario, metric, method) with ``kind == "method"``, then one per
        (scenario, metric) with ``kind == "difference"``; columns :data:`SUMMARY_COLUMNS`.

    Raises
    ------
    ValueError
        If a compared method has no rows.
    """
    first, second = comparison
    for method in comparison:
        if not (trials["method"] == method).any():
            raise ValueError(f"comparison method {method!r} has no rows in the trials table")

    def gives(method: str, value: str) -> bool:
        return method_values is None or value in method_values[method]

    metrics = [v for v in values if gives(first, v) and gives(second, v)]
    rows = _method_rows(trials, values, gives) + _difference_rows(trials, comparison, metrics)
    table = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    table["ci_level"] = CI_LEVEL
    return table


def _method_rows(
    trials: pd.DataFrame, values: Sequence[str], gives: Callable[[str, str], bool]
) -> list[dict[str, Any]]:
    """The summary's rows of each method: by scenario, then value, then method."""
    ok = trials["status"] == STATUS_OK
    rows: list[dict[str, Any]] = []
    for scenario, scenario_rows in trials.groupby("scenario", sort=True):
        for metric in values:
            for method, method_rows in scenario_rows.groupby("method", sort=True):
                if not gives(method, metric):
                    continue
                ran = method_rows[ok.loc[method_rows.index]]
                rows.append(
                    {
                        "kind": "method",
                        "scenario": scenario,
                        "metric": metric,
                        "method": method,
                        "n": len(ran),
                        "n_failed": len(method_rows) - len(ran),
                        "n_warned": int((method_rows["n_warnings"] > 0).sum()),
                        **describe(ran[metric].to_numpy()),
                    }
                )
    return rows


def _difference_rows(
    trials: pd.DataFrame, comparison: Sequence[str], metrics: Sequence[str]
) -> list[dict[str, Any]]:
    """The summary's rows of the compared difference: by scenario, then value.

    Holm's adjustment runs over the scenarios of each value.
    """
    first, second = comparison
    differences = []
    n_trials = trials.groupby("scenario")["trial"].nunique()
    pairs = {metric: paired_scores(trials, first, second, metric) for metric in metrics}
    warned = warned_trials(trials, comparison)
    for scenario in sorted(trials["scenario"].unique()):
        for metric in metrics:
            both = pairs[metric][scenario]
            d = (both[first] - both[second]).to_numpy(dtype=float)
            differences.append(
                {
                    "kind": "difference",
                    "scenario": scenario,
                    "metric": metric,
                    "method": comparison_label(first, second),
                    "n": len(d),
                    "n_failed": int(n_trials[scenario]) - len(d),
                    "n_warned": len(warned.get(scenario, set()) & set(both.index)),
                    **describe(d),
                    "wins": int((d > 0).sum()),
                    "ties": int((d == 0).sum()),
                    "losses": int((d < 0).sum()),
                    "p_wilcoxon": wilcoxon_p(d),
                }
            )
    for metric in metrics:
        same_metric = [row for row in differences if row["metric"] == metric]
        for row, adjusted in zip(
            same_metric, holm([row["p_wilcoxon"] for row in same_metric]), strict=True
        ):
            row["p_holm"] = adjusted
    return differences


def write_summary(table: pd.DataFrame, path: str | os.PathLike[str]) -> int:
    """Write the summary table with exact floats and empty cells for missing values.

    Parameters
    ----------
    table
        The summary table, as :func:`summarize` returns it; the count columns are written
        as integers.
    path
        The CSV file to write (atomically).

    Returns
    -------
    int
        The number of rows written.
    """
    records = table.astype(object).where(table.notna(), None).to_dict("records")
    for record in records:
        for column in ("n", "n_failed", "n_warned", "wins", "ties", "losses"):
            if record[column] is not None:
                record[column] = int(record[column])
    return write_table(path, SUMMARY_COLUMNS, records)
