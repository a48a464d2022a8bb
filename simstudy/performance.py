"""Performance measures of estimands, each with its Monte Carlo standard error.

An *estimand* (config key ``estimands``) is a named value that methods return as their
estimate of a quantity whose true value the study knows: a number, or a param of each
scenario. A method may also return the estimate's standard error, the limits of its
confidence interval and a p-value, by default as ``<E>_se``, ``<E>_lower``, ``<E>_upper``
and ``<E>_p`` (:func:`estimand_columns`).

The measures are named as rsimsum names them (Gasparini, "rsimsum: Summarise results
from Monte Carlo simulation studies", JOSS 2018; its vignette "Introduction to rsimsum")
and computed, with their Monte Carlo standard errors (MCSE), by Table 6 of Morris, White
and Crowther, "Using simulation studies to evaluate statistical methods", Statistics in
Medicine 38 (2019) 2074-2102. Over the ``n`` trials of a method that give an estimate,
with estimates ``t_i``, true value ``θ``, mean estimate ``t̄`` and model SEs ``s_i``:

============ ================================= ==============================================
measure      value                             MCSE
============ ================================= ==============================================
``bias``     ``t̄ - θ``                         ``sqrt(Σ(t_i - t̄)² / (n(n-1)))``
``empse``    ``E = sqrt(Σ(t_i - t̄)² / (n-1))`` ``E / sqrt(2(n-1))``
``mse``      ``M = Σ(t_i - θ)² / n``           ``sqrt(Σ((t_i - θ)² - M)² / (n(n-1)))``
``modelse``  ``S = sqrt(Σ s_i² / n)``          ``sqrt(Var(s²) / (4 n S²))``
``relerror`` ``100 (S / E - 1)``               ``100 (S/E) sqrt(Var(s²)/(4 n S⁴) + 1/(2(n-1)))``
``cover``    share of intervals holding ``θ``  ``sqrt(c(1 - c) / n)``
``becover``  share of intervals holding ``t̄`` ``sqrt(c(1 - c) / n)``
``power``    share of trials that reject       ``sqrt(p(1 - p) / n)``
``relprec``  ``100 ((E_B / E_m)² - 1)``        ``200 (E_B / E_m)² sqrt((1 - rho^2) / (n - 1))``
============ ================================= ==============================================

``Var(s²)`` is the sample variance (``n - 1`` in the denominator) of the squared SEs, as
in rsimsum. A measure is written when its inputs are there: ``bias``, ``empse`` and
``mse`` always; ``modelse`` and ``relerror`` when the method gives an SE; ``cover`` and
``becover`` when it gives both limits of an interval (used as given, limits included)
or else an SE (the interval is then ``t_i ± z s_i``, ``z`` the normal quantile at
``1 - alpha/2``); ``power`` when it gives a p-value (a trial rejects when
``p_i < alpha``) or else an SE (it rejects when ``|t_i| > z s_i``, the Wald test of 0).

``relprec`` is each method's precision relative to ``B``, the second method of
``comparison``, over the trials in which both give an estimate: ``E_B``, ``E_m``, the
correlation ``rho`` of the paired estimates and its ``n`` are all taken on those pairs.
``B``'s own row is 0 with MCSE 0, as rsimsum gives it (``rho = 1``).

A trial gives an estimate when its row has status ``ok`` and a number in the estimate
and in each of the SE, limits and p-value that its method gives. The others are never
dropped silently: the measure ``n_missing`` counts them (the scenario's trials minus
``n``; failed trials, and trials without a row of the method, included), with no MCSE.

Where the sources differ. rsimsum's vignette writes ``4 n S`` under the root of the
MCSE of ``modelse`` and leaves the square off ``E_B / E_m`` in that of ``relprec``;
the paper and rsimsum's code (``R/performance.R``) have ``4 n S²`` and the square, and
so does this module. rsimsum's older ``perfms`` had ``1 / (2n - 1)`` where the paper
has ``1 / (2(n - 1))`` in the MCSE of ``relerror``; this module follows the paper.
Table 6 counts ``p_i <= alpha`` as a rejection and rsimsum ``|t_i| >= z s_i``; this
module counts ``p_i < alpha`` and ``|t_i| > z s_i`` (0 outside the closed interval
``t_i ± z s_i``): they differ only on exact ties. rsimsum takes ``E_B`` and ``E_m`` of
``relprec`` over all of each method's estimates and ``rho`` over the pairs; with no
missing estimates that is the same.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from simstudy.integrity import write_table
from simstudy.tables import STATUS_OK

#: Columns of ``performance.csv``: one tidy row per scenario, method, estimand, measure.
PERFORMANCE_COLUMNS = ("scenario", "method", "estimand", "measure", "value", "mcse", "n")

#: The measures, in the order the table gives them (``n_missing`` last).
MEASURES = (
    *("bias", "empse", "mse"),  # always
    *("modelse", "relerror"),  # with an SE
    *("cover", "becover", "power"),  # with an interval, a p-value or an SE
    *("relprec", "n_missing"),  # when B gives the estimand; always
)

#: An estimand's companion values, and the suffix of each one's default name.
COLUMN_SUFFIXES = {"se": "_se", "lower": "_lower", "upper": "_upper", "p": "_p"}

_NAN = math.nan


class Measured(NamedTuple):
    """One measure of one method: its value, its Monte Carlo SE and the trials used."""

    value: float
    mcse: float
    n: int


def estimand_columns(estimand: str, entry: Mapping[str, Any]) -> dict[str, str]:
    """The names of an estimand's SE, interval limits and p-value.

    Parameters
    ----------
    estimand
        The estimand's name: the value that holds the estimate.
    entry
        Its config entry; its optional ``columns`` mapping names any of them.

    Returns
    -------
    dict
        ``se``, ``lower``, ``upper`` and ``p`` -> the value's name: the one configured,
        else ``<estimand>_se``, ``<estimand>_lower``, ``<estimand>_upper``, ``<estimand>_p``.
    """
    given = entry.get("columns") or {}
    return {key: given.get(key, estimand + suffix) for key, suffix in COLUMN_SUFFIXES.items()}


def true_value(entry: Mapping[str, Any], params: Mapping[str, Any]) -> float:
    """An estimand's true value in one scenario.

    Parameters
    ----------
    entry
        The estimand's config entry: ``truth`` is a number or ``{param: <name>}``.
    params
        The scenario's params (the config check makes sure each has the named one).

    Returns
    -------
    float
        The number, or the scenario's value of the named param.
    """
    truth = entry["truth"]
    return float(params[truth["param"]] if isinstance(truth, Mapping) else truth)


def _critical_value(alpha: float) -> float:
    """The standard normal quantile at ``1 - alpha / 2`` (1.959963984540054 at 0.05)."""
    return NormalDist().inv_cdf(1 - alpha / 2)


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``; NaN or infinity, never an error, on a zero."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.divide(np.float64(numerator), np.float64(denominator)))


def _variance(values: np.ndarray) -> float:
    """The sample variance (``n - 1`` in the denominator); NaN below two values."""
    return float(np.var(values, ddof=1)) if len(values) > 1 else _NAN


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else _NAN


# The measures of Table 6 (formulas in the module docstring); NaN where undefined.


def _bias(estimates: np.ndarray, truth: float) -> Measured:
    n = len(estimates)
    return Measured(_mean(estimates) - truth, math.sqrt(_ratio(_variance(estimates), n)), n)


def _empse(estimates: np.ndarray) -> Measured:
    n = len(estimates)
    sd = math.sqrt(_variance(estimates))
    return Measured(sd, _ratio(sd, math.sqrt(2 * (n - 1))) if n > 1 else _NAN, n)


def _mse(estimates: np.ndarray, truth: float) -> Measured:
    """The MCSE is the SD of the squared errors over sqrt(n), as Table 6 writes it."""
    squared = (estimates - truth) ** 2
    n = len(squared)
    return Measured(_mean(squared), math.sqrt(_ratio(_variance(squared), n)), n)


def _modelse(ses: np.ndarray) -> Measured:
    """The root mean squared SE, rsimsum's default (``modelsemethod = "rmse"``)."""
    squared = ses**2
    n = len(squared)
    value = math.sqrt(_mean(squared))
    return Measured(value, math.sqrt(_ratio(_variance(squared), 4 * n * value**2)), n)


