"""Run seeded trials: one dataset, several clusterings, their scores.

A trial draws a dataset from its scenario, fits each method on it and scores the
predicted labels against the true ones. Its results depend only on the
:class:`~simstudy.spec.TrialSpec` and the trial's seed, never on which process, chunk or
machine runs it.

Four guards keep a misbehaving trial from passing unnoticed or blocking a job:

- under ``spawn`` seeding, a method or data generator that draws from NumPy's global
  generator fails (its numbers would depend on what ran before it in the process);
- every chunk runs its first trial a second time, after the others, and fails if the
  rows (or the dataset) differ: a method or generator with randomness of its own, or
  with state kept between calls, would make ``trials.csv`` differ from run to run;
- a worker process that dies is reported with the trials it was running;
- with a time limit, a trial that runs too long is stopped and fails, and a heartbeat
  logs the trials in flight while none finishes.
"""

from __future__ import annotations

import csv
import ctypes
import hashlib
import logging
import os
import re
import signal
import threading
import time
import traceback
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from simstudy import components, seeding
from simstudy.hints import replay_command, trial_failure, unrepeatable_hint
from simstudy.metrics import score, score_function
from simstudy.parallel import (
    RunningTask,
    TaskTracker,
    WorkerDiedError,
    ordered_map,
    restart_task_clock,
)
from simstudy.spec import TrialSpec
from simstudy.tables import (
    STATUS_ERROR,
    STATUS_OK,
    TIMING_COLUMNS,
    atomic_write,
    format_value,
    trial_columns,
)

logger = logging.getLogger(__name__)

ON_ERROR_CHOICES = ("raise", "record")

#: The step of a trial that draws its dataset (the other steps are named by method).
DATA_STEP = "data"

#: Failures a chunk writes to its log in ``record`` mode before it stops listing them.
MAX_LOGGED_FAILURES = 10


@dataclass
class TrialOutcome:
    """Everything one trial produced.

    ``labels`` and ``scores`` have an entry for each method that ran; ``errors`` holds a
    formatted traceback for each method that failed (all of them if the data failed).
    ``not_run`` names the methods that failed only because the trial's time limit ran
    out before their turn. ``warnings`` holds, for each method that was fitted, the
    warnings it raised while it was built and fitted (see :func:`fit_observed`), and
    ``timings`` the wall and CPU seconds that took. ``step`` is the step in progress
    (:data:`DATA_STEP` or a method name) while the trial runs, and ``None`` once it is
    over. ``timed_out`` says whether the trial's time limit stopped a step.
    """

    trial: int
    seed: int
    X: np.ndarray | None = None
    y: np.ndarray | None = None
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    not_run: set[str] = field(default_factory=set)
    warnings: dict[str, list[warnings.WarningMessage]] = field(default_factory=dict)
    timings: dict[str, tuple[float, float]] = field(default_factory=dict)
    step: str | None = None
    timed_out: bool = False


class TrialError(RuntimeError):
    """A trial failed; the message says which one and how to replay it."""


class NotRepeatableError(TrialError):
    """A trial gave other values when it ran a second time with the same seed."""


class GlobalRandomStateError(RuntimeError):
    """Under ``spawn`` seeding, a method or data generator drew from NumPy's global generator."""


class TrialTimeLimitExceeded(BaseException):
    """Raised inside a trial, from SIGALRM, when its time limit runs out.

    It derives from ``BaseException``, as ``KeyboardInterrupt`` does, so that a method's
    own ``except Exception`` cannot swallow it and carry on past the limit.
    """


# --- The global generator under spawn seeding ---------------------------------------

#: Bytes of MT19937's state (624 32-bit words, then the position in them): NumPy's
#: global generator, unless a program replaced it with np.random.set_bit_generator.
_MT19937_STATE_BYTES = 624 * 4 + 4

# (fingerprint, full state) of the global generator as the last guarded trial of this
# process found it, with no cached normal deviate; see _GlobalGeneratorGuard.
_clean_global_state: tuple[bytes | str, dict[str, Any]] | None = None


def _global_fingerprint() -> bytes | str:
    """The global generator's state, cheaply: a copy of its raw bytes (a few µs).

    ``np.random.get_state()`` converts the state into Python objects and costs some
    60-90 µs, several per trial: too much for trials of 10 ms.
    """
    bit_generator = np.random.get_bit_generator()
    if isinstance(bit_generator, np.random.MT19937):
        return ctypes.string_at(bit_generator.ctypes.state_address, _MT19937_STATE_BYTES)
    return repr(bit_generator.state)


