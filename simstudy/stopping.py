"""Precision-driven studies: add trials to a scenario until its answer is precise enough.

With a ``stopping`` section in the config, each scenario starts with ``n_trials``
trials. After each round, the paired difference ``A - B`` of the compared methods in
``stopping.metric`` is summarised over the trials so far, exactly as ``summary.csv``
does it (:func:`simstudy.summary.paired_scores`, :func:`simstudy.summary.describe`).
A scenario stops once the half-width of the 95% Student-t interval of its mean
difference is at most ``half_width``, or once it has ``max_trials`` trials; otherwise it
gets ``batch`` more (never past ``max_trials``) and the next round decides again.

With ``mcse`` instead of ``half_width``, the precision is that of a performance measure
(``stopping.measure`` of ``stopping.estimand``, see :mod:`simstudy.performance`): a
scenario stops once the measure's Monte Carlo SE is at most ``mcse`` for every method
that gives the estimand. This is how Morris, White and Crowther (2019) advise choosing
the number of repetitions; it too looks at a precision only, never at the estimate.

The rule looks only at the interval's width, never at its mean or at a p-value: that is
the fixed-width interval procedure (Chow and Robbins, 1965). Stopping when the mean looks
large, or when a test turns significant, would make the reported difference depend on
which way chance went; stopping on the width does not favour either sign.

A decision depends only on the trials' results, and every trial's result only on its
seed, so the rounds, the trials run and ``trials.csv`` are the same whatever the cores,
chunk size or executor. The workflow runs one Snakemake checkpoint per scenario and
round (``workflow/rules/stopping.smk``); each writes its :func:`decide` record as JSON.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from simstudy.integrity import atomic_write, write_table
from simstudy.merge import merged_rows
from simstudy.performance import measure_mcse
from simstudy.summary import describe, paired_scores, t_quantile
from simstudy.tables import trial_columns

#: Why a scenario stopped.
PRECISION = "precision"
MAX_TRIALS = "max_trials"

#: Columns of ``stopping.csv``: one row per scenario and round.
STOPPING_COLUMNS = (
    "scenario",
    "round",
    "trials",
    "n_paired",
    "half_width",
    "mcse",
    "target",
    "stopped",
    "reason",
)


def decide(
    differences: np.ndarray,
    *,
    scenario: str,
    round_: int,
    trials: int,
    stopping: Mapping[str, Any],
) -> dict[str, Any]:
    """Decide whether a scenario stops after a round, from its paired differences.

    Parameters
    ----------
    differences
        The paired differences ``A - B`` of the scenario's trials so far (those in
        which both compared methods ran).
    scenario, round_
        Which scenario and round this is.
    trials
        The scenario's trials so far.
    stopping
        The config's ``stopping`` section: ``half_width``, ``batch``, ``max_trials``.

    Returns
    -------
    dict
        The decision: ``scenario``, ``round``, ``trials``, ``n_paired``, ``half_width``
        (``None`` with fewer than two paired trials), ``target``, ``stopped``,
        ``reason`` (:data:`PRECISION`, :data:`MAX_TRIALS` or ``""``) and
        ``next_trials`` (the trials after the next round, or ``None`` once stopped).
    """
    n = len(differences)
    width = t_quantile(n) * describe(differences)["mcse"] if n >= 2 else math.nan
    return _decision(scenario, round_, trials, n, stopping, half_width=width)


def decide_mcse(
    measured: Mapping[str, Any],
    *,
    scenario: str,
    round_: int,
    trials: int,
    stopping: Mapping[str, Any],
) -> dict[str, Any]:
    """Decide whether a scenario stops after a round, from a measure's Monte Carlo SEs.

    Parameters
    ----------
    measured
        Method -> :class:`simstudy.performance.Measured` of the stopping measure, for
        every method that gives the estimand.
    scenario, round_, trials
        As for :func:`decide`.
    stopping
        The config's ``stopping`` section: ``mcse``, ``batch``, ``max_trials``.

    Returns
    -------
    dict
        As :func:`decide` returns it, with ``mcse`` the largest over the methods
        (``None`` while any is undefined) and ``n_paired`` the fewest trials a method
        had an estimate in.
    """
    errors = [m.mcse for m in measured.values()]
    largest = max(errors) if errors and not any(math.isnan(e) for e in errors) else math.nan
    n = min((m.n for m in measured.values()), default=0)
    return _decision(scenario, round_, trials, n, stopping, mcse=largest)


def _decision(
    scenario: str,
    round_: int,
    trials: int,
    n: int,
    stopping: Mapping[str, Any],
    *,
    half_width: float = math.nan,
    mcse: float = math.nan,
) -> dict[str, Any]:
    reached = mcse if "mcse" in stopping else half_width
    target = stopping["mcse"] if "mcse" in stopping else stopping["half_width"]
    if reached <= target:
        reason = PRECISION
    elif trials >= stopping["max_trials"]:
        reason = MAX_TRIALS
    else:
        reason = ""
    return {
        "scenario": scenario,
        "round": round_,
        "trials": trials,
        "n_paired": n,
        "half_width": None if math.isnan(half_width) else half_width,
        "mcse": None if math.isnan(mcse) else mcse,
        "target": target,
        "stopped": bool(reason),
        "reason": reason,
        "next_trials": None if reason else min(trials + stopping["batch"], stopping["max_trials"]),
    }


def decide_round(
    chunk_paths: Sequence[str | os.PathLike[str]],
    *,
    scenario: str,
    round_: int,
    trials: int,
    specs: Mapping[str, str],
    values: Sequence[str],
    comparison: Sequence[str],
    stopping: Mapping[str, Any],
    group_values: Mapping[str, Sequence[str]] | None = None,
    method_values: Mapping[str, Sequence[str]] | None = None,
    performance: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Read a scenario's chunk files and decide its round (:func:`decide`, :func:`decide_mcse`).

    Parameters
    ----------
    chunk_paths
        The scenario's chunk files, holding at least its first ``trials`` trials; they
        are checked as the merge checks them (:func:`simstudy.merge.merged_rows`).
    scenario, round_, trials
        As for :func:`decide`.
    specs
        ``"<scenario>/<group>"`` -> spec digest, for this scenario's method groups.
    values
        The study's named values, the value columns of ``trials.csv``.
    comparison
        The two compared methods ``[A, B]``.
    stopping
        The config's ``stopping`` section.
    group_values
        ``"<scenario>/<group>"`` -> that group's value columns (see
        :func:`simstudy.merge.merge_trials`).
    method_values
        Method name -> the values it gives (see :func:`simstudy.merge.merge_trials`).
    performance
        For a ``stopping.mcse`` rule: ``estimands``, the scenario's ``params`` and
        ``method_values``, as :func:`simstudy.performance.measure_mcse` takes them.

    Returns
    -------
    dict
        The decision.

    Raises
    ------
    simstudy.merge.MergeError
        If a chunk file is missing, changed, or does not hold the study's trials.
    """
    columns = trial_columns(values)
    rows = merged_rows(
        chunk_paths,
        n_trials={scenario: trials},
        values=values,
        specs=specs,
        group_values=group_values,
        method_values=method_values,
    )
    cells = [row for _, _, _, row, _ in rows]
    table = pd.DataFrame(cells, columns=columns)
    if "mcse" in stopping:
        measured = measure_mcse(
            table,
            stopping["measure"],
            stopping["estimand"],
            comparison=comparison,
            **(performance or {}),
        )
        return decide_mcse(
            measured, scenario=scenario, round_=round_, trials=trials, stopping=stopping
        )
    metric = stopping["metric"]
    table["trial"] = table["trial"].astype(int)
    table[metric] = [float(text) if text else math.nan for text in table[metric]]
    first, second = comparison
    both = paired_scores(table, first, second, metric).get(scenario)
    differences = (
        np.array([], dtype=float)
        if both is None
        else (both[first] - both[second]).to_numpy(dtype=float)
    )
    return decide(differences, scenario=scenario, round_=round_, trials=trials, stopping=stopping)