def _relerror(estimates: np.ndarray, ses: np.ndarray) -> Measured:
    n = len(estimates)
    model = _modelse(ses).value
    ratio = _ratio(model, _empse(estimates).value)
    spread = _ratio(_variance(ses**2), 4 * n * model**4)
    tail = 1 / (2 * (n - 1)) if n > 1 else _NAN
    return Measured(100 * (ratio - 1), 100 * ratio * math.sqrt(spread + tail), n)


def _proportion(hits: np.ndarray) -> Measured:
    """The share of true entries (covers, rejects) and its binomial MCSE."""
    n = len(hits)
    share = _mean(hits.astype(float))
    return Measured(share, math.sqrt(_ratio(share * (1 - share), n)), n)


def _coverage(lower: np.ndarray, upper: np.ndarray, target: float) -> Measured:
    """The share of intervals, limits included, that hold ``target``."""
    return _proportion((lower <= target) & (target <= upper))


def _relprec(estimates: np.ndarray, reference: np.ndarray) -> Measured:
    """Precision relative to B, given B's estimates paired with the method's."""
    n = len(estimates)
    if n < 2:
        return Measured(_NAN, _NAN, n)
    mine, theirs = math.sqrt(_variance(estimates)), math.sqrt(_variance(reference))
    rho = _ratio(float(np.cov(estimates, reference, ddof=1)[0, 1]), mine * theirs)
    ratio = _ratio(theirs, mine) ** 2
    root = math.sqrt(max(0.0, 1 - rho**2) / (n - 1)) if math.isfinite(rho) else _NAN
    return Measured(100 * (ratio - 1), 200 * ratio * root, n)


