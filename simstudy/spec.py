"""What a group of trials depends on, as one canonical, hashable value.

A :class:`TrialSpec` holds everything that decides a trial's results apart from its
index and seed: the seeding scheme and root seed, the scenario, the methods run in the
trial, the metrics and a digest of the library code that runs it. It does *not* hold the
number of trials, the chunk size or any thread setting, because none of those may change
a result. The workflow passes a spec to each chunk job as a canonical JSON string, so
Snakemake reruns a chunk exactly when its spec changes; each trial row carries the
spec's digest, which ``provenance.json`` maps back to the full spec.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from simstudy.metrics import metric_column
from simstudy.seeding import check_seeding

#: JSON has no infinity or NaN; such a float (OPTICS's ``max_eps: .inf``) is written as
#: ``{"$float": "inf"}`` and read back by :func:`from_json_text`.
_NON_FINITE = "$float"


def json_safe(value: Any) -> Any:
    """Return ``value`` with every infinite or NaN float replaced by a tagged mapping.

    Parameters
    ----------
    value
        A JSON-like value: mappings, lists and tuples are converted recursively.

    Returns
    -------
    object
        A copy in which each non-finite float is ``{"$float": repr(value)}`` and each tuple
        a list; other values are returned as they are.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return {_NON_FINITE: repr(value)}
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def _restore(mapping: dict[str, Any]) -> Any:
    if mapping.keys() == {_NON_FINITE}:
        return float(mapping[_NON_FINITE])
    return mapping


def from_json_text(text: str) -> Any:
    """Read JSON written by :func:`canonical_json` (or from :func:`json_safe` values).

    Parameters
    ----------
    text
        The JSON text.

    Returns
    -------
    object
        The value, with each ``{"$float": ...}`` mapping read back as its float.
    """
    return json.loads(text, object_hook=_restore)


