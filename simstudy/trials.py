"""Run one seeded trial: one dataset, every method on it, their named values.

A trial draws its data from its scenario, then runs each method on it. A method
function returns its values itself; an estimator is run by its task: a clusterer is
fitted on all the data and its labels scored against the truth, a classifier or
regressor is fitted on a training part and scored on the held-out rest (the split is
drawn from the trial's data stream, after the data). Its results depend only on the
:class:`~simstudy.spec.TrialSpec` and the trial's seed, never on which process, chunk or
machine runs it.

This module and the ones it imports decide a trial's values; their code is what a
chunk's digest covers (``TRIAL_CODE`` in :mod:`simstudy.plan`), with
:mod:`simstudy.rows`, which turns an outcome into rows. Two guards decide whether a
misbehaving step fails:

- under ``spawn`` seeding, a method or data generator that draws from NumPy's global
  generator fails (its numbers would depend on what ran before it in the process; see
  :mod:`simstudy.guard`);
- with a time limit, a step that runs too long is stopped and fails, and the methods
  after it fail as not run (see :mod:`simstudy.timelimit`).

A spec's generator and method functions are loaded, and its paths imported, once per
process (:mod:`simstudy.loading`).

The two exceptions a trial records, :class:`GlobalRandomStateError` and
:class:`TrialTimeLimitExceeded`, are defined here because an error row names them by
this module (``simstudy.trials.TrialTimeLimitExceeded: ...``): moving them would change
rows. Running many trials (chunks, workers, progress, the repeat check, failure reports)
is :mod:`simstudy.chunks`' job, and none of it is imported here.
"""

from __future__ import annotations

import copy
import math
import time
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simstudy import components, functions, loading, seeding
from simstudy.guard import GlobalGeneratorGuard
from simstudy.metrics import metric_column, score
from simstudy.spec import Method, TrialSpec
from simstudy.timelimit import expiry_errors, time_limit

#: The step of a trial that draws its dataset (the other steps are named by method).
DATA_STEP = "data"


@dataclass
class TrialOutcome:
    """Everything one trial produced.

    ``data`` is what the generator returned; ``X`` and ``y`` its features and truth,
    for estimator methods, and ``split`` the (train, test) indices of the held-out
    scoring, once a classifier or regressor has asked for them. ``labels`` (a
    clusterer's) and ``scores`` (every method's named values) have an entry for each
    method that ran; ``errors`` holds a
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
    data: Any = None
    X: np.ndarray | None = None
    y: np.ndarray | None = None
    split: tuple[np.ndarray, np.ndarray] | None = None
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    scores: dict[str, dict[str, float]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    not_run: set[str] = field(default_factory=set)
    warnings: dict[str, list[warnings.WarningMessage]] = field(default_factory=dict)
    timings: dict[str, tuple[float, float]] = field(default_factory=dict)
    step: str | None = None
    timed_out: bool = False


class GlobalRandomStateError(RuntimeError):
    """Under ``spawn`` seeding, a method or data generator drew from NumPy's global generator."""


class TrialTimeLimitExceeded(BaseException):
    """Raised inside a trial, from SIGALRM, when its time limit runs out.

    It derives from ``BaseException``, as ``KeyboardInterrupt`` does, so that a method's
    own ``except Exception`` cannot swallow it and carry on past the limit.
    """


# --- What a draw from the global generator means for a trial ------------------


def _global_draw_error(culprit: str, fix: str) -> str:
    error = GlobalRandomStateError(
        f"{culprit} drew from NumPy's global random generator (np.random), so its results "
        f"depend on what ran before it in the same worker process and cannot be "
        f"reproduced. Under seeding 'spawn' every random number must come from the "
        f"streams the study passes in: {fix}."
    )
    return "".join(traceback.format_exception_only(error))


def _method_path(spec: TrialSpec, name: str) -> str:
    return next(method.path for method in spec.methods if method.name == name)


def _method_drew(spec: TrialSpec, name: str) -> str:
    return _global_draw_error(
        f"method {name!r} ({_method_path(spec, name)})",
        "give the estimator a random_state parameter (a function an rng parameter), draw "
        "only from the stream it is given, and pass it on to any estimator or function "
        "it uses inside",
    )


def _generator_drew(spec: TrialSpec) -> str:
    return _global_draw_error(
        f"data generator {spec.scenario.generator} of scenario {spec.scenario.name!r}",
        "draw only from the rng or random_state argument the generator is given, and pass "
        "it on to any function it uses inside",
    )


# --- Trials ---------------------------------------------------------------------------


