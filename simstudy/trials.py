"""Run seeded trials: one dataset, several clusterings, their scores.

A trial draws a dataset from its scenario, fits each method on it and scores the
predicted labels against the true ones. Its results depend only on the
:class:`~simstudy.spec.TrialSpec` and the trial's seed, never on which process, chunk or
machine runs it.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simstudy import components, seeding
from simstudy.metrics import score
from simstudy.parallel import ordered_map
from simstudy.spec import TrialSpec
from simstudy.tables import STATUS_ERROR, STATUS_OK, atomic_write, trial_columns, write_rows

logger = logging.getLogger(__name__)

ON_ERROR_CHOICES = ("raise", "record")


@dataclass
class TrialOutcome:
    """Everything one trial produced.

    ``labels`` and ``scores`` have an entry for each method that ran; ``errors`` holds a
    formatted traceback for each method that failed (all of them if the data failed).
    """

    trial: int
    seed: int
    X: np.ndarray | None = None
    y: np.ndarray | None = None
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


class TrialError(RuntimeError):
    """A trial failed; the message says which one and how to replay it."""


def replay_command(scenario: str, trial: int, method: str) -> str:
    """Return the shell command that reruns one trial from the manifest."""
    return f"simstudy replay --scenario {scenario} --trial {trial} --method {method}"


def draw_and_fit(
    spec: TrialSpec,
    outcome: TrialOutcome,
    data_rng: np.random.RandomState | None,
    method_rngs: Mapping[str, np.random.RandomState | None],
) -> TrialOutcome:
    """Draw the dataset and fit and score every method, from the given streams.

    ``None`` streams draw from NumPy's global generator as it stands, which is how the
    legacy procedure runs (see :func:`run_trial`). Failures are recorded in ``outcome``.
    """
    try:
        outcome.X, outcome.y = components.generate(
            spec.scenario.generator, spec.scenario.params, data_rng
        )
    except Exception:  # recorded against every method; the caller decides
        failure = traceback.format_exc()
        outcome.errors.update(dict.fromkeys(spec.method_names, failure))
        return outcome
    for method in spec.methods:
        try:
            estimator = components.build_estimator(
                method.estimator, method.params, method_rngs[method.name]
            )
            labels = np.asarray(estimator.fit_predict(outcome.X))
            outcome.scores[method.name] = {
                metric: score(metric, outcome.y, labels) for metric in spec.metrics
            }
            outcome.labels[method.name] = labels
        except Exception:  # recorded per method; the caller decides whether to raise
            outcome.errors[method.name] = traceback.format_exc()
    return outcome


def run_trial(spec: TrialSpec, trial: int, seed: int) -> TrialOutcome:
    """Run one trial of ``spec`` with its seed and return what it produced.

    Under ``spawn`` seeding, the data and each method draw from their own named streams
    of ``seed``. Under ``legacy`` seeding, the global generator is seeded with ``seed``,
    the data are drawn from it and the methods are fitted in order with
    ``random_state=None``, as the blog post did.

    A failing method is recorded in ``outcome.errors`` and does not stop the others; a
    failing data generator is recorded against every method.
    """
    outcome = TrialOutcome(trial=trial, seed=seed)
    if spec.seeding == "spawn":
        method_rngs = {name: seeding.method_stream(seed, name) for name in spec.method_names}
        return draw_and_fit(spec, outcome, seeding.data_stream(seed), method_rngs)
    with seeding.legacy_global_state(seed):
        return draw_and_fit(spec, outcome, None, dict.fromkeys(spec.method_names))


def trial_rows(
    spec: TrialSpec, outcome: TrialOutcome, *, on_error: str = "raise"
) -> list[dict[str, Any]]:
    """Turn a trial's outcome into table rows, one per method, sorted by method name.

    Raises
    ------
    TrialError
        If a method failed and ``on_error`` is ``"raise"``. The message names the
        scenario, trial, method and seed, and gives the command that replays the trial.
    """
    if on_error not in ON_ERROR_CHOICES:
        raise ValueError(f"on_error {on_error!r} is not one of {', '.join(ON_ERROR_CHOICES)}")
    rows = []
    for method in sorted(spec.method_names):
        error = outcome.errors.get(method)
        if error is not None and on_error == "raise":
            raise TrialError(
                f"trial failed: scenario={spec.scenario.name} trial={outcome.trial} "
                f"method={method} seed={outcome.seed}\n{error}"
                f"Replay it with: {replay_command(spec.scenario.name, outcome.trial, method)}"
            )
        row: dict[str, Any] = {
            "scenario": spec.scenario.name,
            "trial": outcome.trial,
            "method": method,
            "seed": outcome.seed,
            "spec": spec.digest,
            "status": STATUS_ERROR if error else STATUS_OK,
            "error": _one_line(error) if error else "",
        }
        scores = outcome.scores.get(method, {})
        row.update({metric: scores.get(metric) for metric in spec.metrics})
        rows.append(row)
    return rows


def _one_line(formatted_traceback: str) -> str:
    """The last line of a traceback: the exception type and message."""
    lines = [line for line in formatted_traceback.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "unknown error"


@dataclass(frozen=True)
class _TrialTask:
    spec: TrialSpec
    trial: int
    seed: int
    on_error: str


def _run_task(task: _TrialTask) -> list[dict[str, Any]]:
    outcome = run_trial(task.spec, task.trial, task.seed)
    return trial_rows(task.spec, outcome, on_error=task.on_error)


class Progress:
    """Log how far a chunk has got, at most once per ``interval`` seconds.

    Each line gives the trials done out of the total, the rate and the time left, so a
    person following the job's log with ``tail -f`` sees it move.
    """

    def __init__(self, total: int, label: str, *, interval: float = 10.0) -> None:
        self.total = total
        self.label = label
        self.interval = interval
        self.started = time.monotonic()
        self.last_report = self.started
        self.done = 0

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if self.done == self.total or now - self.last_report >= self.interval:
            self.last_report = now
            logger.info(self.status(now))

    def status(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        remaining = (self.total - self.done) / rate if rate > 0 else float("inf")
        return (
            f"{self.label}: {self.done}/{self.total} trials "
            f"({100 * self.done / self.total:.0f}%), {rate:.2f} trials/s, "
            f"elapsed {_duration(elapsed)}, ETA {_duration(remaining)}"
        )


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "unknown"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def iter_chunk_rows(
    spec: TrialSpec,
    start: int,
    stop: int,
    *,
    n_jobs: int = 1,
    on_error: str = "raise",
    progress_interval: float = 10.0,
) -> Iterator[dict[str, Any]]:
    """Yield the rows of trials ``start`` to ``stop - 1``, in trial order.

    Trials are spread over ``n_jobs`` worker processes (never more than there are
    trials). Rows are yielded as they complete in order, so memory stays flat however
    long the chunk is.
    """
    seeds = seeding.trial_seeds(spec.seed, spec.seeding, start, stop)
    tasks = (
        _TrialTask(spec, trial, seed, on_error)
        for trial, seed in zip(range(start, stop), seeds, strict=True)
    )
    label = f"{spec.scenario.name}/{'+'.join(spec.method_names)} trials {start}-{stop - 1}"
    progress = Progress(stop - start, label, interval=progress_interval)
    workers = max(1, min(n_jobs, stop - start))
    logger.info("%s: starting on %d worker(s)", label, workers)
    for rows in ordered_map(_run_task, tasks, n_jobs=workers):
        yield from rows
        progress.advance()


def run_chunk(
    spec: TrialSpec,
    start: int,
    stop: int,
    output: str | Path,
    *,
    n_jobs: int = 1,
    on_error: str = "raise",
    progress_interval: float = 10.0,
) -> int:
    """Run trials ``start`` to ``stop - 1`` and write their rows to the CSV ``output``.

    The file appears only when every trial is done; a failure or a kill leaves no
    partial file. Returns the number of rows written.
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
    )
    with atomic_write(output) as handle:
        return write_rows(handle, trial_columns(spec.metrics), rows)