def _numbers(cells: pd.Series) -> np.ndarray:
    """Cells as floats: numbers, or text as chunk files hold it (empty is missing)."""
    if pd.api.types.is_numeric_dtype(cells.dtype):
        return cells.to_numpy(dtype=float)
    return np.array([_NAN if c is None or c == "" else float(c) for c in cells], dtype=float)


def _usable(
    rows: pd.DataFrame,
    method: str,
    estimand: str,
    columns: Mapping[str, str],
    gives: Sequence[str],
) -> pd.DataFrame:
    """The method's trials that give an estimate (see the module docstring).

    Indexed by trial, with a column ``estimate`` and one for each of ``se``, ``lower``,
    ``upper``, ``p`` that the method gives.
    """
    own = rows[rows["method"] == method]
    wanted = {"estimate": estimand} | {k: c for k, c in columns.items() if c in gives}
    cells = {key: _numbers(own[column]) for key, column in wanted.items()}
    data = pd.DataFrame(cells, index=own["trial"].to_numpy())
    usable = (own["status"].to_numpy() == STATUS_OK) & data.notna().all(axis=1).to_numpy()
    return data[usable]


def _interval(data: pd.DataFrame, z: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Each trial's interval: its own limits if given, else ``t ± z s``; None if neither."""
    if "lower" in data and "upper" in data:
        return data["lower"].to_numpy(), data["upper"].to_numpy()
    if "se" in data:
        estimates, ses = data["estimate"].to_numpy(), data["se"].to_numpy()
        return estimates - z * ses, estimates + z * ses
    return None


def _rejections(data: pd.DataFrame, alpha: float, z: float) -> np.ndarray | None:
    """Whether each trial rejects: ``p < alpha`` if given, else ``|t| > z s``; or None."""
    if "p" in data:
        return data["p"].to_numpy() < alpha
    if "se" in data:
        return np.abs(data["estimate"].to_numpy()) > z * data["se"].to_numpy()
    return None


def _method_measures(data: pd.DataFrame, truth: float, alpha: float) -> dict[str, Measured]:
    """Every measure of one method but ``relprec`` and ``n_missing``, from its trials."""
    estimates = data["estimate"].to_numpy()
    found = {"bias": _bias(estimates, truth), "empse": _empse(estimates)}
    found["mse"] = _mse(estimates, truth)
    z = _critical_value(alpha)
    if "se" in data:
        found["modelse"] = _modelse(data["se"].to_numpy())
        found["relerror"] = _relerror(estimates, data["se"].to_numpy())
    limits = _interval(data, z)
    if limits is not None:
        found["cover"] = _coverage(*limits, truth)
        found["becover"] = _coverage(*limits, _mean(estimates))
    rejected = _rejections(data, alpha, z)
    if rejected is not None:
        found["power"] = _proportion(rejected)
    return found


def _relative_precision(usable: Mapping[str, pd.DataFrame], reference: str) -> dict[str, Measured]:
    """Each method's ``relprec`` against ``reference``, paired by trial; {} without B."""
    if reference not in usable:
        return {}
    theirs = usable[reference]["estimate"]
    found = {}
    for method, data in usable.items():
        if method == reference:  # 0 and 0 (rho is 1 but for rounding), or NaN and NaN
            same = _relprec(theirs.to_numpy(), theirs.to_numpy())
            found[method] = same._replace(mcse=0.0 if same.value == 0 else _NAN)
            continue
        common = data.index.intersection(theirs.index)
        found[method] = _relprec(
            data.loc[common, "estimate"].to_numpy(), theirs.loc[common].to_numpy()
        )
    return found


def scenario_performance(
    rows: pd.DataFrame,
    estimand: str,
    entry: Mapping[str, Any],
    *,
    params: Mapping[str, Any],
    comparison: Sequence[str],
    method_values: Mapping[str, Sequence[str]],
) -> dict[str, dict[str, Measured]]:
    """Every measure of one estimand in one scenario, for each method that gives it.

    Parameters
    ----------
    rows
        The scenario's rows in the columns of ``trials.csv``: as :func:`read_trials
        <simstudy.summary.read_trials>` reads them, or as chunk files hold them (text;
        an empty cell is missing). ``scenario``, ``trial``, ``method`` and ``status`` are
        needed, with the value columns.
    estimand
        The value that holds the estimate.
    entry
        The estimand's config entry: ``truth``, ``alpha`` (by default 0.05), ``columns``.
    params
        The scenario's params, for a truth given as ``{param: <name>}``.
    comparison
        ``[A, B]``: ``relprec`` is relative to ``B``.
    method_values
        Method -> the values it gives; methods not giving ``estimand`` are left out.

    Returns
    -------
    dict
        Method (in the order of ``method_values``) -> measure (in the order of
        :data:`MEASURES`, those that apply) -> :class:`Measured`.
    """
    columns = estimand_columns(estimand, entry)
    alpha = entry.get("alpha", 0.05)
    n_trials = int(rows["trial"].nunique())
    usable = {
        method: _usable(rows, method, estimand, columns, gives)
        for method, gives in method_values.items()
        if estimand in gives
    }
    precision = _relative_precision(usable, comparison[1])
    truth = true_value(entry, params)
    found = {}
    for method, data in usable.items():
        measured = _method_measures(data, truth, alpha)
        if method in precision:
            measured["relprec"] = precision[method]
        measured["n_missing"] = Measured(float(n_trials - len(data)), _NAN, len(data))
        found[method] = {m: measured[m] for m in MEASURES if m in measured}
    return found


def performance(
    trials: pd.DataFrame,
    *,
    estimands: Mapping[str, Mapping[str, Any]],
    scenarios: Mapping[str, Mapping[str, Any]],
    comparison: Sequence[str],
    method_values: Mapping[str, Sequence[str]],
) -> pd.DataFrame:
    """The performance table of a study (see the module docstring for the measures).

    Parameters
    ----------
    trials
        The rows of ``trials.csv`` (:func:`simstudy.summary.read_trials`).
    estimands
        The config's ``estimands``: name -> ``truth``, ``alpha`` and ``columns``.
    scenarios
        Scenario name -> its params, where a truth given as ``{param: <name>}`` is read.
    comparison
        ``[A, B]``: ``relprec`` is relative to ``B``.
    method_values
        Method -> the values it gives, in the order the table lists methods.

    Returns
    -------
    DataFrame
        Columns :data:`PERFORMANCE_COLUMNS`: one row per scenario (sorted), estimand (in
        config order), method giving it and measure (in the order of :data:`MEASURES`);
        ``n`` is the number of trials the measure used (for ``relprec``, the pairs), and
        ``n_missing``'s ``value`` the trials without an estimate, with no ``mcse``.

    Raises
    ------
    ValueError
        If a scenario of ``trials`` is not in ``scenarios``.
    """
    records = []
    settings = {"comparison": comparison, "method_values": method_values}
    for scenario, rows in trials.groupby("scenario", sort=True):
        if scenario not in scenarios:
            raise ValueError(f"scenario {scenario!r} of the trials has no params in scenarios")
        for estimand, entry in estimands.items():
            found = scenario_performance(
                rows, estimand, entry, params=scenarios[scenario], **settings
            )
            records += [
                (scenario, method, estimand, measure, *measured)
                for method, measures in found.items()
                for measure, measured in measures.items()
            ]
    table = pd.DataFrame(records, columns=list(PERFORMANCE_COLUMNS))
    return table.astype({"value": float, "mcse": float, "n": int})


def measure_mcse(
    rows: pd.DataFrame,
    measure: str,
    estimand: str,
    *,
    estimands: Mapping[str, Mapping[str, Any]],
    params: Mapping[str, Any],
    comparison: Sequence[str],
    method_values: Mapping[str, Sequence[str]],
) -> dict[str, Measured]:
    """One measure of one estimand, with its MCSE, for each method of one scenario.

    What precision-driven stopping needs after a round, from the scenario's rows.

    Parameters
    ----------
    rows
        One scenario's rows, as for :func:`scenario_performance` (text cells will do).
    measure
        One of :data:`MEASURES`.
    estimand
        One of ``estimands``.
    estimands
        The config's ``estimands``.
    params
        The scenario's params (for a truth given as ``{param: <name>}``).
    comparison
        ``[A, B]``: ``relprec`` is relative to ``B``.
    method_values
        Method -> the values it gives.

    Returns
    -------
    dict
        Method -> :class:`Measured` ``(value, mcse, n)``, for the methods that give the
        estimand and for which the measure applies (an SE for ``modelse``, ...).

    Raises
    ------
    ValueError
        If the measure or estimand is unknown, or the rows hold more than one scenario.
    """
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; measures are {', '.join(MEASURES)}")
    if estimand not in estimands:
        raise ValueError(f"{estimand!r} is not an estimand ({', '.join(estimands)})")
    if len(set(rows["scenario"])) > 1:
        raise ValueError("the rows hold more than one scenario")
    found = scenario_performance(
        rows,
        estimand,
        estimands[estimand],
        params=params,
        comparison=comparison,
        method_values=method_values,
    )
    return {method: measures[measure] for method, measures in found.items() if measure in measures}


def write_performance(table: pd.DataFrame, path: str | os.PathLike[str]) -> int:
    """Write the performance table with exact floats and empty cells for missing values.

    Parameters
    ----------
    table
        The table, as :func:`performance` returns it; ``n``, and ``n_missing``'s
        ``value``, are written as integers.
    path
        The CSV file to write (atomically, with its record).

    Returns
    -------
    int
        The number of rows written.
    """
    records = table.astype(object).where(table.notna(), None).to_dict("records")
    for record in records:
        record["n"] = int(record["n"])
        if record["measure"] == "n_missing" and record["value"] is not None:
            record["value"] = int(record["value"])
    return write_table(path, PERFORMANCE_COLUMNS, records)
