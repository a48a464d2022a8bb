"""Run a chunk of trials: spread them over worker processes and write their rows.

A chunk job runs trials ``start`` to ``stop - 1`` of one spec (:func:`run_chunk`), in
worker processes (:mod:`simstudy.parallel`), and writes their rows as they come, in
trial order (:class:`simstudy.rows.RowWriter`). Around the trials it

- logs its progress and the trials in flight, and stops a trial stuck past its time
  limit (:mod:`simstudy.monitor`);
- runs its first trial a second time, after the others, and fails if its rows (or its
  dataset) differ (:mod:`simstudy.repeat`);
- reports a failed trial, or a worker process that died, with the trials, seeds and
  the commands that replay them (:mod:`simstudy.failures`).

None of this decides a trial's values, which depend only on :mod:`simstudy.trials` and
:mod:`simstudy.rows` (the code a chunk's digest covers): editing this module, or those
it names above, reruns no chunk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simstudy import logs, seeding
from simstudy.failures import (
    TrialError,
    log_failure,
    trial_rows,
    worker_death_message,
)
from simstudy.integrity import atomic_write
from simstudy.loading import preload
from simstudy.monitor import ChunkMonitor, Progress
from simstudy.parallel import TaskTracker, WorkerDiedError, ordered_map
from simstudy.repeat import RunPrint, check_repeated, run_print
from simstudy.rows import RowWriter
from simstudy.spec import TrialSpec
from simstudy.tables import STATUS_ERROR
from simstudy.tasks import restart_task_clock
from simstudy.trials import run_trial

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _TrialTask:
    spec: TrialSpec
    trial: int
    seed: int
    on_error: str
    time_limit: float | None = None
    #: Also take the run's print (the first trial of a chunk, for the repeat check).
    watch: bool = False
    #: The repeat check's second run: only its print is wanted.
    again: bool = False


def _run_task(task: _TrialTask) -> tuple[list[dict[str, Any]], RunPrint | None]:
    outcome = run_trial(
        task.spec,
        task.trial,
        task.seed,
        time_limit=task.time_limit,
        on_start=restart_task_clock,  # what the heartbeat reports and the watchdog measures
    )
    if task.again:  # its failures are compared, not raised
        return [], run_print(task.spec, outcome)
    rows = trial_rows(task.spec, outcome, on_error=task.on_error)
    return rows, run_print(task.spec, outcome) if task.watch else None


def iter_chunk_rows(
    spec: TrialSpec,
    start: int,
    stop: int,
    *,
    n_jobs: int = 1,
    on_error: str = "raise",
    progress_interval: float = 10.0,
    time_limit: float | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the rows of trials ``start`` to ``stop - 1``, in trial order.

    Trials are spread over ``n_jobs`` worker processes (never more than there are
    trials). Rows are yielded as they complete in order, so memory stays flat however
    long the chunk is. Every ``progress_interval`` seconds the log shows how far the
    chunk has got and, while any run, the trials in flight; it also says how long after
    the job started (:func:`simstudy.logs.job_started`) the first trial was done: the
    job's start-up. Under ``on_error: record``, the first
    :data:`~simstudy.failures.MAX_LOGGED_FAILURES` failed rows are logged as warnings.

    Once every row is yielded, trial ``start`` runs a second time with its seed, as the
    last task (so that state a method keeps between calls has had the other trials to
    build up), and its rows and dataset must equal those of its first run (see
    :func:`simstudy.repeat.check_repeated`): this costs one trial per chunk. A difference
    raises :class:`~simstudy.repeat.NotRepeatableError` under both ``on_error`` settings,
    after the rows were yielded, so a caller must discard them (:func:`run_chunk` writes
    nothing). It is not turned into error rows: values that change from run to run put
    every row of the method in doubt, not only those of one trial.

    Parameters
    ----------
    spec
        The spec the trials run; their seeds come from its root seed and seeding.
    start, stop
        The half-open range of trial indices.
    n_jobs
        The number of worker processes; one (or fewer) runs the trials in this process.
    on_error
        What a failed trial does (see :func:`simstudy.failures.trial_rows`).
    progress_interval
        Seconds between the progress and in-flight lines of the log.
    time_limit
        The seconds a trial may take (see :func:`simstudy.trials.run_trial`); ``None``
        means no limit.

    Yields
    ------
    dict
        One row per trial and method, as :func:`simstudy.failures.trial_rows` makes them.

    Raises
    ------
    TrialError
        If a trial fails and ``on_error`` is ``"raise"``, or if a worker process dies:
        the message names the scenario, trials, methods and seeds, with the commands
        that replay them.
    NotRepeatableError
        If trial ``start`` gives other rows, or another dataset, when it runs again.
    ValueError
        If ``time_limit`` is not positive, ``on_error`` is not one of
        :data:`~simstudy.failures.ON_ERROR_CHOICES` (raised by the first trial) or the
        range is invalid.
    """
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time limit {time_limit!r} must be a positive number of seconds")
    job_started = logs.job_started()
    seeds = seeding.trial_seeds(spec.seed, spec.seeding, start, stop)
    # (trial, seed) of each task: every trial, then the first one again.
    plan = [*zip(range(start, stop), seeds, strict=True), (start, seeds[0])]
    tasks = (
        _TrialTask(
            spec, trial, seed, on_error, time_limit, watch=index == 0, again=index == len(seeds)
        )
        for index, (trial, seed) in enumerate(plan)
    )
    label = f"{spec.scenario.name}/{'+'.join(spec.method_names)} trials {start}-{stop - 1}"
    progress = Progress(stop - start, label, interval=progress_interval)
    workers = max(1, min(n_jobs, stop - start))
    limit = "no time limit" if time_limit is None else f"a time limit of {time_limit:g} s"
    logger.info("%s: starting on %d worker(s), %s per trial", label, workers, limit)
    with (
        TaskTracker() as tracker,
        ChunkMonitor(
            tracker, progress, plan, interval=progress_interval, time_limit=time_limit
        ) as monitor,
    ):
        if workers > 1:
            preload(spec)  # once, here: the forked workers inherit the imports
        try:
            # The monitor's thread starts once the workers are forked (a fork while a
            # second thread runs can leave a lock held for good in the child).
            results = ordered_map(
                _run_task, tasks, n_jobs=workers, tracker=tracker, on_ready=monitor.start
            )
            yield from _rows_in_order(spec, plan, results, progress, job_started)
        except WorkerDiedError as death:
            message = worker_death_message(spec, plan, death, monitor.stuck, time_limit, on_error)
            # The message holds the worker pool's report; its traceback is only joblib's insides.
            raise TrialError(message) from None