class _GlobalGeneratorGuard:
    """Notice a draw from NumPy's global generator during a trial, and undo it.

    Under ``spawn`` seeding no code may depend on the global generator, so a draw from
    it means a method (or data generator) ignores the streams the study gives it: its
    numbers then depend on what ran before it in the same process, which differs with
    the chunk size and the number of workers. Comparing the state before and after is
    the only cheap way to see that; moving the state back afterwards keeps the next
    trials of the process from inheriting the damage.
    """

    def __init__(self) -> None:
        global _clean_global_state
        fingerprint = _global_fingerprint()
        if _clean_global_state is None or _clean_global_state[0] != fingerprint:
            state = np.random.get_state(legacy=False)  # noqa: NPY002 - what is guarded
            if state["has_gauss"]:
                # A cached normal deviate is handed out without moving the generator, so
                # that one draw would go unseen. Nothing under spawn may rely on the
                # global generator, so the cache can simply be dropped.
                state = {**state, "has_gauss": 0, "gauss": 0.0}
                np.random.set_state(state)  # noqa: NPY002 - what is guarded
                fingerprint = _global_fingerprint()
            _clean_global_state = (fingerprint, state)
        self.fingerprint, self.state = _clean_global_state

    def drawn(self) -> bool:
        """Return whether the global generator moved since the trial began; undo it if so."""
        if _global_fingerprint() == self.fingerprint:
            return False
        np.random.set_state(self.state)  # noqa: NPY002 - undoing a method's draws
        return True


def _global_draw_error(culprit: str, fix: str) -> str:
    error = GlobalRandomStateError(
        f"{culprit} drew from NumPy's global random generator (np.random), so its results "
        f"depend on what ran before it in the same worker process and cannot be "
        f"reproduced. Under seeding 'spawn' every random number must come from the "
        f"streams the study passes in: {fix}."
    )
    return "".join(traceback.format_exception_only(error))


def _estimator(spec: TrialSpec, name: str) -> str:
    return next(method.estimator for method in spec.methods if method.name == name)


def _method_drew(spec: TrialSpec, name: str) -> str:
    return _global_draw_error(
        f"method {name!r} ({_estimator(spec, name)})",
        "give the estimator a random_state parameter, draw only from the random_state it "
        "is given, and pass it on to any estimator or function it uses inside",
    )


def _generator_drew(spec: TrialSpec) -> str:
    return _global_draw_error(
        f"data generator {spec.scenario.generator} of scenario {spec.scenario.name!r}",
        "draw only from the random_state argument the generator is given, and pass it on "
        "to any function it uses inside",
    )


def _preload(spec: TrialSpec) -> None:
    """Import the generator and estimators, so that a draw on import is not blamed."""
    for path in (spec.scenario.generator, *(method.estimator for method in spec.methods)):
        with suppress(ValueError):  # the trial reports it where it fails
            components.import_object(path)
    for metric in spec.metrics:
        with suppress(ValueError):
            score_function(metric)


# --- Trials ---------------------------------------------------------------------------


#: Warnings that :func:`fit_observed` leaves out: developer-facing deprecations (often
#: raised once, on first use of a lazily imported module), import and resource warnings.
#: scikit-learn's user-facing deprecations are FutureWarnings, which count.
PROCESS_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)

#: A memory address in a message (``0x7f...``), which differs from process to process.
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")


@contextmanager
def fit_observed(outcome: TrialOutcome, name: str) -> Iterator[None]:
    """Record the warnings that the block raises, and the time it takes, for ``name``.

    Every warning is caught, repeats included (the ``"always"`` filter), so that the
    count does not depend on what ran before in the process; none is printed. Warnings
    of :data:`PROCESS_WARNINGS` are ignored: they speak of the process (a lazy import's
    first use, a resource left to the garbage collector) rather than of the fit, and
    whether they appear depends on what ran before. The wall
    clock is ``time.perf_counter`` and the CPU clock ``time.thread_time``: the fit runs
    in this thread, with its BLAS and OpenMP pools pinned to one thread
    (:mod:`simstudy.parallel`). Both are recorded even if the block fails.

    Parameters
    ----------
    outcome
        Where ``warnings[name]`` and ``timings[name]`` go.
    name
        The method being fitted.

    Yields
    ------
    None
        Control, with warnings being caught and the clocks running.
    """
    wall, cpu = time.perf_counter(), time.thread_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for category in PROCESS_WARNINGS:  # added last, so they take precedence
            warnings.simplefilter("ignore", category)
        try:
            yield
        finally:
            outcome.timings[name] = (time.perf_counter() - wall, time.thread_time() - cpu)
            outcome.warnings[name] = list(caught)