def write_decision(path: str | os.PathLike[str], decision: Mapping[str, Any]) -> None:
    """Write a decision as JSON, atomically; floats keep every bit (``repr``).

    Parameters
    ----------
    path
        The decision file.
    decision
        As :func:`decide` returns it.
    """
    with atomic_write(path) as handle:
        json.dump(decision, handle, indent=1, sort_keys=True)
        handle.write("\n")


def read_decision(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a decision file.

    Parameters
    ----------
    path
        A file :func:`write_decision` wrote.

    Returns
    -------
    dict
        The decision.

    Raises
    ------
    ValueError
        If the file is not a decision record, naming the file.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            decision = json.load(handle)
        {key: decision[key] for key in (*STOPPING_COLUMNS, "next_trials")}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"{os.fspath(path)}: not a stopping decision ({type(error).__name__}: {error}); "
            f"remove it and run snakemake again"
        ) from None
    return decision


def write_stopping_table(
    decisions: Sequence[str | os.PathLike[str]], output: str | os.PathLike[str]
) -> int:
    """Write ``stopping.csv`` from the decision files, sorted by scenario and round.

    Parameters
    ----------
    decisions
        Every decision file of the study.
    output
        The CSV file to write (atomically).

    Returns
    -------
    int
        The number of rows written.
    """
    rows = sorted(
        (read_decision(path) for path in decisions), key=lambda d: (d["scenario"], d["round"])
    )
    for row in rows:
        row["stopped"] = "yes" if row["stopped"] else "no"
    return write_table(output, STOPPING_COLUMNS, rows)
