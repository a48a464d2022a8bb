"""What a study's methods return: its named values, checked on one sample trial.

Every row of ``trials.csv`` carries one column per *named value*: a metric's column for
an estimator method, a key of the mapping a method function returns. Which values a
study has is decided here, before any job runs, by running each method on one sample
dataset per scenario (drawn from a fixed stream, seed 0), so that a wrong signature, a
result that is not a mapping of numbers, or a name that would clash with a column of
``trials.csv`` stops the study with a message naming the config key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from simstudy import component_checks, components, functions
from simstudy.metrics import metric_column, score_function
from simstudy.tables import KEY_COLUMNS, TRAILING_COLUMNS

#: Columns of ``trials.csv`` that no named value may take.
RESERVED_COLUMNS = frozenset((*KEY_COLUMNS, *TRAILING_COLUMNS))

#: A named value's form: it becomes a CSV column and a figure's label.
VALUE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")


class ContractError(ValueError):
    """A study's method, generator or metric that does not keep the contract.

    ``key`` is the config key to name (``methods.x.function``), ``value`` its value.
    """

    def __init__(self, key: str, value: Any, reason: str) -> None:
        super().__init__(reason)
        self.key, self.value = key, value


def method_kind(method: Mapping[str, Any]) -> str:
    """Return ``"function"`` or ``"estimator"``: how the config names the method.

    Parameters
    ----------
    method
        A method's config.

    Returns
    -------
    str
        ``"function"`` if it names a ``function``, else ``"estimator"``.
    """
    return "function" if method.get("function") else "estimator"


def check_study(resolved: Mapping[str, Any]) -> dict[str, Any]:
    """Check every generator, method and metric of a study, and find its named values.

    Parameters
    ----------
    resolved
        The study config with its defaults filled in.

    Returns
    -------
    dict
        ``values``: the study's value columns, in order (the metrics' columns, if any
        method is an estimator, then each function's keys in the order of the methods
        and of its result); ``tasks``: method name -> ``"clusterer"``, ``"classifier"``
        or ``"regressor"`` for estimators, None for functions; ``method_values``: method
        name -> the columns it fills.

    Raises
    ------
    ContractError
        Naming the config key of the first piece that does not keep the contract.
    """
    methods = resolved["methods"]
    tasks = {name: _check_method(name, method) for name, method in methods.items()}
    if resolved["seeding"] == "legacy":
        _check_legacy(resolved, tasks)
    metric_columns = _check_metrics(resolved["metrics"]) if any(tasks.values()) else []
    given: dict[str, list[str]] = {n: metric_columns for n, task in tasks.items() if task}
    for scenario_name, scenario in resolved["scenarios"].items():
        sample = _sample_data(scenario_name, scenario)
        for name, method in methods.items():
            if tasks[name] is not None:
                _check_labelled(scenario_name, scenario, name, sample)
                continue
            names = _sample_values(name, method, sample)
            if given.setdefault(name, names) != names:
                raise ContractError(
                    f"methods.{name}.function",
                    method["function"],
                    f"returns {given[name]} on one scenario but {names} on scenario "
                    f"{scenario_name!r}; a method must return the same names everywhere",
                )
    values = dict.fromkeys(metric_columns)
    for name in methods:
        values.update(dict.fromkeys(given[name]))
    return {"values": list(values), "tasks": tasks, "method_values": given}


def _check_method(name: str, method: Mapping[str, Any]) -> str | None:
    if method_kind(method) == "function":
        path = method["function"]
        if method.get("task") is not None:
            raise ContractError(
                f"methods.{name}.task", method["task"], "only an estimator method has a task"
            )
        try:
            function = functions.load_method_function(path)
        except ValueError as error:
            raise ContractError(f"methods.{name}.function", path, str(error)) from None
        try:
            component_checks.check_params(path, function, method["params"], data=True)
        except ValueError as error:
            raise ContractError(f"methods.{name}.params", method["params"], str(error)) from None
        return None
    path = method["estimator"]
    try:
        components.load_estimator(path)
    except ValueError as error:
        raise ContractError(f"methods.{name}.estimator", path, str(error)) from None
    try:
        component_checks.check_estimator_params(path, method["params"])
    except ValueError as error:
        raise ContractError(f"methods.{name}.params", method["params"], str(error)) from None
    try:
        return component_checks.estimator_task(path, method["params"], method.get("task"))
    except ValueError as error:
        raise ContractError(f"methods.{name}", dict(method), str(error)) from None


def _check_legacy(resolved: Mapping[str, Any], tasks: Mapping[str, str | None]) -> None:
    """Legacy seeding replays the blog's procedure: clusterers on global-generator data."""
    for name, task in tasks.items():
        if task != "clusterer":
            raise ContractError(
                "seeding",
                "legacy",
                f"replays the blog post's clustering study, so every method must be a "
                f"clusterer; method {name!r} is {'a function' if task is None else 'a ' + task}"
                f" (use seeding: spawn)",
            )
    for name, scenario in resolved["scenarios"].items():
        generator = components.load_generator(scenario["generator"])
        if components.stream_parameter(generator) != "random_state":
            raise ContractError(
                "seeding",
                "legacy",
                f"draws data from NumPy's global generator, which a generator taking rng "
                f"cannot do: scenario {name!r} (use seeding: spawn)",
            )