def draw_and_fit(
    spec: TrialSpec,
    outcome: TrialOutcome,
    data_rng: np.random.RandomState | None,
    method_rngs: Mapping[str, np.random.RandomState | None],
    *,
    guard: _GlobalGeneratorGuard | None = None,
) -> TrialOutcome:
    """Draw the dataset and fit and score every method, from the given streams.

    ``None`` streams draw from NumPy's global generator as it stands, which is how the
    legacy procedure runs (see :func:`run_trial`). Failures are recorded in ``outcome``.
    With a ``guard`` (``spawn`` seeding), a draw from the global generator fails the
    data generator (recorded against every method) or the method that made it.

    Parameters
    ----------
    spec
        The scenario, the methods (fitted in order) and the metrics.
    outcome
        Where the dataset, labels, scores and errors go; ``outcome.step`` names the step
        in progress, and is ``None`` again once every step is over.
    data_rng
        The stream the data generator draws from, or ``None``.
    method_rngs
        Method name -> the stream its estimator is given as ``random_state``, or ``None``.
    guard
        Watches NumPy's global generator, and undoes a step's draws from it.

    Returns
    -------
    TrialOutcome
        ``outcome``, filled in.
    """
    outcome.step = DATA_STEP
    try:
        outcome.X, outcome.y = components.generate(
            spec.scenario.generator, spec.scenario.params, data_rng
        )
    except Exception:  # recorded against every method; the caller decides
        failure = traceback.format_exc()
        if guard is not None:
            guard.drawn()  # it failed anyway; only the undoing matters
        outcome.errors.update(dict.fromkeys(spec.method_names, failure))
        outcome.step = None
        return outcome
    if guard is not None and guard.drawn():
        outcome.errors.update(dict.fromkeys(spec.method_names, _generator_drew(spec)))
        outcome.step = None
        return outcome
    for method in spec.methods:
        outcome.step = method.name
        try:
            with fit_observed(outcome, method.name):
                estimator = components.build_estimator(
                    method.estimator, method.params, method_rngs[method.name]
                )
                labels = np.asarray(estimator.fit_predict(outcome.X))
            scores = {metric: score(metric, outcome.y, labels) for metric in spec.metrics}
        except Exception:  # recorded per method; the caller decides whether to raise
            outcome.errors[method.name] = traceback.format_exc()
            if guard is not None:
                guard.drawn()
            continue
        if guard is not None and guard.drawn():
            outcome.errors[method.name] = _method_drew(spec, method.name)
            continue
        outcome.scores[method.name] = scores
        outcome.labels[method.name] = labels
    outcome.step = None
    return outcome


def run_trial(
    spec: TrialSpec, trial: int, seed: int, *, time_limit: float | None = None
) -> TrialOutcome:
    """Run one trial of ``spec`` with its seed and return what it produced.

    Under ``spawn`` seeding, the data and each method draw from their own named streams
    of ``seed``, and drawing from NumPy's global generator fails the method (or, for the
    data generator, every method) that did it. Under ``legacy`` seeding, the global
    generator is seeded with ``seed``, the data are drawn from it and the methods are
    fitted in order with ``random_state=None``, as the blog post did.

    A failing method is recorded in ``outcome.errors`` and does not stop the others; a
    failing data generator is recorded against every method. The global generator's
    guard assumes that a process runs one spawn trial at a time, as chunk jobs and
    their workers do: a thread drawing from it meanwhile would be blamed on the trial.

    Parameters
    ----------
    spec, trial, seed
        What to run: the spec, the trial's index and its seed.
    time_limit
        Seconds the whole trial may take, or ``None`` for no limit. Past it, the step
        running (the data generator or a method) is interrupted and fails, and the
        methods after it fail as not run. Only code that returns to the Python
        interpreter can be interrupted (see :func:`trial_time_limit`); this must run in
        the main thread.

    Returns
    -------
    TrialOutcome
        The dataset, and each method's labels and scores or error.
    """
    outcome = TrialOutcome(trial=trial, seed=seed)
    # Imports and the guard's first look happen before the clock starts: they are the
    # process's start-up, not the trial's work.
    _preload(spec)
    guard = _GlobalGeneratorGuard() if spec.seeding == "spawn" else None
    restart_task_clock()  # what the heartbeat reports and the watchdog measures
    try:
        with trial_time_limit(time_limit):
            if guard is not None:
                method_rngs = {
                    name: seeding.method_stream(seed, name) for name in spec.method_names
                }
                draw_and_fit(spec, outcome, seeding.data_stream(seed), method_rngs, guard=guard)
            else:
                with seeding.legacy_global_state(seed):
                    draw_and_fit(spec, outcome, None, dict.fromkeys(spec.method_names))
    except TrialTimeLimitExceeded as expired:
        _record_time_limit(spec, outcome, expired, time_limit)
    if guard is not None:
        guard.drawn()  # a step the time limit interrupted may have drawn too
    return outcome


