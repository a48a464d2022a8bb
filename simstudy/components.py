"""Load the pieces a study names by dotted path: generators, methods and metrics.

A scenario names its data generator as ``generator: package.module.function``; a method
is either ``estimator: package.module.Class`` (a scikit-learn-style estimator) or
``function: package.module.function`` (any function of the data), with ``params``.
Everything here loads such names, for the checks before any job runs
(:mod:`simstudy.component_checks`) and for the trials, and refuses what is not of the
kind the study uses it as.

Random streams follow Scientific Python's SPEC 7: a function whose stream parameter is
named ``rng`` gets a ``numpy.random.Generator``; one named ``random_state`` gets a
``numpy.random.RandomState`` (what scikit-learn accepts). See :func:`stream_parameter`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # scikit-learn takes seconds to import; only load it when checking
    from sklearn.base import BaseEstimator

#: The generator used by a scenario that names none.
DEFAULT_GENERATOR = "simstudy.data.anisotropic_blobs"

# The signatures of the functions already inspected, by the identity of the function
# (which the entry keeps alive, so that its id is not reused): id -> (function, its
# signature). A trial loads its generator and method functions by path and asks for
# their stream parameter, and ``inspect.signature`` costs some 20 µs a call: several
# per trial, as much as a cheap trial's own work.
_SIGNATURES: dict[int, tuple[Callable[..., Any], inspect.Signature]] = {}

#: At most this many remembered signatures: a module attribute that makes a new callable
#: at every lookup (a module ``__getattr__``) must not keep them all alive.
_MAX_SIGNATURES = 1024


def signature(function: Callable[..., Any]) -> inspect.Signature:
    """Return ``inspect.signature(function)``, remembered for the function object.

    The same object always has the same signature, so it is worked out once per
    process; a new object (a module imported again) is inspected anew.

    Parameters
    ----------
    function
        Any callable.

    Returns
    -------
    inspect.Signature
        Its signature.

    Raises
    ------
    TypeError, ValueError
        As ``inspect.signature``, when the callable has none (nothing is remembered).
    """
    entry = _SIGNATURES.get(id(function))
    if entry is not None and entry[0] is function:
        return entry[1]
    found = inspect.signature(function)
    if len(_SIGNATURES) >= _MAX_SIGNATURES:  # callables made afresh on every lookup
        _SIGNATURES.clear()
    _SIGNATURES[id(function)] = (function, found)
    return found


def import_object(path: str) -> Any:
    """Import ``package.module.attribute`` and return the attribute.

    Parameters
    ----------
    path
        Dotted path of the attribute: the module's dotted name, a dot, the attribute name.

    Returns
    -------
    object
        The attribute (importing its module runs the module, as any import does).

    Raises
    ------
    ValueError
        If ``path`` is not a dotted path, or the module or attribute cannot be imported.
    """
    module_name, _, attribute = path.rpartition(".")
    if not module_name or not attribute:
        raise ValueError(f"{path!r} is not a dotted path such as 'package.module.Name'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        top = module_name.partition(".")[0]
        hint = ""
        if isinstance(error, ModuleNotFoundError) and error.name == top:
            hint = (
                f"; if {top!r} is a module of your own, put the folder that holds it on "
                f"PYTHONPATH (PYTHONPATH=that/folder snakemake ...)"
            )
        raise ValueError(f"{path!r} cannot be imported: {error}{hint}") from None
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ValueError(
            f"{path!r} cannot be imported: module {module_name!r} has no attribute {attribute!r}"
        ) from None


def load_estimator(path: str) -> type[BaseEstimator]:
    """Return the estimator class at ``path``.

    A class derived from ``sklearn.base.BaseEstimator`` that can ``fit_predict`` (a
    clusterer) or ``fit`` and ``predict`` (a classifier or regressor).

    Parameters
    ----------
    path
        Dotted path of the class, such as ``sklearn.cluster.KMeans``.

    Returns
    -------
    type
        The estimator class (not an instance).

    Raises
    ------
    ValueError
        If ``path`` does not import or names anything else (a function such as
        ``os.system``, a class that is not an estimator, an estimator that can neither
        ``fit_predict`` nor ``fit`` and ``predict``).
    """
    from sklearn.base import BaseEstimator

    obj = import_object(path)
    if not (inspect.isclass(obj) and issubclass(obj, BaseEstimator)):
        raise ValueError(
            f"{path!r} is not a scikit-learn estimator class (got {type(obj).__name__} {obj!r})"
        )
    can_predict = callable(getattr(obj, "fit", None)) and callable(getattr(obj, "predict", None))
    if not (can_predict or callable(getattr(obj, "fit_predict", None))):
        raise ValueError(f"{path!r} is an estimator with neither fit_predict nor predict")
    return obj


def accepts_random_state(estimator: BaseEstimator) -> bool:
    """Return whether the estimator (an instance) takes a ``random_state`` parameter.

    Parameters
    ----------
    estimator
        An estimator instance; its ``get_params(deep=False)`` is consulted.

    Returns
    -------
    bool
        True if ``random_state`` is one of its parameters.
    """
    return "random_state" in estimator.get_params(deep=False)


def build_estimator(
    path: str, params: Mapping[str, Any], random_state: np.random.RandomState | None
) -> BaseEstimator:
    """Construct the estimator at ``path`` with ``params`` and, if it takes one, a stream.

    ``random_state=None`` (legacy mode) leaves the estimator drawing from NumPy's global
    generator, as scikit-learn does by default.

    Parameters
    ----------
    path
        Dotted path of the estimator class (see :func:`load_estimator`).
    params
        Keyword arguments for the class.
    random_state
        The method's random stream, set as the estimator's ``random_state`` if it has
        that parameter; None in legacy mode.

    Returns
    -------
    sklearn.base.BaseEstimator
        The new, unfitted estimator.
    """
    estimator = load_estimator(path)(**params)
    if accepts_random_state(estimator):
        estimator.set_params(random_state=random_state)
    return estimator


#: The names a function's random stream may have, and the kind of stream each gets.
STREAM_PARAMETERS = ("rng", "random_state")


def stream_parameter(function: Callable[..., Any]) -> str | None:
    """Return the name of the parameter through which ``function`` takes a random stream.

    Parameters
    ----------
    function
        A generator or a method function.

    Returns
    -------
    str or None
        ``"rng"`` (it gets a ``numpy.random.Generator``), ``"random_state"`` (a
        ``numpy.random.RandomState``) or None (it takes no stream).
    """
    parameters = signature(function).parameters
    return next((name for name in STREAM_PARAMETERS if name in parameters), None)


def load_function(path: str, what: str) -> Callable[..., Any]:
    """Return the function at ``path``, refusing a class or anything without a signature.

    Parameters
    ----------
    path
        Dotted path of the function.
    what
        What the study uses it as (``"data generator"``, ``"method"``), for the message.

    Returns
    -------
    callable
        The function.

    Raises
    ------
    ValueError
        If ``path`` does not import, is a class or not callable, or has no signature.
    """
    obj = import_object(path)
    if not callable(obj) or inspect.isclass(obj):
        raise ValueError(f"{path!r} is not a {what} function (got {obj!r})")
    try:
        signature(obj)
    except (TypeError, ValueError):
        raise ValueError(f"{path!r} has no signature to check, so it cannot be a {what}") from None
    return obj


def load_generator(path: str) -> Callable[..., Any]:
    """Return the data generator function at ``path``.

    A generator is any function that takes a random stream, as ``rng`` or
    ``random_state``, and params as keywords, and returns the trial's data (any object).
    scikit-learn's ``sklearn.datasets.make_*`` functions are generators as they are.

    Parameters
    ----------
    path
        Dotted path of the function, such as :data:`DEFAULT_GENERATOR`.

    Returns
    -------
    callable
        The generator.

    Raises
    ------
    ValueError
        If ``path`` does not import, or is not a function that takes ``rng`` or
        ``random_state``.
    """
    generator = load_function(path, "data generator")
    if stream_parameter(generator) is None:
        raise ValueError(
            f"{path!r} is not a data generator: it must take its random stream as a "
            f"parameter named rng (a numpy Generator) or random_state (a RandomState)"
        )
    return generator


def generate(path: str, params: Mapping[str, Any], stream: Any) -> Any:
    """Draw one trial's data with the generator at ``path``.

    Parameters
    ----------
    path
        Dotted path of the generator (see :func:`load_generator`).
    params
        Keyword arguments for the generator.
    stream
        The stream it draws from, passed as its ``rng`` or ``random_state``: a
        ``Generator`` or ``RandomState`` as its parameter's name asks, or None in legacy
        mode.

    Returns
    -------
    object
        Whatever the generator returns.
    """
    generator = load_generator(path)
    return generator(**params, **{stream_parameter(generator): stream})


def labelled_data(data: Any, path: str) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X, y)`` from a generator's data, for the estimator methods.

    Parameters
    ----------
    data
        What the generator returned.
    path
        The generator's dotted path, for the message.

    Returns
    -------
    X : numpy.ndarray
        The data, of shape ``(n, d)``.
    y : numpy.ndarray
        The truth (cluster labels, classes or targets), of shape ``(n,)``.

    Raises
    ------
    ValueError
        If ``data`` is not a pair of a 2-D ``X`` and a 1-D ``y`` of the same length.
    """
    if not (isinstance(data, tuple | list) and len(data) == 2):
        raise ValueError(
            f"{path!r} must return (X, y) for estimator methods, got {type(data).__name__}"
        )
    X, y = np.asarray(data[0]), np.asarray(data[1])
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            f"{path!r} must return X of shape (n, d) and y of shape (n,), "
            f"got {X.shape} and {y.shape}"
        )
    return X, y
