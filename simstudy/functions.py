"""Methods that are plain functions: ``f(data, [rng], **params) -> {name: number}``.

A study names such a method as ``function: package.module.name`` with ``params``. The
function gets the trial's data as its generator returned it, the method's own random
stream if it takes one (as ``rng`` or ``random_state``, see
:func:`simstudy.components.stream_parameter`), and returns the trial's named values:
estimates, standard errors, p-values, decisions. Each name becomes a column of
``trials.csv``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from simstudy.components import STREAM_PARAMETERS, load_function, signature, stream_parameter


def load_method_function(path: str) -> Callable[..., Any]:
    """Return the method function at ``path``: ``f(data, [rng], **params) -> mapping``.

    Parameters
    ----------
    path
        Dotted path of the function.

    Returns
    -------
    callable
        The function.

    Raises
    ------
    ValueError
        If ``path`` does not import, or the function cannot take the data as its first
        argument.
    """
    function = load_function(path, "method")
    parameters = signature(function).parameters
    first = next(iter(parameters.values()), None)
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if first is None or first.kind not in positional or first.name in STREAM_PARAMETERS:
        raise ValueError(
            f"{path!r} is not a method function: its first parameter must take the data "
            f"(as in f(data, rng, **params)), got {list(parameters)}"
        )
    return function


#: What a method function may return as a value. NumPy's booleans count (``p < alpha``
#: gives one); complex numbers do not, as ``float`` would drop their imaginary part.
_REAL = (int, float, np.integer, np.floating, np.bool_)


def named_values(result: Any, path: str) -> dict[str, float]:
    """Check what a method function returned and convert it to named floats.

    Parameters
    ----------
    result
        The function's return value.
    path
        The function's dotted path, for the message.

    Returns
    -------
    dict
        Name -> value as a Python float (``True`` and ``numpy.True_`` are 1.0; NaN and
        infinities stay).

    Raises
    ------
    ValueError
        If ``result`` is not a mapping of string names to real numbers (a complex
        number is refused, not cut to its real part).
    """
    if not isinstance(result, Mapping) or not result:
        raise ValueError(
            f"{path!r} must return a mapping of named numbers such as {{'estimate': 0.1}}, "
            f"got {type(result).__name__} {result!r:.80}"
        )
    values = {}
    for name, value in result.items():
        if not isinstance(name, str) or not isinstance(value, _REAL):
            raise ValueError(
                f"{path!r} returned {name!r}: {value!r:.60}; every name must be a string "
                f"and every value a real number"
            )
        values[name] = float(value)
    return values


def call_method_function(
    path: str, data: Any, params: Mapping[str, Any], stream: Any
) -> dict[str, float]:
    """Run a method function on one trial's data: ``f(data, [stream], **params)``.

    Parameters
    ----------
    path
        Dotted path of the function (see :func:`load_method_function`).
    data
        The trial's data, as its generator returned it.
    params
        Keyword arguments for the function.
    stream
        The method's own stream, passed as the function's ``rng`` or ``random_state``
        if it takes one.

    Returns
    -------
    dict
        Name -> value (see :func:`named_values`).
    """
    return run_method_function(load_method_function(path), path, data, params, stream)


def run_method_function(
    function: Callable[..., Any], path: str, data: Any, params: Mapping[str, Any], stream: Any
) -> dict[str, float]:
    """Run a method function already loaded: ``function(data, [stream], **params)``.

    Parameters
    ----------
    function
        The function, as :func:`load_method_function` returns it.
    path
        Its dotted path, for the messages.
    data, params, stream
        As for :func:`call_method_function`.

    Returns
    -------
    dict
        Name -> value (see :func:`named_values`).
    """
    kind = stream_parameter(function)
    result = function(data, **params, **({kind: stream} if kind else {}))
    return named_values(result, path)
