"""Load the pieces a study names by dotted path: generators, methods and metrics.

A scenario names its data generator as ``generator: package.module.function``; a method
is either ``estimator: package.module.Class`` (a scikit-learn-style estimator) or
``function: package.module.function`` (any function of the data), with ``params``.
Everything here checks such names before any job runs and refuses what does not fit.

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

#: Size of the sample dataset that :func:`check_generator` draws at config time.
_CHECK_SEED = 0

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
        raise ValueError(f"{path!r} cannot be imported: {error}") from None
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


#: The kinds of estimator a study can run, by scikit-learn's ``estimator_type`` tag.
TASKS = ("clusterer", "classifier", "regressor")


def estimator_task(path: str, params: Mapping[str, Any], task: str | None = None) -> str:
    """Return how a study runs the estimator at ``path``: its kind of task.

    The kind comes from the estimator's own scikit-learn tags
    (``sklearn.utils.get_tags(estimator).estimator_type``) unless ``task`` overrides it;
    an estimator of another type that can ``fit_predict`` (``GaussianMixture``, a
    density estimator) runs as a clusterer.
    A clusterer is fitted on all the data and its labels scored against the truth; a
    classifier or regressor is fitted on a training part and scored on the rest.

    Parameters
    ----------
    path
        Dotted path of the estimator class.
    params
        Its params (the tags may depend on them).
    task
        ``"clusterer"``, ``"classifier"`` or ``"regressor"`` to override the tags.

    Returns
    -------
    str
        One of :data:`TASKS`.

    Raises
    ------
    ValueError
        If the tags name no task and none is given, or the estimator lacks the method
        its task needs (``fit_predict``; ``fit`` and ``predict``).
    """
    from sklearn.utils import get_tags

    estimator_class = load_estimator(path)
    if task is None:
        task = get_tags(estimator_class(**params)).estimator_type
        if task not in TASKS and callable(getattr(estimator_class, "fit_predict", None)):
            task = "clusterer"  # a mixture model labels points as a clusterer does
        if task not in TASKS:
            raise ValueError(
                f"{path!r} does not say whether it is a clusterer, classifier or regressor "
                f"(its estimator_type tag is {task!r}); set the method's task"
            )
    needs = ("fit_predict",) if task == "clusterer" else ("fit", "predict")
    missing = [name for name in needs if not callable(getattr(estimator_class, name, None))]
    if missing:
        raise ValueError(f"{path!r} has no {' or '.join(missing)}, which a {task} needs")
    return task


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


def check_estimator_params(path: str, params: Mapping[str, Any]) -> None:
    """Check that the estimator at ``path`` accepts ``params``.

    Unknown parameter names are caught by constructing the estimator; bad values by
    scikit-learn's own parameter validation, which would otherwise only run at fit time.
    That validation needs the class to declare ``_parameter_constraints``, as
    scikit-learn's own estimators do; a user's class without it is checked by
    construction alone. ``random_state`` is refused because the study seeds every
    method itself.

    Parameters
    ----------
    path
        Dotted path of the estimator class (see :func:`load_estimator`).
    params
        The keyword arguments the method's config gives the class.

    Raises
    ------
    ValueError
        If ``path`` is not an estimator class (:func:`load_estimator`), ``params`` sets
        ``random_state``, the class rejects ``params`` at construction or validation, or
        its ``get_params()`` fails; the message names the estimator and the params.
    """
    estimator_class = load_estimator(path)
    if "random_state" in params:
        raise ValueError(
            f"param random_state={params['random_state']!r} of {path!r} is set by the study's "
            f"seeding; remove it from params"
        )
    try:
        estimator = estimator_class(**params)
    except TypeError as error:
        raise ValueError(f"{path!r} rejects params {dict(params)!r}: {error}") from None
    try:
        estimator.get_params(deep=False)
    except Exception as error:  # a user's class may break the estimator API anywhere
        raise ValueError(
            f"{path!r} does not follow scikit-learn's estimator API: get_params() fails "
            f"with {type(error).__name__}: {error}"
        ) from None
    if hasattr(estimator_class, "_parameter_constraints"):
        try:
            estimator._validate_params()
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path!r} rejects params {dict(params)!r}: {error}") from None


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


def check_params(
    path: str, function: Callable[..., Any], params: Mapping[str, Any], *, data: bool
) -> None:
    """Check that ``function`` accepts ``params`` (and its stream, and the data first).

    Parameters
    ----------
    path
        The function's dotted path, for the message.
    function
        A generator (``data=False``) or a method function (``data=True``).
    params
        The keyword arguments the study gives it.
    data
        Whether the function takes the data as its first argument.

    Raises
    ------
    ValueError
        If ``params`` sets the stream parameter, or the signature cannot take them.
    """
    stream = stream_parameter(function)
    if stream is not None and stream in params:
        raise ValueError(
            f"param {stream}={params[stream]!r} of {path!r} is set by the study's seeding; "
            f"remove it from params"
        )
    arguments = {**params, **({stream: None} if stream else {})}
    try:
        signature(function).bind(*([None] if data else []), **arguments)
    except TypeError as error:
        raise ValueError(f"{path!r} rejects params {dict(params)!r}: {error}") from None


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


def check_generator(path: str, params: Mapping[str, Any]) -> Any:
    """Check that the generator at ``path`` takes ``params``, and draw a sample of its data.

    It draws one dataset from a fixed private stream (seed 0), which is cheap for
    simulated data and catches bad parameter values before any job runs.

    Parameters
    ----------
    path
        Dotted path of the generator function (see :func:`load_generator`).
    params
        The keyword arguments the scenario's config gives the generator.

    Returns
    -------
    object
        The sample data, for the methods' checks.

    Raises
    ------
    ValueError
        If ``path`` is not a generator (:func:`load_generator`), its signature does not
        take ``params``, or drawing the dataset fails in any way; the message names the
        generator, the params and what went wrong.
    """
    generator = load_generator(path)
    check_params(path, generator, params, data=False)
    try:
        return generate(path, params, sample_stream(stream_parameter(generator)))
    except Exception as error:  # any failure here is the config's fault: report it
        raise ValueError(f"{path!r} fails with params {dict(params)!r}: {error}") from None


def sample_stream(kind: str | None) -> Any:
    """A fixed stream of the kind a function asks for, for the checks before any job.

    Parameters
    ----------
    kind
        ``"rng"``, ``"random_state"`` or None.

    Returns
    -------
    numpy.random.Generator or numpy.random.RandomState or None
        A new stream seeded with 0, or None.
    """
    if kind == "rng":
        return np.random.default_rng(_CHECK_SEED)
    return np.random.RandomState(_CHECK_SEED) if kind == "random_state" else None
