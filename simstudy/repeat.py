"""Does a trial repeat? The check that every chunk makes with its first trial.

A chunk runs its first trial a second time, after the others, and compares what the
two runs gave (:func:`run_print`, :func:`check_repeated`): a method or data generator
with randomness of its own, or with state kept between calls, would make ``trials.csv``
differ from run to run. The check decides whether a chunk passes, not what its rows
hold, so its code is not part of a chunk's digest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from simstudy.failures import TrialError
from simstudy.hints import replay_command, unrepeatable_hint
from simstudy.rows import hide_addresses, outcome_rows, row_cells
from simstudy.spec import TrialSpec
from simstudy.tables import trial_columns
from simstudy.trials import TrialOutcome


class NotRepeatableError(TrialError):
    """A trial gave other values when it ran a second time with the same seed."""


@dataclass(frozen=True)
class RunPrint:
    """What one run of a trial gave, in the form that :func:`check_repeated` compares.

    ``cells`` holds, for each method, the cells of its row as a chunk file holds them
    (the columns of :func:`simstudy.tables.trial_columns`, which leave out the fit
    times), with any memory address written ``0x...``. ``data`` is a digest of the
    dataset and its true labels, ``None`` if the data generator failed. ``timed_out``
    says whether the trial's time limit stopped one of its steps.
    """

    cells: dict[str, tuple[str, ...]]
    data: str | None
    timed_out: bool = False


def run_print(spec: TrialSpec, outcome: TrialOutcome) -> RunPrint:
    """Take the print of a trial's run: its rows' cells and a digest of its dataset.

    Parameters
    ----------
    spec
        The spec the trial ran.
    outcome
        What the run produced (see :func:`simstudy.trials.run_trial`).

    Returns
    -------
    RunPrint
        The cells of each method's row (failures as error rows), the data's digest and
        whether the time limit ran out.
    """
    columns = trial_columns(spec.values)
    cells = {
        row["method"]: tuple(hide_addresses(cell) for cell in row_cells(row, columns))
        for row in outcome_rows(spec, outcome)
    }
    return RunPrint(cells, _data_digest(outcome.X, outcome.y), outcome.timed_out)


def _data_digest(X: np.ndarray | None, y: np.ndarray | None) -> str | None:
    if X is None or y is None:
        return None
    digest = hashlib.sha256()
    for array in (np.asarray(X), np.asarray(y)):
        digest.update(f"{array.dtype.str} {array.shape};".encode())
        if array.dtype.hasobject:  # the bytes would be pointers
            digest.update(repr(array.tolist()).encode())
        else:
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def check_repeated(
    spec: TrialSpec, trial: int, seed: int, first: RunPrint, again: RunPrint
) -> bool:
    """Check that a trial's second run with its seed gave what its first run gave.

    A different dataset is blamed on the data generator; otherwise each method whose
    row differs is named, with the cells that differ. When the time limit stopped
    either run, the runs are not compared: where a trial stops depends on the clock.

    Parameters
    ----------
    spec, trial, seed
        The spec, the trial's index and its seed.
    first, again
        The prints of the two runs (see :func:`run_print`).

    Returns
    -------
    bool
        ``True`` if the runs were compared (and agree), ``False`` if a time limit ran out.

    Raises
    ------
    NotRepeatableError
        If the datasets or any row differ: the message names the scenario, trial, seed
        and the data generator or methods, lists the likely causes and the fix (see
        :func:`simstudy.hints.unrepeatable_hint`) and gives the command that replays it.
    """
    if first.timed_out or again.timed_out:
        return False
    scenario = spec.scenario.name
    if first.data != again.data:
        key = f"generator={spec.scenario.generator}"
        culprit = f"data generator {spec.scenario.generator} of scenario {scenario!r}"
        what = "drew a different dataset"
        if first.data is None or again.data is None:
            what = "failed in only one of the two runs"
        details, replayed = [], spec.method_names[0]
    else:
        methods = [m for m in spec.method_names if first.cells.get(m) != again.cells.get(m)]
        if not methods:
            return True
        key = f"method={'+'.join(methods)}"
        paths = {method.name: method.path for method in spec.methods}
        culprit = " and ".join(f"method {m!r} ({paths[m]})" for m in methods)
        what, replayed = "gave other values", methods[0]
        columns = trial_columns(spec.values)
        details = [
            f"  {method} {column}: {one!r} on the first run, {two!r} on the second"
            for method in methods
            for column, one, two in zip(
                columns, first.cells[method], again.cells[method], strict=True
            )
            if one != two
        ]
    raise NotRepeatableError(
        "\n".join(
            [
                f"not repeatable: scenario={scenario} trial={trial} {key} seed={seed}: "
                f"{culprit} {what} when the trial ran a second time with the same seed, "
                f"in the same job after the chunk's other trials. The values differ between "
                f"two runs of the same seed, so trials.csv would differ from run to run.",
                *details,
                unrepeatable_hint(),
                f"Replay it with: {replay_command(scenario, trial, replayed)}",
            ]
        )
    )