@contextmanager
def trial_time_limit(seconds: float | None) -> Iterator[None]:
    """Raise :class:`TrialTimeLimitExceeded` in the block once it has run ``seconds``.

    An interval timer (``setitimer(ITIMER_REAL)``) sends SIGALRM when the time is up,
    and its handler raises the exception where the main thread is. Python runs signal
    handlers only between bytecodes, so code stuck in a compiled call that never returns
    (a C loop that does not check for signals) is not interrupted; a sleep or a wait on
    a system call is. The previous handler and timer are restored afterwards.

    Parameters
    ----------
    seconds
        The time limit, or ``None`` for none (the block then runs as it is).

    Yields
    ------
    None
        Control, with the timer armed.

    Raises
    ------
    ValueError
        If ``seconds`` is not positive.
    RuntimeError
        If a limit is set outside the main thread, where signals cannot be handled.
    """
    if seconds is None:
        yield
        return
    if not seconds > 0:
        raise ValueError(f"time limit {seconds!r} must be a positive number of seconds")
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("a trial time limit works only in the main thread (it uses SIGALRM)")
    armed = True

    def expire(signum: int, frame: object) -> None:
        nonlocal armed
        if armed:  # once, and never after the block is over
            armed = False
            raise TrialTimeLimitExceeded(f"time limit of {seconds:g} s reached")

    previous_handler = signal.signal(signal.SIGALRM, expire)
    previous_delay, previous_interval = signal.setitimer(signal.ITIMER_REAL, seconds)
    started = time.monotonic()
    try:
        yield
    finally:
        try:  # the alarm may still interrupt this line; the cleanup below runs anyway
            armed = False
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(
                signal.SIGALRM,
                signal.SIG_DFL if previous_handler is None else previous_handler,
            )
            if previous_delay > 0:  # someone else's timer: give it back what is left
                left = previous_delay - (time.monotonic() - started)
                signal.setitimer(signal.ITIMER_REAL, max(left, 1e-6), previous_interval)


def _record_time_limit(
    spec: TrialSpec, outcome: TrialOutcome, expired: TrialTimeLimitExceeded, limit: float | None
) -> None:
    """Fail the step the time limit interrupted, and the methods that never ran."""
    step = outcome.step
    if step is None:  # the limit came as the trial ended: it did finish
        return
    outcome.timed_out = True
    if step == DATA_STEP:
        while_doing = f"its data generator {spec.scenario.generator} ran"
        interrupted, not_run = list(spec.method_names), []
    else:
        while_doing = f"method {step!r} ran"
        names = list(spec.method_names)
        interrupted, not_run = [step], names[names.index(step) + 1 :]
    expired.args = (
        f"trial {outcome.trial} ran past its time limit of {limit:g} s while {while_doing}, "
        f"and was stopped there",
    )
    text = "".join(traceback.format_exception(expired))
    skipped = "".join(
        traceback.format_exception_only(
            TrialTimeLimitExceeded(
                f"not run: trial {outcome.trial} reached its time limit of {limit:g} s "
                f"while {while_doing}"
            )
        )
    )
    for name in interrupted:
        outcome.scores.pop(name, None)
        outcome.labels.pop(name, None)
        outcome.errors[name] = text
    for name in not_run:
        outcome.errors[name] = skipped
        outcome.not_run.add(name)
    outcome.step = None


