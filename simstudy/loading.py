"""A spec's generator and method functions, loaded once per process, and its imports.

A chunk runs every trial with the same spec. Finding the generator and the method
functions by their dotted paths, and importing every path, again for each trial would
cost some 20 µs a trial, as much as a cheap trial's own work. So what was loaded for the
last spec seen in this process is kept, keyed by that spec object (:func:`generator`,
:func:`method_function`, :func:`preload_once`). A failed load is not remembered: the
next trial tries again, and fails where it did.

:func:`preload` imports a spec's generator, estimators and metrics, so that a draw from
NumPy's global generator as a module is imported is not blamed on a trial, and the
imports are not counted in a trial's time. With :mod:`simstudy.trials`, which loads
through this module, this is code that a chunk's digest covers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from simstudy import components, functions
from simstudy.metrics import score_function
from simstudy.spec import Method, TrialSpec

# What was loaded for the last spec seen in this process: (that spec, key -> value), the
# keys being "preloaded", "generator" and ("function", method name).
_loaded: tuple[TrialSpec | None, dict[Any, Any]] = (None, {})


def _load_once(spec: TrialSpec, key: Any, load: Callable[[], Any]) -> Any:
    """``load()``, or what it returned for ``key`` of this spec object before."""
    global _loaded
    if _loaded[0] is not spec:
        _loaded = (spec, {})
    found = _loaded[1]
    if key not in found:
        found[key] = load()
    return found[key]


def generator(spec: TrialSpec) -> tuple[Callable[..., Any], str | None]:
    """The spec's data generator, and the kind of stream it takes.

    Parameters
    ----------
    spec
        The trial's spec.

    Returns
    -------
    tuple
        The generator function, and the name of its stream parameter (see
        :func:`simstudy.components.stream_parameter`). Loading it raises as
        :func:`simstudy.components.load_generator` does.
    """

    def load() -> tuple[Callable[..., Any], str | None]:
        found = components.load_generator(spec.scenario.generator)
        return found, components.stream_parameter(found)

    return _load_once(spec, "generator", load)


def method_function(spec: TrialSpec, method: Method) -> Callable[..., Any]:
    """A function method's function.

    Parameters
    ----------
    spec
        The trial's spec.
    method
        One of its methods, a function method.

    Returns
    -------
    callable
        The function; loading it raises as
        :func:`~simstudy.functions.load_method_function` does.
    """
    return _load_once(
        spec, ("function", method.name), lambda: functions.load_method_function(method.function)
    )


def preload_once(spec: TrialSpec) -> None:
    """:func:`preload`, until every path of this spec object has imported once.

    Parameters
    ----------
    spec
        The trial's spec.
    """
    if not _load_once(spec, "preloaded", lambda: _preload(spec)):
        del _loaded[1]["preloaded"]  # not every path imported: again next trial


def preload(spec: TrialSpec) -> None:
    """Import the generator, estimators and metrics, so that a draw on import is not blamed.

    :func:`simstudy.trials.run_trial` does it first; a chunk calls it once before it
    forks its workers, which then inherit the imports. A path that cannot be imported is
    passed over here: the trial reports it where it fails.

    Parameters
    ----------
    spec
        The spec whose generator, estimators and metrics to import.
    """
    _preload(spec)


def _preload(spec: TrialSpec) -> bool:
    """:func:`preload`'s work; returns whether every path imported."""
    imported = True
    for path in (spec.scenario.generator, *(method.path for method in spec.methods)):
        try:
            components.import_object(path)
        except ValueError:  # the trial reports it where it fails
            imported = False
    for metric in spec.metrics:
        try:
            score_function(metric)
        except ValueError:
            imported = False
    return imported
