"""The plan of a study: what it runs, and in which jobs.

A :class:`StudyPlan` is built once from a resolved config (one that
:func:`simstudy.config.check_config` returned). It is the single place that works out

- the scenarios and methods, and the method groups that run together in a chunk job;
- the :class:`~simstudy.spec.TrialSpec` of each (scenario, method group), code digest
  included;
- the example trial, and the labels figures use.

The workflow (``workflow/rules/common.smk``), the figures and ``simstudy replay`` ask
the plan; none of them works these facts out again. Building a plan reads no file.
Where its chunks and outputs go is :class:`simstudy.study_layout.StudyLayout`' job, and
which part of the config each later stage depends on is
:mod:`simstudy.config_slices`'.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from simstudy import layout
from simstudy.digests import code_digest, component_modules
from simstudy.metrics import METRICS, metric_column
from simstudy.spec import Method, Scenario, TrialSpec

#: The library modules whose code decides a chunk's results (with the study's own
#: generator and estimator modules, see :meth:`StudyPlan.spec`): a trial, and its rows
#: as the chunk file holds them. Running the chunk around them (:mod:`simstudy.chunks`:
#: workers, progress, the repeat check, failure reports) decides no value, so it is left
#: out, and neither module may import it (tests/test_digests.py).
TRIAL_CODE = ("simstudy.trials", "simstudy.rows")


@dataclass(frozen=True)
class ExampleTrial:
    """The example trial (see :mod:`simstudy.example`), and the methods it runs.

    ``methods``: under ``legacy`` seeding every method, in config order, because they
    share NumPy's global generator; under ``spawn`` seeding only the two compared
    methods, in config order (so swapping the comparison reruns nothing). They run as
    their chunk jobs ran them (:meth:`StudyPlan.example_specs`).
    """

    scenario: str
    trial: int
    methods: tuple[str, ...]


class StudyPlan:
    """Everything the workflow needs to know about a study, worked out once.

    Parameters
    ----------
    config
        A resolved config, as :func:`simstudy.config.check_config` returns it.
    """

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.scenarios = tuple(
            Scenario(name=name, generator=entry["generator"], params=dict(entry["params"]))
            for name, entry in config["scenarios"].items()
        )
        self.methods = tuple(
            Method(
                name=name,
                estimator=entry.get("estimator"),
                function=entry.get("function"),
                params=dict(entry["params"]),
                task=entry.get("task"),
                values=tuple(entry.get("values", ())) if "function" in entry else (),
            )
            for name, entry in config["methods"].items()
        )
        self.groups = layout.method_groups(
            config["methods"], config["seeding"], config.get("methods_per_chunk", "one")
        )
        self._specs: dict[tuple[str, str], TrialSpec] = {}

    # What runs -------------------------------------------------------------------------

    @property
    def values(self) -> list[str]:
        """The study's named values: the value columns of ``trials.csv``, in order.

        The config check finds them (:func:`simstudy.contract.check_study`); a config
        that has not been through it has its metrics' columns.
        """
        return self._values_of(self.config)

    def method_values(self, method: str) -> list[str]:
        """The named values that ``method`` gives each trial.

        Parameters
        ----------
        method
            A method name.

        Returns
        -------
        list of str
            Its value columns (the metrics' columns for an estimator).
        """
        return self._values_of(self.config["methods"][method])

    def _values_of(self, entry: dict) -> list[str]:
        """``entry``'s ``values`` (the study's or a method's), else the metrics' columns."""
        if "values" in entry:
            return list(entry["values"])
        return [metric_column(metric) for metric in self.config["metrics"]]

    def spec(self, scenario: str, group: str) -> TrialSpec:
        """The spec that ``scenario``'s chunks of method group ``group`` run with.

        Its ``code`` is the digest of the trial code and of the modules that provide the
        scenario's generator and the group's estimators (see :mod:`simstudy.digests`).

        Parameters
        ----------
        scenario
            A scenario name.
        group
            A method group name (see :func:`simstudy.layout.method_groups`), or any
            ``+``-joined methods of the study, in the order they should run.

        Returns
        -------
        TrialSpec
            The spec; the same object for the same arguments.

        Raises
        ------
        ValueError
            If the scenario or a method of the group is not in the study.
        """
        key = (scenario, group)
        if key not in self._specs:
            self._specs[key] = self._build_spec(scenario, group)
        return self._specs[key]

    def _build_spec(self, scenario: str, group: str) -> TrialSpec:
        scenarios = {s.name: s for s in self.scenarios}
        methods = {m.name: m for m in self.methods}
        if scenario not in scenarios:
            raise ValueError(f"scenario {scenario!r} is not in the study ({', '.join(scenarios)})")
        names = layout.group_methods(group)
        missing = [name for name in names if name not in methods]
        if missing:
            raise ValueError(
                f"method group {group!r} names methods not in the study: {missing!r} "
                f"(methods are {', '.join(methods)})"
            )
        chosen = tuple(methods[name] for name in names)
        metrics = tuple(self.config["metrics"]) if any(m.estimator for m in chosen) else ()
        # A metric given by dotted path is code the chunk runs, as a method is. The
        # built-in ones (scikit-learn's) stay out, as before, so that existing studies keep
        # their specs; scikit-learn's version counts through its estimators' modules.
        paths = [
            scenarios[scenario].generator,
            *(m.path for m in chosen),
            *(metric for metric in metrics if metric not in METRICS),
        ]
        given = {value for name in names for value in self.method_values(name)}
        supervised = any(m.task in ("classifier", "regressor") for m in chosen)
        return TrialSpec(
            seeding=self.config["seeding"],
            seed=self.config["seed"],
            scenario=scenarios[scenario],
            methods=chosen,
            metrics=metrics,
            values=tuple(value for value in self.values if value in given),
            test_size=self.config.get("test_size") if supervised else None,
            code=code_digest(*TRIAL_CODE, *component_modules(paths)),
        )

    def group_of(self, method: str) -> str:
        """The method group whose chunk jobs run ``method``.

        Parameters
        ----------
        method
            A method name.

        Returns
        -------
        str
            The group's name (see :func:`simstudy.layout.method_groups`).

        Raises
        ------
        ValueError
            If ``method`` is not in the study.
        """
        for group in self.groups:
            if method in layout.group_methods(group):
                return group
        raise ValueError(
            f"method {method!r} is not in the study ({', '.join(self.config['methods'])})"
        )

    def pairs(self) -> list[tuple[str, str]]:
        """Every (scenario, method group) of the study, in config order.

        Returns
        -------
        list of tuple of str
            ``(scenario, group)`` pairs: one chunk series each.
        """
        return [(s.name, group) for s in self.scenarios for group in self.groups]

    def group_digests(self) -> dict[str, str]:
        """The digest of the spec that each (scenario, method group) runs with.

        Returns
        -------
        dict
            ``"<scenario>/<group>"`` (:func:`simstudy.layout.group_key`) -> spec digest;
            the merge checks every chunk against it.
        """
        return {layout.group_key(s, g): self.spec(s, g).digest for s, g in self.pairs()}

    def group_values(self, scenario: str | None = None) -> dict[str, list[str]]:
        """The value columns of each (scenario, method group)'s chunk files.

        Parameters
        ----------
        scenario
            Only this scenario's groups; all of them by default.

        Returns
        -------
        dict
            ``"<scenario>/<group>"`` -> the group's value columns, in the study's order.
        """
        return {
            layout.group_key(s, g): list(self.spec(s, g).values)
            for s, g in self.pairs()
            if scenario in (None, s)
        }

    def spec_records(self) -> dict[str, dict[str, Any]]:
        """Every spec of the study, by digest, as ``provenance.json`` records them.

        Returns
        -------
        dict
            Spec digest -> the spec as a mapping (:meth:`TrialSpec.to_dict`).
        """
        return {self.spec(s, g).digest: self.spec(s, g).to_dict() for s, g in self.pairs()}

    # Precision-driven stopping -------------------------------------------------------------

    @property
    def stopping(self) -> dict[str, Any] | None:
        """The config's ``stopping`` section, or ``None`` for a fixed number of trials."""
        return self.config.get("stopping")

    def scenario_digests(self, scenario: str) -> dict[str, str]:
        """The spec digest of each method group of ``scenario`` (see :meth:`group_digests`).

        Parameters
        ----------
        scenario
            A scenario name.

        Returns
        -------
        dict
            ``"<scenario>/<group>"`` -> spec digest.
        """
        return {
            layout.group_key(scenario, group): self.spec(scenario, group).digest
            for group in self.groups
        }

    # The example trial -----------------------------------------------------------------

    @cached_property
    def example(self) -> ExampleTrial:
        """The example trial, checked against ``trials.csv`` (see :class:`ExampleTrial`)."""
        config, figures = self.config, self.config["figures"]
        legacy = config["seeding"] == "legacy"
        methods = [m for m in config["methods"] if legacy or m in config["comparison"]]
        return ExampleTrial(figures["example_scenario"], figures["example_trial"], tuple(methods))

    def example_specs(self) -> list[TrialSpec]:
        """The specs the example trial runs with: those of the chunk jobs that ran it.

        Returns
        -------
        list of TrialSpec
            One per method group of the example's methods, in config order.
        """
        groups = dict.fromkeys(self.group_of(method) for method in self.example.methods)
        return [self.spec(self.example.scenario, group) for group in groups]

    # How figures name things -----------------------------------------------------------

    def method_label(self, name: str) -> str:
        """How figures name a method: its ``label``, or else its name.

        Parameters
        ----------
        name
            A method name.

        Returns
        -------
        str
            The label.
        """
        return self.config["methods"][name].get("label") or name

    def scenario_label(self, name: str) -> str:
        """How figures name a scenario: its ``label``, or else its name.

        Parameters
        ----------
        name
            A scenario name.

        Returns
        -------
        str
            The label.
        """
        return self.config["scenarios"][name].get("label") or name