def trial_rows(
    spec: TrialSpec, outcome: TrialOutcome, *, on_error: str = "raise"
) -> list[dict[str, Any]]:
    """Turn a trial's outcome into table rows, one per method, sorted by method name.

    Parameters
    ----------
    spec
        The spec the trial ran; its digest goes in every row.
    outcome
        What the trial produced (see :func:`run_trial`).
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
    rows = []
    for method in sorted(spec.method_names):
        error = outcome.errors.get(method)
        row: dict[str, Any] = {
            "scenario": spec.scenario.name,
            "trial": outcome.trial,
            "method": method,
            "seed": outcome.seed,
            "spec": spec.digest,
            "status": STATUS_ERROR if error else STATUS_OK,
            "error": _one_line(error) if error else "",
            **warning_cells(outcome.warnings.get(method, [])),
            **timing_cells(outcome.timings.get(method)),
        }
        scores = outcome.scores.get(method, {})
        row.update({metric: scores.get(metric) for metric in spec.metrics})
        rows.append(row)
    return rows


def warning_cells(caught: Sequence[warnings.WarningMessage]) -> dict[str, Any]:
    """The warning columns of a row: how many warnings, and the first on one line.

    Parameters
    ----------
    caught
        The warnings a method raised on a trial, in order.

    Returns
    -------
    dict
        ``n_warnings`` (int) and ``warning``: ``"<category>: <message>"`` of the first
        one with its whitespace collapsed to single spaces and any memory address
        written ``0x...``, or ``""`` if there was none.
    """
    if not caught:
        return {"n_warnings": 0, "warning": ""}
    first = caught[0]
    text = " ".join(f"{first.category.__name__}: {first.message}".split())
    text = _ADDRESS.sub("0x...", text)
    return {"n_warnings": len(caught), "warning": text}


def timing_cells(timing: tuple[float, float] | None) -> dict[str, float | None]:
    """The timing columns of a row (:data:`~simstudy.tables.TIMING_COLUMNS`).

    Parameters
    ----------
    timing
        Wall and CPU seconds of the method's fit, or ``None`` if it was not fitted.

    Returns
    -------
    dict
        ``wall_seconds`` and ``cpu_seconds``, ``None`` (an empty cell) when not fitted.
    """
    wall, cpu = timing if timing is not None else (None, None)
    return {"wall_seconds": wall, "cpu_seconds": cpu}


def _one_line(formatted_traceback: str) -> str:
    """The last line of a traceback: the exception type and message."""
    lines = [line for line in formatted_traceback.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "unknown error"


# --- Does a trial repeat? -------------------------------------------------------------


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
        What the run produced (see :func:`run_trial`).

    Returns
    -------
    RunPrint
        The cells of each method's row (failures as error rows), the data's digest and
        whether the time limit ran out.
    """
    columns = trial_columns(spec.metrics)
    cells = {
        row["method"]: tuple(_ADDRESS.sub("0x...", format_value(row[c])) for c in columns)
        for row in trial_rows(spec, outcome, on_error="record")
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
        culprit = " and ".join(f"method {m!r} ({_estimator(spec, m)})" for m in methods)
        what, replayed = "gave other values", methods[0]
        columns = trial_columns(spec.metrics)
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
    outcome = run_trial(task.spec, task.trial, task.seed, time_limit=task.time_limit)
    if task.again:  # its failures are compared, not raised
        return [], run_print(task.spec, outcome)
    rows = trial_rows(task.spec, outcome, on_error=task.on_error)
    return rows, run_print(task.spec, outcome) if task.watch else None


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
        """Count ``count`` more trials done, and log the status if it is due.

        The status is logged when the last trial is done, or when ``interval`` seconds have
        passed since the last line.

        Parameters
        ----------
        count
            The number of trials just done.
        """
        self.done += count
        now = time.monotonic()
        if self.done == self.total or now - self.last_report >= self.interval:
            self.last_report = now
            logger.info(self.status(now))

    def status(self, now: float) -> str:
        """Describe the progress: trials done, rate, time elapsed and time left.

        Parameters
        ----------
        now
            The current time, as :func:`time.monotonic`.

        Returns
        -------
        str
            The log line.
        """
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


def _age(seconds: float) -> str:
    return f"{max(seconds, 0):.0f} s" if seconds < 60 else _duration(seconds)


def stuck_grace(time_limit: float) -> float:
    """Seconds past ``time_limit`` after which a trial's worker process is killed.

    A trial that ignores its SIGALRM (stuck in compiled code) is stopped from outside
    once it has run ``time_limit + stuck_grace(time_limit)`` seconds; the margin leaves
    the alarm ample time to work first.

    Parameters
    ----------
    time_limit
        The trial time limit, in seconds.

    Returns
    -------
    float
        Half the time limit, and at least 2 seconds.
    """
    return max(2.0, 0.5 * time_limit)


class _ChunkMonitor:
    """A daemon thread that watches a chunk's running trials from the chunk process.

    ``plan`` holds the (trial, seed) of each task, by task index; the tasks past
    ``progress.total`` are the repeat check's second runs. Every ``interval`` seconds it
    logs the trials in flight and how long each has run,
    so the log shows a trial that hangs even though no trial finishes. With a time
    limit, it also kills the worker process of a trial that ignores its alarm (see
    :func:`stuck_grace`); loky then reports the worker's death, which names the trial.
    """

    def __init__(
        self,
        tracker: TaskTracker,
        progress: Progress,
        plan: Sequence[tuple[int, int]],
        *,
        interval: float,
        time_limit: float | None,
    ) -> None:
        self.tracker = tracker
        self.progress = progress
        self.plan = plan
        self.interval = interval
        self.time_limit = time_limit
        #: Trial -> seconds it had run when it was found stuck past its limit.
        self.stuck: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="chunk-monitor", daemon=True)

    def __enter__(self) -> _ChunkMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    def _watch(self) -> None:
        # The time limit's SIGALRM must reach the main thread, which runs the trials
        # when the chunk has one worker; a signal a helper thread took would not
        # interrupt the main thread's sleep or system call.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        tick = max(0.05, min(self.interval, 1.0))
        next_report = time.monotonic() + self.interval
        while not self._stop.wait(tick):
            now = time.monotonic()
            report = now >= next_report
            if not report and self.time_limit is None:
                continue
            running = self.tracker.running()
            if self.time_limit is not None:
                self._stop_stuck(running)
            if report and running:
                next_report = now + self.interval
                logger.info("%s", self.in_flight(running))

    def in_flight(self, running: Sequence[RunningTask]) -> str:
        """The heartbeat line: each running trial with its seed and how long it has run."""
        now = time.time()
        trials = ", ".join(
            f"trial {self.plan[task.index][0]} "
            f"(seed {self.plan[task.index][1]}, {_age(now - task.started)}"
            f"{'' if task.restarted else ', starting'}"
            f"{', second run' if task.index >= self.progress.total else ''})"
            for task in running
        )
        return (
            f"{self.progress.label}: in flight: {trials}; "
            f"{self.progress.done}/{self.progress.total} trials done"
        )

    def _stop_stuck(self, running: Sequence[RunningTask]) -> None:
        assert self.time_limit is not None
        now = time.time()
        for task in running:
            trial = self.plan[task.index][0]
            ran = now - task.started
            if not task.restarted:  # still importing: the limit has not started
                continue
            if trial in self.stuck or ran < self.time_limit + stuck_grace(self.time_limit):
                continue
            self.stuck[trial] = ran
            if task.pid == os.getpid():
                logger.error(
                    "%s: trial %d has run %s, past its time limit of %g s, and does not "
                    "stop: it is stuck in compiled code that never returns to Python, "
                    "which the time limit cannot interrupt inside the chunk's own process. "
                    "Stop the job by hand; with 2 or more threads per chunk its worker "
                    "process would be killed instead.",
                    self.progress.label,
                    trial,
                    _age(ran),
                    self.time_limit,
                )
                continue
            logger.error(
                "%s: trial %d has run %s, past its time limit of %g s, and does not stop "
                "(stuck in compiled code?): killing its worker process %d",
                self.progress.label,
                trial,
                _age(ran),
                self.time_limit,
                task.pid,
            )
            with suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(task.pid, signal.SIGKILL)


