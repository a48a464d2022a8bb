"""Load the pieces a study names by dotted path: estimators and data generators.

A study config names each method as ``estimator: package.module.Class`` plus ``params``,
and may name a scenario's data generator as ``generator: package.module.function``.
Everything here checks such names before any job runs and refuses what does not fit.
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

    Only scikit-learn-style clusterers are accepted: classes derived from
    ``sklearn.base.BaseEstimator`` that have a ``fit_predict`` method.

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
        ``os.system``, a class that is not an estimator, an estimator without
        ``fit_predict``).
    """
    from sklearn.base import BaseEstimator

    obj = import_object(path)
    if not (inspect.isclass(obj) and issubclass(obj, BaseEstimator)):
        raise ValueError(
            f"{path!r} is not a scikit-learn estimator class (got {type(obj).__name__} {obj!r})"
        )
    if not callable(getattr(obj, "fit_predict", None)):
        raise ValueError(f"{path!r} is an estimator without fit_predict, so it cannot cluster")
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


def load_generator(path: str) -> Callable[..., tuple[np.ndarray, np.ndarray]]:
    """Return the data generator function at ``path``.

    Parameters
    ----------
    path
        Dotted path of the function, such as :data:`DEFAULT_GENERATOR`.

    Returns
    -------
    callable
        The generator, called as ``generator(random_state, **params)``.

    Raises
    ------
    ValueError
        If ``path`` does not import, or is not a function whose first parameter is
        ``random_state``.
    """
    obj = import_object(path)
    if not inspect.isfunction(obj):
        raise ValueError(f"{path!r} is not a data generator function (got {obj!r})")
    parameters = list(inspect.signature(obj).parameters)
    if not parameters or parameters[0] != "random_state":
        raise ValueError(
            f"{path!r} is not a data generator: its first parameter must be random_state, "
            f"got {parameters[:1]}"
        )
    return obj


def check_generator(path: str, params: Mapping[str, Any]) -> None:
    """Check that the generator at ``path`` takes ``params`` and returns ``(X, y)``.

    It draws one dataset with ``params`` from a fixed private stream (seed 0), which is
    cheap for simulated data and catches bad parameter values before any job runs.

    Parameters
    ----------
    path
        Dotted path of the generator function (see :func:`load_generator`).
    params
        The keyword arguments the scenario's config gives the generator.

    Raises
    ------
    ValueError
        If ``path`` is not a generator (:func:`load_generator`), its signature does not
        take ``params``, or drawing the dataset fails in any way (including a result of
        the wrong shape); the message names the generator, the params and what went wrong.
    """
    generator = load_generator(path)
    try:
        inspect.signature(generator).bind(None, **params)
    except TypeError as error:
        raise ValueError(f"{path!r} rejects params {dict(params)!r}: {error}") from None
    try:
        X, y = generate(path, params, np.random.RandomState(_CHECK_SEED))
    except Exception as error:  # any failure here is the config's fault: report it
        raise ValueError(f"{path!r} fails with params {dict(params)!r}: {error}") from None
    del X, y


def generate(
    path: str, params: Mapping[str, Any], random_state: np.random.RandomState | None
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one dataset with the generator at ``path`` and check its shape.

    Parameters
    ----------
    path
        Dotted path of the generator function (see :func:`load_generator`).
    params
        Keyword arguments for the generator.
    random_state
        The stream the generator draws from, passed as its first argument; None in
        legacy mode.

    Returns
    -------
    X : numpy.ndarray
        The data, of shape ``(n, d)``.
    y : numpy.ndarray
        The true cluster labels, of shape ``(n,)``.

    Raises
    ------
    ValueError
        If the generator does not return a 2-D ``X`` and a 1-D ``y`` of the same length.
    """
    X, y = load_generator(path)(random_state, **params)
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise ValueError(
            f"{path!r} must return X of shape (n, d) and y of shape (n,), "
            f"got {X.shape} and {y.shape}"
        )
    return X, y
