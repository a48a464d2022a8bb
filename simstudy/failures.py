"""How a chunk reports failed trials: the message it stops with, or the failures it logs.

A trial's values, an error row's included, are decided by :mod:`simstudy.trials` and
:mod:`simstudy.rows`. What is decided here is only how failures are reported: the
message a chunk stops with under ``on_error: raise`` (naming the scenario, trial, method
and seed, with the command that replays it), the failures a chunk's log lists under
``on_error: record``, and the message for a worker process that died. Editing any of it
reruns no chunk.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from simstudy.hints import replay_command, trial_failure
from simstudy.monitor import age
from simstudy.parallel import WorkerDiedError
from simstudy.rows import outcome_rows
from simstudy.spec import TrialSpec
from simstudy.trials import TrialOutcome

logger = logging.getLogger(__name__)

ON_ERROR_CHOICES = ("raise", "record")

#: Failures a chunk writes to its log in ``record`` mode before it stops listing them.
MAX_LOGGED_FAILURES = 10


class TrialError(RuntimeError):
    """A trial failed; the message says which one and how to replay it."""


def trial_rows(
    spec: TrialSpec, outcome: TrialOutcome, *, on_error: str = "raise"
) -> list[dict[str, Any]]:
    """Turn a trial's outcome into table rows, or raise if it failed and ``on_error`` says so.

    The rows are :func:`simstudy.rows.outcome_rows`': one per method, sorted by method
    name.

    Parameters
    ----------
    spec
        The spec the trial ran; its digest goes in every row.
    outcome
        What the trial produced (see :func:`simstudy.trials.run_trial`).
    on_error
        ``"raise"`` raises on any failed method; ``"record"`` writes it as a row with
        status ``error``, empty metrics and the error's last line.

    Returns
    -------
    list of dict
        Column -> value, for the columns of :func:`simstudy.tables.trial_columns`.

    Raises
    ------
    TrialError
        If a method failed and ``on_error`` is ``"raise"``. The message names the
        scenario, trial, method and seed, and gives the command that replays the trial.
        A method that failed for itself is named before one that was not run because the
        trial's time limit ran out.
    ValueError
        If ``on_error`` is not one of :data:`ON_ERROR_CHOICES`.
    """
    if on_error not in ON_ERROR_CHOICES:
        raise ValueError(f"on_error {on_error!r} is not one of {', '.join(ON_ERROR_CHOICES)}")
    if on_error == "raise" and outcome.errors:
        failed = sorted(outcome.errors)
        method = next((name for name in failed if name not in outcome.not_run), failed[0])
        scenario = spec.scenario.name
        raise TrialError(
            trial_failure(scenario, outcome.trial, method, outcome.seed, "\n")
            + f"{outcome.errors[method]}"
            f"Replay it with: {replay_command(scenario, outcome.trial, method)}"
        )
    return outcome_rows(spec, outcome)


def log_failure(label: str, row: Mapping[str, Any], count: int) -> None:
    """Log a failure recorded as a row, unless :data:`MAX_LOGGED_FAILURES` were logged.

    Parameters
    ----------
    label
        The chunk's label, which starts the log line.
    row
        The error row (see :func:`trial_rows`).
    count
        How many failures the chunk has recorded, this one included; at the last one
        logged, the log says that further ones are not.
    """
    if count <= MAX_LOGGED_FAILURES:
        logger.warning(
            "%s: trial %s method %s failed (recorded): %s",
            label,
            row["trial"],
            row["method"],
            row["error"],
        )
    if count == MAX_LOGGED_FAILURES:
        logger.warning("%s: further failures are recorded without being logged", label)


def worker_death_message(
    spec: TrialSpec,
    plan: Sequence[tuple[int, int]],
    death: WorkerDiedError,
    stuck: Mapping[int, float],
    time_limit: float | None,
    on_error: str,
) -> str:
    """Name the scenario, method(s), trials and seeds a dead worker took with it.

    Parameters
    ----------
    spec
        The spec of the chunk's trials.
    plan
        The (trial, seed) of each task of the chunk, by task index.
    death
        What :func:`simstudy.parallel.ordered_map` raised.
    stuck
        Trial -> seconds it had run when the chunk's monitor killed its worker for
        running past its time limit (see :class:`simstudy.monitor.ChunkMonitor`).
    time_limit
        The trials' time limit in seconds, or ``None``.
    on_error
        The chunk's ``on_error``: under ``record``, the message says why no error rows
        could be made.

    Returns
    -------
    str
        The message, with the commands that replay the trials and the worker pool's report.
    """
    methods = "+".join(spec.method_names)
    # dict: the repeat check's second run of a trial may be in flight beside its first
    trials = list(dict.fromkeys(plan[task.index] for task in death.running))
    where = f"scenario={spec.scenario.name} method={methods}"
    if not trials:
        lines = [f"worker process died while no trial of {where} was running in it"]
    else:
        listed = ", ".join(f"trial {trial} (seed {seed})" for trial, seed in trials)
        lines = [f"worker process died while running trials of {where}: {listed}"]
        killed = [trial for trial, _ in trials if trial in stuck]
        for trial in killed:
            lines.append(
                f"Trial {trial} ran {age(stuck[trial])}, past its time limit of "
                f"{time_limit:g} s, without stopping (stuck in compiled code that does not "
                f"return to Python?), so its worker process was killed."
            )
        if not killed:
            lines.append(
                "The process ended without a Python exception: os._exit, a crash in "
                "compiled code (such as a segmentation fault), or the operating system "
                "killing it (for lack of memory, say). One of these trials did it; the "
                "others were stopped with the pool of workers. Replay them one at a time "
                "to find which:"
            )
        else:
            lines.append("Replay it with:" if len(trials) == 1 else "Replay them with:")
        lines += [
            f"  {replay_command(spec.scenario.name, trial, method)}"
            for trial, _ in trials
            for method in spec.method_names
        ]
    if on_error == "record":
        lines.append(
            "on_error: record cannot turn this into error rows: the results of every trial "
            "in flight were lost with the pool of workers."
        )
    lines.append(f"(worker pool: {death.detail})")
    return "\n".join(lines)