def canonical_json(value: Any) -> str:
    """Serialise ``value`` the same way every time: sorted keys, no spaces.

    Infinite and NaN floats are written as ``{"$float": "inf"}`` (see :func:`json_safe`),
    so that the text is strict JSON; :func:`from_json_text` reads them back.

    Parameters
    ----------
    value
        A JSON-serialisable value.

    Returns
    -------
    str
        The canonical JSON text.
    """
    return json.dumps(json_safe(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_digest(config: Any) -> str:
    """SHA-256 of a resolved config's canonical JSON text (64 hex digits).

    Parameters
    ----------
    config
        The resolved config (or any value :func:`canonical_json` serialises).

    Returns
    -------
    str
        The hex digest.
    """
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Scenario:
    """A named data-generating process: a generator function and its params."""

    name: str
    generator: str
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the scenario as a mapping of its fields, as :meth:`TrialSpec.to_dict` writes it.

        Returns
        -------
        dict
            ``name``, ``generator`` and ``params`` (the scenario's own params mapping).
        """
        return {"name": self.name, "generator": self.generator, "params": self.params}


@dataclass(frozen=True)
class Method:
    """A named method: an estimator class or a function, with its params.

    ``task`` is how an estimator runs (``"clusterer"``, ``"classifier"`` or
    ``"regressor"``, see :func:`simstudy.component_checks.estimator_task`); a function has
    none. ``values`` are the names of the values a function method gives each trial, as
    found on the study's sample trial (an estimator's are the spec's metrics' columns).
    """

    name: str
    estimator: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    function: str | None = None
    task: str | None = None
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if (self.estimator is None) == (self.function is None):
            raise ValueError(f"method {self.name!r} needs an estimator or a function, not both")

    @property
    def path(self) -> str:
        """The dotted path of the method's estimator class or function."""
        return self.estimator if self.estimator is not None else self.function

    def to_dict(self) -> dict[str, Any]:
        """Return the method as a mapping of its fields, as :meth:`TrialSpec.to_dict` writes it.

        Returns
        -------
        dict
            ``name``, ``estimator`` or ``function``, ``params`` (the method's own params
            mapping), for an estimator whose task is known ``task``, and for a method
            whose values are known ``values`` (a list).
        """
        kind = "estimator" if self.estimator is not None else "function"
        data = {"name": self.name, kind: self.path, "params": self.params}
        if self.task is not None:
            data["task"] = self.task
        if self.values:
            data["values"] = list(self.values)
        return data


@dataclass(frozen=True)
class TrialSpec:
    """The inputs shared by the trials of one chunk.

    ``methods`` run in the given order within each trial. Under ``spawn`` seeding a spec
    holds one method, or every method of the study with ``methods_per_chunk: all``; under
    ``legacy`` seeding it holds every method, because they draw one after another from
    the same global generator.
    """

    seeding: str
    seed: int
    scenario: Scenario
    methods: tuple[Method, ...]
    metrics: tuple[str, ...]
    code: str = ""
    #: The value columns of the rows: the metrics' columns when left empty.
    values: tuple[str, ...] = ()
    #: The share of each trial's data held out to score classifiers and regressors
    #: (None when the spec runs none).
    test_size: float | None = None

    def __post_init__(self) -> None:
        check_seeding(self.seeding)
        if not self.values:
            object.__setattr__(self, "values", tuple(map(metric_column, self.metrics)))
        if not self.methods:
            raise ValueError("a trial spec needs at least one method")
        names = [method.name for method in self.methods]
        if len(set(names)) != len(names):
            raise ValueError(f"methods {names!r} are not unique")

    @property
    def method_names(self) -> tuple[str, ...]:
        """The names of the spec's methods, in the order they run."""
        return tuple(method.name for method in self.methods)

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as plain data, the inverse of :meth:`from_dict`.

        Returns
        -------
        dict
            ``seeding``, ``seed``, ``scenario`` and ``methods`` (as their ``to_dict``),
            ``metrics`` and ``values`` (lists), ``test_size`` (when set) and ``code``.
        """
        return {
            "seeding": self.seeding,
            "seed": self.seed,
            "scenario": self.scenario.to_dict(),
            "methods": [method.to_dict() for method in self.methods],
            "metrics": list(self.metrics),
            "values": list(self.values),
            **({"test_size": self.test_size} if self.test_size is not None else {}),
            "code": self.code,
        }

    def to_json(self) -> str:
        """Return the canonical JSON text of the spec.

        Returns
        -------
        str
            :func:`canonical_json` of :meth:`to_dict`.
        """
        return canonical_json(self.to_dict())

    @property
    def digest(self) -> str:
        """A short, stable identifier of the spec (16 hex digits of SHA-256)."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialSpec:
        """Build a spec from the plain data that :meth:`to_dict` gives.

        Parameters
        ----------
        data
            The spec's fields; ``code`` may be left out (it defaults to ``""``).

        Returns
        -------
        TrialSpec
            The spec.

        Raises
        ------
        KeyError, TypeError
            If a field is missing or a scenario or method has unknown fields.
        ValueError
            If the spec is invalid (see the class: unknown seeding, no or repeated methods).
        """
        return cls(
            seeding=data["seeding"],
            seed=data["seed"],
            scenario=Scenario(**data["scenario"]),
            methods=tuple(
                Method(**{**method, "values": tuple(method.get("values", ()))})
                for method in data["methods"]
            ),
            metrics=tuple(data["metrics"]),
            code=data.get("code", ""),
            values=tuple(data.get("values", ())),
            test_size=data.get("test_size"),
        )

    @classmethod
    def from_json(cls, text: str) -> TrialSpec:
        """Build a spec from the JSON text that :meth:`to_json` gives.

        Parameters
        ----------
        text
            The spec's JSON text.

        Returns
        -------
        TrialSpec
            The spec.

        Raises
        ------
        ValueError
            If ``text`` is not JSON (:class:`json.JSONDecodeError`) or the spec is invalid;
            otherwise as :meth:`from_dict`.
        """
        return cls.from_dict(from_json_text(text))