def _check_metrics(metrics: list[str]) -> list[str]:
    columns: dict[str, str] = {}
    for metric in metrics:
        try:
            score_function(metric)
        except ValueError as error:
            raise ContractError("metrics", metrics, str(error)) from None
        column = metric_column(metric)
        if column in columns:
            raise ContractError(
                "metrics",
                metrics,
                f"{columns[column]!r} and {metric!r} share the column {column!r}",
            )
        if column in RESERVED_COLUMNS:
            raise ContractError("metrics", metrics, _reserved(column))
        columns[column] = metric
    return list(columns)


def _sample_data(name: str, scenario: Mapping[str, Any]) -> Any:
    path = scenario["generator"]
    try:
        components.load_generator(path)
    except ValueError as error:
        raise ContractError(f"scenarios.{name}.generator", path, str(error)) from None
    try:
        return component_checks.check_generator(path, scenario["params"])
    except ValueError as error:
        raise ContractError(f"scenarios.{name}.params", scenario["params"], str(error)) from None


def _check_labelled(scenario_name: str, scenario: Mapping, method: str, sample: Any) -> None:
    try:
        components.labelled_data(sample, scenario["generator"])
    except ValueError as error:
        raise ContractError(
            f"scenarios.{scenario_name}.generator",
            scenario["generator"],
            f"{error}, since method {method!r} is an estimator",
        ) from None


def _sample_values(name: str, method: Mapping[str, Any], sample: Any) -> list[str]:
    path = method["function"]
    kind = components.stream_parameter(functions.load_method_function(path))
    try:
        values = functions.call_method_function(
            path, sample, method["params"], component_checks.sample_stream(kind)
        )
    except Exception as error:  # the config's fault, whatever it is: report it
        raise ContractError(
            f"methods.{name}.function",
            path,
            f"fails on a sample trial: {type(error).__name__}: {error}",
        ) from None
    for value in values:
        if value in RESERVED_COLUMNS:
            raise ContractError(f"methods.{name}.function", path, _reserved(value))
        if not VALUE_NAME.fullmatch(value):
            raise ContractError(
                f"methods.{name}.function",
                path,
                f"returns the name {value!r}; a value's name starts with a letter or _ and "
                f"holds only letters, digits, _, . and - (at most 64 characters)",
            )
    return list(values)


def _reserved(name: str) -> str:
    return (
        f"the value name {name!r} is a column of trials.csv already "
        f"({', '.join(sorted(RESERVED_COLUMNS))}); rename it"
    )
