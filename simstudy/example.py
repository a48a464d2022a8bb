"""The example trial that the first two figures show, kept as a file.

Rule ``run_example`` runs one trial (``figures.example_trial`` of
``figures.example_scenario``) and writes its dataset, true labels, each method's
predicted labels and scores to ``results/example/trial.json``. It derives the trial's
seed as the chunk jobs do, so it runs alongside them, and it reruns only when its spec
or trial changes. The figure rule then only draws: it reads this file, and checks the
scores in it against the trial's rows in ``trials.csv`` (see :func:`check_against_rows`),
which makes every figure build a small reproducibility check.

Floats are written by Python's ``repr``, so they read back exactly.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from simstudy import seeding
from simstudy.hints import unrepeatable_hint
from simstudy.spec import TrialSpec
from simstudy.tables import atomic_write, matches_row, recorded_row


class ReproducibilityError(RuntimeError):
    """The example trial's scores differ from the rows recorded for it in trials.csv."""


@dataclass
class Example:
    """The example trial: its data, true labels, and every method's labels and scores.

    ``labels`` and ``scores`` hold the methods that ran; ``errors`` those that failed.
    """

    scenario: str
    trial: int
    seed: int
    methods: list[str]
    X: np.ndarray
    y: np.ndarray
    labels: dict[str, np.ndarray]
    scores: dict[str, dict[str, float]]
    errors: dict[str, str]


def run_example(spec: TrialSpec, trial: int) -> Example:
    """Run trial ``trial`` of ``spec``, with the seed its chunk job gives it.

    Parameters
    ----------
    spec
        The spec of the example scenario and the methods to run.
    trial
        The trial's index; its seed is derived from ``spec.seed`` and ``spec.seeding``.

    Returns
    -------
    Example
        The trial's data, true labels and each method's labels and scores (or error).
    """
    from simstudy.trials import run_trial  # the figure rule reads examples, never runs them

    (seed,) = seeding.trial_seeds(spec.seed, spec.seeding, trial, trial + 1)
    outcome = run_trial(spec, trial, seed)
    return Example(
        scenario=spec.scenario.name,
        trial=trial,
        seed=seed,
        methods=list(spec.method_names),
        X=np.asarray(outcome.X, dtype=float),
        y=np.asarray(outcome.y),
        labels={m: np.asarray(labels) for m, labels in outcome.labels.items()},
        scores={m: dict(scores) for m, scores in outcome.scores.items()},
        errors=dict(outcome.errors),
    )


def write_example(path: str | os.PathLike[str], example: Example) -> None:
    """Write ``example`` as JSON; the file appears complete or not at all.

    Parameters
    ----------
    path
        Where to write the record (see :func:`simstudy.tables.atomic_write`).
    example
        The example trial to write.
    """
    record = {
        "scenario": example.scenario,
        "trial": example.trial,
        "seed": example.seed,
        "methods": example.methods,
        "X": example.X.tolist(),
        "y": example.y.tolist(),
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
            X=np.asarray(record["X"], dtype=float),
            y=np.asarray(record["y"]),
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
    """Check that ``methods`` scored in ``example`` as their rows in ``trials`` say.

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
