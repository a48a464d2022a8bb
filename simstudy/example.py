"""The example trial, kept as a file: checked against trials.csv, drawn in a clustering study.

Rule ``run_example`` runs one trial (``figures.example_trial`` of
``figures.example_scenario``) and writes each method's values to
``results/example/trial.json``; when every method it runs is a clusterer, also the
dataset, its true labels and each method's predicted labels, which the example figures
of a clustering study draw. Other data may be any object, which JSON cannot hold, and
no figure draws it, so it is not kept. The trial's seed is derived as the chunk jobs
derive it, so the rule runs alongside them, and it reruns only when its spec or trial
changes. The figure rule reads this file and checks the values in it against the
trial's rows in ``trials.csv`` (see :func:`check_against_rows`), whatever the kind of
study, which makes every figure build a small reproducibility check.

Floats are written by Python's ``repr``, so they read back exactly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from simstudy import seeding
from simstudy.hints import unrepeatable_hint
from simstudy.integrity import atomic_write
from simstudy.spec import TrialSpec
from simstudy.tables import matches_row, recorded_row


class ReproducibilityError(RuntimeError):
    """The example trial's scores differ from the rows recorded for it in trials.csv."""


@dataclass
class Example:
    """The example trial: every method's values, and a clustering trial's data and labels.

    ``scores`` (each method's named values) and ``labels`` hold the methods that ran;
    ``errors`` those that failed. ``X`` and ``y`` are None, and ``labels`` empty, unless
    every method of the trial is a clusterer (see :func:`keeps_data`).
    """

    scenario: str
    trial: int
    seed: int
    methods: list[str]
    X: np.ndarray | None
    y: np.ndarray | None
    labels: dict[str, np.ndarray]
    scores: dict[str, dict[str, float]]
    errors: dict[str, str]


def keeps_data(spec: TrialSpec) -> bool:
    """Whether the example of ``spec`` keeps its data: every method is a clusterer.

    Parameters
    ----------
    spec
        The example's spec.

    Returns
    -------
    bool
        True if every method is an estimator run as a clusterer (labelled points, which
        the example figures draw).
    """
    return all(m.estimator is not None and m.task in (None, "clusterer") for m in spec.methods)


def run_example(specs: Sequence[TrialSpec], trial: int) -> Example:
    """Run trial ``trial`` of ``specs``, with the seed its chunk jobs give it.

    Parameters
    ----------
    specs
        The specs of the chunk jobs that ran the example's methods on its scenario (see
        :meth:`simstudy.plan.StudyPlan.example_specs`); each draws the same data.
    trial
        The trial's index; its seed is derived from the specs' ``seed`` and ``seeding``.

    Returns
    -------
    Example
        Each method's values (or error); the data, true labels and each method's labels
        too where :func:`keeps_data` says so for every spec.
    """
    from simstudy.trials import run_trial  # the figure rule reads examples, never runs them

    first = specs[0]
    (seed,) = seeding.trial_seeds(first.seed, first.seeding, trial, trial + 1)
    outcomes = [run_trial(spec, trial, seed) for spec in specs]
    kept = all(map(keeps_data, specs)) and outcomes[0].X is not None
    return Example(
        scenario=first.scenario.name,
        trial=trial,
        seed=seed,
        methods=[name for spec in specs for name in spec.method_names],
        X=np.asarray(outcomes[0].X, dtype=float) if kept else None,
        y=np.asarray(outcomes[0].y) if kept else None,
        labels={m: np.asarray(v) for o in outcomes for m, v in o.labels.items()} if kept else {},
        scores={m: dict(v) for o in outcomes for m, v in o.scores.items()},
        errors={m: text for o in outcomes for m, text in o.errors.items()},
    )


def write_example(path: str | os.PathLike[str], example: Example) -> None:
    """Write ``example`` as JSON; the file appears complete or not at all.

    Parameters
    ----------
    path
        Where to write the record (see :func:`simstudy.integrity.atomic_write`).
    example
        The example trial to write.
    """
    record = {
        "scenario": example.scenario,
        "trial": example.trial,
        "seed": example.seed,
        "methods": example.methods,
        "X": None if example.X is None else example.X.tolist(),
        "y": None if example.y is None else example.y.tolist(),
        "labels": {m: labels.tolist() for m, labels in example.labels.items()},
        "scores": example.scores,
        "errors": example.errors,
    }
    with atomic_write(path) as handle:
        json.dump(record, handle, separators=(",", ":"))
        handle.write("\n")


def read_example(path: str | os.PathLike[str]) -> Example:
    """Read a file that :func:`write_example` wrote.

    Parameters
    ----------
    path
        The record file.

    Returns
    -------
    Example
        The example trial, with floats read back exactly.

    Raises
    ------
    ValueError
        If the file is not such a record; the message names the file.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
        return Example(
            scenario=record["scenario"],
            trial=int(record["trial"]),
            seed=int(record["seed"]),
            methods=list(record["methods"]),
            X=None if record["X"] is None else np.asarray(record["X"], dtype=float),
            y=None if record["y"] is None else np.asarray(record["y"]),
            labels={m: np.asarray(v) for m, v in record["labels"].items()},
            scores={m: {k: float(v) for k, v in s.items()} for m, s in record["scores"].items()},
            errors={m: str(text) for m, text in record["errors"].items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise ValueError(
            f"{os.fspath(path)} is not an example trial record ({error}); delete it and "
            f"rerun snakemake to remake it"
        ) from None


def check_against_rows(
    example: Example, trials: str | os.PathLike[str], methods: list[str]
) -> None:
    """Check that ``methods`` gave in ``example`` the values their rows in ``trials`` hold.

    A method that failed in the trial (recorded with ``on_error: record``) must have
    failed in the example too; one that ran must have the very same scores.

    Parameters
    ----------
    example
        The example trial, as :func:`read_example` reads it.
    trials
        The study's ``trials.csv``.
    methods
        The methods to check.

    Raises
    ------
    ReproducibilityError
        If a method's example differs from its recorded row (the message names the
        method and ends with :func:`simstudy.hints.unrepeatable_hint`), or if
        ``trials`` is missing or holds no row for it.
    """
    for method in methods:
        row = recorded_row(trials, example.scenario, example.trial, method)
        scores: Mapping[str, Any] | None = example.scores.get(method)
        if matches_row(scores, row):
            continue
        found = scores if scores is not None else example.errors.get(method)
        where = (
            f"example trial {example.trial} of {example.scenario} (seed {example.seed}), "
            f"method {method}"
        )
        if row is None:
            raise ReproducibilityError(
                f"{where}: trials.csv holds no row for it (the example run gives {found!r})"
            )
        raise ReproducibilityError(
            f"{where}: the example run gives {found!r}, trials.csv holds {row!r}. The values "
            f"of method {method!r} differ between two runs of the same seed (the example "
            f"job's and the chunk job's), so its results cannot be reproduced.\n"
            f"{unrepeatable_hint()}"
        )
