"""Check the generators and estimators a study names, before any job runs.

Each check loads the named object (:mod:`simstudy.components`) and refuses what does
not fit, naming the object and its params: an estimator's params are checked by
constructing it and by scikit-learn's own parameter validation, its task is read from
its tags (:func:`estimator_task`), a function's params are bound to its signature, and
a generator draws one sample dataset from a fixed stream (:func:`sample_stream`).
:mod:`simstudy.contract` runs them for every scenario and method of a study.

None of this runs in a trial: a trial finds its task in its spec, where the check put
it. So this code is not part of a chunk's digest; the checks that passed are remembered
by the code of :mod:`simstudy.contract` and what it imports (see
:func:`simstudy.config.components_fingerprint`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from simstudy.components import (
    generate,
    load_estimator,
    load_generator,
    signature,
    stream_parameter,
)

#: The seed of the fixed stream that the checks draw a sample dataset from.
_CHECK_SEED = 0


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