#: Warnings that :func:`fit_observed` leaves out: developer-facing deprecations (often
#: raised once, on first use of a lazily imported module), import and resource warnings.
#: scikit-learn's user-facing deprecations are FutureWarnings, which count.
PROCESS_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


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
    data_rng: Any,
    method_rngs: Mapping[str, Any],
    *,
    guard: GlobalGeneratorGuard | None = None,
) -> TrialOutcome:
    """Draw the data and run every method on it, from the given streams.

    ``None`` streams draw from NumPy's global generator as it stands, which is how the
    legacy procedure runs (see :func:`run_trial`). Failures are recorded in ``outcome``.
    With a ``guard`` (``spawn`` seeding), a draw from the global generator fails the
    data generator (recorded against every method) or the method that made it.

    Parameters
    ----------
    spec
        The scenario, the methods (run in order) and the metrics.
    outcome
        Where the data, labels, values and errors go; ``outcome.step`` names the step
        in progress, and is ``None`` again once every step is over.
    data_rng
        The stream the data generator draws from (the kind it asks for), or ``None``.
    method_rngs
        Method name -> its stream (the kind it asks for), or ``None``.
    guard
        Watches NumPy's global generator, and undoes a step's draws from it.

    Returns
    -------
    TrialOutcome
        ``outcome``, filled in.
    """
    outcome.step = DATA_STEP
    try:
        generator, kind = loading.generator(spec)  # as components.generate does it
        outcome.data = generator(**spec.scenario.params, **{kind: data_rng})
        if any(method.estimator is not None for method in spec.methods):
            outcome.X, outcome.y = components.labelled_data(outcome.data, spec.scenario.generator)
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
                values = _run_method(spec, method, outcome, method_rngs[method.name], data_rng)
            _check_values(spec, method, values)
        except Exception:  # recorded per method; the caller decides whether to raise
            outcome.errors[method.name] = traceback.format_exc()
            outcome.labels.pop(method.name, None)
            if guard is not None:
                guard.drawn()
            continue
        if guard is not None and guard.drawn():
            outcome.errors[method.name] = _method_drew(spec, method.name)
            outcome.labels.pop(method.name, None)
            continue
        outcome.scores[method.name] = values
    outcome.step = None
    return outcome


def _run_method(
    spec: TrialSpec, method: Method, outcome: TrialOutcome, stream: Any, data_rng: Any
) -> dict[str, float]:
    """One method's values on the trial's data (inside :func:`fit_observed`)."""
    if method.function is not None:
        function = loading.method_function(spec, method)
        return functions.run_method_function(
            function, method.function, _own(spec, outcome.data), method.params, stream
        )
    estimator = components.build_estimator(method.estimator, method.params, stream)
    if method.task in (None, "clusterer"):
        labels = np.asarray(estimator.fit_predict(_own(spec, outcome.X)))
        outcome.labels[method.name] = labels
        truth, predicted = outcome.y, labels
    else:
        train, test = _held_out_split(spec, outcome, data_rng)
        estimator.fit(outcome.X[train], outcome.y[train])
        truth, predicted = outcome.y[test], np.asarray(estimator.predict(outcome.X[test]))
    return {metric_column(metric): score(metric, truth, predicted) for metric in spec.metrics}


def _own(spec: TrialSpec, data: Any) -> Any:
    """The data as a method is given them: its own copy, when methods share a chunk.

    Under ``spawn`` seeding with several methods in the spec (``methods_per_chunk:
    all``), each method gets a deep copy, so that one that changes its data in place
    changes nothing another method sees: each gets the data it would get in a chunk of
    its own. Alone, and under ``legacy`` seeding (which fits every method on the same
    data, as the blog post did), the data themselves. A classifier or regressor is
    given rows picked by index, which are copies already.
    """
    if spec.seeding == "spawn" and len(spec.methods) > 1:
        return copy.deepcopy(data)
    return data


def _held_out_split(spec: TrialSpec, outcome: TrialOutcome, data_rng: Any) -> tuple:
    """The trial's (train, test) indices, drawn from its data stream on first need.

    Drawn right after the data, whatever method asks first, so every classifier and
    regressor of the trial, in any chunk, is scored on the same held-out part.
    """
    if outcome.split is None:
        n = len(outcome.y)
        n_test = math.ceil(spec.test_size * n)
        if not 0 < n_test < n:
            raise ValueError(f"test_size {spec.test_size} leaves no training or test part of {n}")
        order = data_rng.permutation(n)
        outcome.split = (np.sort(order[n_test:]), np.sort(order[:n_test]))
    return outcome.split