def _worker_death_message(
    spec: TrialSpec,
    plan: Sequence[tuple[int, int]],
    death: WorkerDiedError,
    stuck: Mapping[int, float],
    time_limit: float | None,
    on_error: str,
) -> str:
    """Name the scenario, method(s), trials and seeds a dead worker took with it."""
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
                f"Trial {trial} ran {_age(stuck[trial])}, past its time limit of "
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
    lines.append(f"(joblib: {death.detail})")
    return "\n".join(lines)


def iter_chunk_rows(
    spec: TrialSpec,
    start: int,
    stop: int,
    *,
    n_jobs: int = 1,
    on_error: str = "raise",
    progress_interval: float = 10.0,
    time_limit: float | None = None,
    job_started: float | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield the rows of trials ``start`` to ``stop - 1``, in trial order.

    Trials are spread over ``n_jobs`` worker processes (never more than there are
    trials). Rows are yielded as they complete in order, so memory stays flat however
    long the chunk is. Every ``progress_interval`` seconds the log shows how far the
    chunk has got and, while any run, the trials in flight. Under ``on_error: record``,
    the first :data:`MAX_LOGGED_FAILURES` failed rows are logged as warnings.

    Once every row is yielded, trial ``start`` runs a second time with its seed, as the
    last task (so that state a method keeps between calls has had the other trials to
    build up), and its rows and dataset must equal those of its first run (see
    :func:`check_repeated`): this costs one trial per chunk. A difference raises
    :class:`NotRepeatableError` under both ``on_error`` settings, after the rows were
    yielded, so a caller must discard them (:func:`run_chunk` writes nothing). It is
    not turned into error rows: values that change from run to run put every row of
    the method in doubt, not only those of one trial.

    Parameters
    ----------
    spec
        The spec the trials run; their seeds come from its root seed and seeding.
    start, stop
        The half-open range of trial indices.
    n_jobs
        The number of worker processes; one (or fewer) runs the trials in this process.
    on_error
        What a failed trial does (see :func:`trial_rows`).
    progress_interval
        Seconds between the progress and in-flight lines of the log.
    time_limit
        The seconds a trial may take (see :func:`run_trial`); ``None`` means no limit.
    job_started
        When the job started (seconds since the epoch); if given, the log says how long
        after it the first trial was done: the job's start-up.

    Yields
    ------
    dict
        One row per trial and method, as :func:`trial_rows` makes them.

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
        :data:`ON_ERROR_CHOICES` (raised by the first trial) or the range is invalid.
    """
    if time_limit is not None and not time_limit > 0:
        raise ValueError(f"time limit {time_limit!r} must be a positive number of seconds")
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
    failures = 0
    with (
        TaskTracker() as tracker,
        _ChunkMonitor(
            tracker, progress, plan, interval=progress_interval, time_limit=time_limit
        ) as monitor,
    ):
        if workers > 1:
            _preload(spec)  # once, here: the forked workers inherit the imports
        first: RunPrint | None = None
        try:
            results = ordered_map(_run_task, tasks, n_jobs=workers, tracker=tracker)
            for index, (rows, run) in enumerate(results):
                if index == len(seeds):
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
                        _log_failure(label, row, failures)
                    yield row
                progress.advance()
        except WorkerDiedError as death:
            message = _worker_death_message(spec, plan, death, monitor.stuck, time_limit, on_error)
            # The message holds joblib's report; its traceback is only joblib's insides.
            raise TrialError(message) from None


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


def _log_failure(label: str, row: Mapping[str, Any], count: int) -> None:
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
    job_started: float | None = None,
) -> int:
    """Run trials ``start`` to ``stop - 1`` and write their rows to the CSV ``output``.

    The files appear only when every trial is done; a failure or a kill leaves no
    partial file.

    Parameters
    ----------
    spec, start, stop, n_jobs, on_error, progress_interval, time_limit, job_started
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
        :class:`NotRepeatableError` when the chunk's first trial does not repeat.
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
        job_started=job_started,
    )
    columns = trial_columns(spec.metrics)
    with atomic_write(output) as handle, _optional_writer(timings) as timing_handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        timing_writer = None
        if timing_handle is not None:
            timing_writer = csv.writer(timing_handle, lineterminator="\n")
            timing_writer.writerow(TIMING_COLUMNS)
        count = 0
        for row in rows:
            writer.writerow([format_value(row[column]) for column in columns])
            if timing_writer is not None:
                timing_writer.writerow([format_value(row[column]) for column in TIMING_COLUMNS])
            count += 1
        return count


@contextmanager
def _optional_writer(path: str | Path | None) -> Iterator[Any]:
    if path is None:
        yield None
        return
    with atomic_write(path) as handle:
        yield handle