def _rows_in_order(
    spec: TrialSpec,
    plan: Sequence[tuple[int, int]],
    results: Iterable[tuple[list[dict[str, Any]], RunPrint | None]],
    progress: Progress,
    job_started: float | None,
) -> Iterator[dict[str, Any]]:
    """Yield the rows of each task's results, then check the repeat of the first trial."""
    label = progress.label
    failures = 0
    first: RunPrint | None = None
    for index, (rows, run) in enumerate(results):
        if index == progress.total:  # the last task: the first trial's second run
            assert first is not None and run is not None
            _check_chunk_repeat(label, spec, plan[0], first, run)
            continue
        first = run if index == 0 else first
        if job_started is not None and progress.done == 0:
            logger.info(
                "%s: first trial done %.2f s after the job started",
                label,
                time.time() - job_started,
            )
        for row in rows:
            if row["status"] == STATUS_ERROR:
                failures += 1
                log_failure(label, row, failures)
            yield row
        progress.advance()


def _check_chunk_repeat(
    label: str, spec: TrialSpec, trial_seed: tuple[int, int], first: RunPrint, again: RunPrint
) -> None:
    trial, seed = trial_seed
    if check_repeated(spec, trial, seed, first, again):
        logger.info("%s: trial %d ran a second time and gave the same rows", label, trial)
    else:
        logger.warning(
            "%s: trial %d ran out of time in one of its two runs, so whether its rows "
            "repeat was not checked",
            label,
            trial,
        )


def run_chunk(
    spec: TrialSpec,
    start: int,
    stop: int,
    output: str | Path,
    *,
    timings: str | Path | None = None,
    n_jobs: int = 1,
    on_error: str = "raise",
    progress_interval: float = 10.0,
    time_limit: float | None = None,
) -> int:
    """Run trials ``start`` to ``stop - 1`` and write their rows to the CSV ``output``.

    The files appear only when every trial is done; a failure or a kill leaves no
    partial file.

    Parameters
    ----------
    spec, start, stop, n_jobs, on_error, progress_interval, time_limit
        As for :func:`iter_chunk_rows`.
    output
        The chunk's CSV file, with the header of :func:`simstudy.tables.trial_columns`.
    timings
        If given, a second CSV file for the wall and CPU seconds of each method's fit on
        each trial, with the header :data:`~simstudy.tables.TIMING_COLUMNS`. They vary
        from run to run, so they are kept out of ``output``.

    Returns
    -------
    int
        The number of rows written.

    Raises
    ------
    ValueError
        If the range is empty or negative, or as :func:`iter_chunk_rows`.
    TrialError
        As :func:`iter_chunk_rows`, which also raises its subclass
        :class:`~simstudy.repeat.NotRepeatableError` when the chunk's first trial does not
        repeat.
    """
    if not 0 <= start < stop:
        raise ValueError(f"trial range [{start}, {stop}) is empty or negative")
    rows = iter_chunk_rows(
        spec,
        start,
        stop,
        n_jobs=n_jobs,
        on_error=on_error,
        progress_interval=progress_interval,
        time_limit=time_limit,
    )
    with atomic_write(output) as handle, _optional_writer(timings) as timing_handle:
        writer = RowWriter.results(handle, spec)
        timing_writer = None if timing_handle is None else RowWriter.timings(timing_handle)
        count = 0
        for row in rows:
            writer.write(row)
            if timing_writer is not None:
                timing_writer.write(row)
            count += 1
        return count


@contextmanager
def _optional_writer(path: str | Path | None) -> Iterator[Any]:
    if path is None:
        yield None
        return
    with atomic_write(path) as handle:
        yield handle