def _check_values(spec: TrialSpec, method: Method, values: Mapping[str, float]) -> None:
    """A method's values must be those it gave on the sample trial, and none NaN."""
    expected = method.values or spec.values
    if method.function is not None and set(values) != set(expected):
        raise ValueError(
            f"method {method.name!r} ({method.function}) returned {sorted(values)}, but "
            f"{sorted(expected)} on the sample trial the study was checked with: a "
            f"method must return the same names on every trial"
        )
    missing = [name for name, value in values.items() if math.isnan(value)]
    if missing:
        raise ValueError(f"method {method.name!r} gave NaN for {', '.join(missing)}")


def run_trial(
    spec: TrialSpec,
    trial: int,
    seed: int,
    *,
    time_limit: float | None = None,
    on_start: Callable[[], object] | None = None,
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
    on_start
        Called with no arguments once the trial's set-up is done (the imports of its
        generator, estimators and metrics, and the guard's first look at the global
        generator), just before its work and its time limit start. Chunk jobs restart
        their task's clock there (:func:`simstudy.tasks.restart_task_clock`), so that
        their heartbeat and watchdog measure the trial's work, not the set-up.

    Returns
    -------
    TrialOutcome
        The dataset, and each method's labels and scores or error.
    """
    outcome = TrialOutcome(trial=trial, seed=seed)
    # Imports and the guard's first look happen before the clock starts: they are the
    # process's start-up, not the trial's work.
    loading.preload_once(spec)
    guard = GlobalGeneratorGuard() if spec.seeding == "spawn" else None
    if on_start is not None:
        on_start()
    try:
        with trial_time_limit(time_limit):
            if guard is not None:
                data_rng, method_rngs = trial_streams(spec, seed)
                draw_and_fit(spec, outcome, data_rng, method_rngs, guard=guard)
            else:
                with seeding.legacy_global_state(seed):
                    draw_and_fit(spec, outcome, None, dict.fromkeys(spec.method_names))
    except TrialTimeLimitExceeded as expired:
        _record_time_limit(spec, outcome, expired, time_limit)
    if guard is not None:
        guard.drawn()  # a step the time limit interrupted may have drawn too
    return outcome


def trial_streams(spec: TrialSpec, seed: int) -> tuple[Any, dict[str, Any]]:
    """The streams of a ``spawn`` trial: its data's, and each method's.

    Each is the kind its function asks for (SPEC 7, see
    :func:`simstudy.seeding.stream_of_kind`): an estimator gets a ``RandomState`` as its
    ``random_state``; a generator or a method function gets a ``Generator`` for a
    parameter named ``rng``, a ``RandomState`` for ``random_state``, nothing if it takes
    no stream.

    Parameters
    ----------
    spec
        The trial's spec.
    seed
        The trial's seed.

    Returns
    -------
    tuple
        The data stream, and method name -> stream.
    """
    data_kind = loading.generator(spec)[1]
    method_rngs = {}
    for method in spec.methods:
        if method.function is None:
            method_rngs[method.name] = seeding.method_stream(seed, method.name)
        else:
            kind = components.stream_parameter(loading.method_function(spec, method))
            method_rngs[method.name] = seeding.stream_of_kind(seed, f"method/{method.name}", kind)
    return seeding.stream_of_kind(seed, "data", data_kind), method_rngs


def trial_time_limit(seconds: float | None) -> AbstractContextManager[None]:
    """Raise :class:`TrialTimeLimitExceeded` in the block once it has run ``seconds``.

    The alarm is :func:`simstudy.timelimit.time_limit`'s: only code that returns to the
    Python interpreter is interrupted, and only in the main thread.

    Parameters
    ----------
    seconds
        The time limit, or ``None`` for none (the block then runs as it is).

    Returns
    -------
    contextlib.AbstractContextManager
        The time limit, to use in a ``with`` statement; it raises as
        :func:`~simstudy.timelimit.time_limit` does (``ValueError`` for a limit that is
        not positive, ``RuntimeError`` outside the main thread).
    """
    return time_limit(seconds, TrialTimeLimitExceeded)


def _record_time_limit(
    spec: TrialSpec, outcome: TrialOutcome, expired: TrialTimeLimitExceeded, limit: float | None
) -> None:
    """Fail the step the time limit interrupted, and the methods that never ran."""
    step = outcome.step
    if step is None:  # the limit came as the trial ended: it did finish
        return
    outcome.timed_out = True
    stopped = None if step == DATA_STEP else step
    assert limit is not None  # only a time limit raises TrialTimeLimitExceeded
    errors, not_run = expiry_errors(spec, outcome.trial, stopped, expired, limit)
    for name in errors.keys() - not_run:
        outcome.scores.pop(name, None)
        outcome.labels.pop(name, None)
    outcome.errors.update(errors)
    outcome.not_run.update(not_run)
    outcome.step = None
