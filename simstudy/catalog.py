"""The catalog of figures: which figures a study gets, their files, captions and labels.

Every kind of figure is a module of :mod:`simstudy.figures` that defines ``KIND``, a
:class:`FigureKind`: its name (``{value}`` in it makes one figure per value of a list the
kind picks from the study: by default the values that the two compared methods both
give; the study's estimands for the figures of performance measures), the rule that
draws it, its caption in ``workflow/report/``, its label and its place (``order``) in the
report, and which studies get it. :func:`figure_kinds` finds them by listing the
package's modules. The rules' outputs (``workflow/rules/figures.smk``), the study's final
outputs (:meth:`simstudy.study_layout.StudyLayout.final_outputs`), the digest of the
figure rules' code (``workflow/rules/common.smk``) and the report all read this list.

Adding a figure: add a module to ``simstudy/figures/`` that defines ``KIND =
FigureKind(...)`` and ``draw(plan, results, value)``, which returns the matplotlib
figure (importing :mod:`simstudy.figure_data` and the ``simstudy.plots*`` module it
draws with inside ``draw``, not at module level), and add its caption to
``workflow/report/``. Its ``order`` places it among the others, whose orders run 10, 20,
and so on. Nothing else in the workflow names it.

This module imports nothing heavy, nor do the figure modules at module level: the
workflow reads the catalog while it plans.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from simstudy.layout import figure_path
from simstudy.metrics import value_label

#: The rules that draw figures.
FIGURE_RULES = ("plot_figures", "plot_timings", "plot_stopping")
#: The package whose modules are the kinds of figure, one each.
FIGURE_PACKAGE = "simstudy.figures"


@dataclass(frozen=True)
class StudyKind:
    """What decides which figures a study gets.

    ``clustering``: every method is a clusterer, whose labelled points the example
    figures draw. ``compared``: the values both compared methods give, in the study's
    order. ``stopping``: the study has a ``stopping`` section. ``estimands``: its
    estimands, in config order; ``intervals``: those of them for which some method
    gives an interval or an SE. ``factors``: the scenario params whose values differ
    between scenarios (:func:`scenario_factors`).
    """

    clustering: bool
    compared: tuple[str, ...]
    stopping: bool = False
    estimands: tuple[str, ...] = ()
    intervals: tuple[str, ...] = ()
    factors: tuple[str, ...] = ()


def clustering_study(methods: Mapping[str, Mapping]) -> bool:
    """Whether every method of a study is a clusterer (an estimator with that task).

    Parameters
    ----------
    methods
        The config's ``methods``. An estimator without a ``task`` (a config that has not
        been through the check) counts as a clusterer, as a trial runs it.

    Returns
    -------
    bool
        True if the example figures can draw every method's clustering.
    """
    return all(
        bool(entry.get("estimator")) and entry.get("task") in (None, "clusterer")
        for entry in methods.values()
    )


def _level(value: Any) -> str:
    """A param's value as a key that equal values share (``1`` and ``1.0`` alike)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(float(value))
    return json.dumps(value, sort_keys=True, default=str)


def scenario_factors(scenarios: Mapping[str, Mapping]) -> list[str]:
    """The params whose values differ between scenarios: the factors of the design.

    Parameters
    ----------
    scenarios
        The config's ``scenarios``: name -> entry with its ``params``.

    Returns
    -------
    list of str
        The params, in the order the scenarios first give them, that do not have the
        same value in every scenario (a scenario without the param counts as a value
        of its own: the generator's default).
    """
    params = [entry.get("params") or {} for entry in scenarios.values()]
    names = dict.fromkeys(name for given in params for name in given)
    return [
        name
        for name in names
        if len({_level(given[name]) if name in given else None for given in params}) > 1
    ]


def _loop_levels(values: list) -> list:
    """A factor's levels in the order of its loop: numbers ascending, else as the
    scenarios first give them; a missing value (None) last."""
    given = [v for v in dict.fromkeys(values) if v is not None]
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in given):
        given = sorted(given)
    return [*given, *([None] if None in values else [])]


def nested_order(scenarios: Mapping[str, Mapping]) -> tuple[list[str], dict[str, tuple]]:
    """The scenarios in nested-loop order, and each factor's level in each of them.

    The factors (:func:`scenario_factors`) nest in config order: the first is the
    outermost loop, the last the innermost. A factor's levels are its numbers in
    ascending order, else its values in the order the scenarios give them; a scenario
    without the param (it takes the generator's default) comes last.

    Parameters
    ----------
    scenarios
        The config's ``scenarios``.

    Returns
    -------
    tuple
        The scenario names in that order, and factor -> (the index of each one's level,
        in the same order; the levels, None for the generator's default).
    """
    factors = scenario_factors(scenarios)
    params = [entry.get("params") or {} for entry in scenarios.values()]

    def value(given, factor):  # a param's value as a dict key: a list as its text
        found = given.get(factor)
        return found if found is None or isinstance(found, str | int | float) else str(found)

    values = {f: [value(given, f) for given in params] for f in factors}
    levels = {f: _loop_levels(values[f]) for f in factors}
    index = {f: [levels[f].index(v) for v in values[f]] for f in factors}
    order = sorted(range(len(params)), key=lambda i: (*(index[f][i] for f in factors), i))
    names = list(scenarios)
    return [names[i] for i in order], {
        f: ([index[f][i] for i in order], levels[f]) for f in factors
    }


def interval_estimands(config: Mapping[str, Any], method_values) -> list[str]:
    """The estimands for which at least one method gives an interval or an SE.

    Parameters
    ----------
    config
        A resolved config: its ``estimands`` and ``methods``.
    method_values
        Method -> the values it gives (:meth:`simstudy.plan.StudyPlan.method_values`).

    Returns
    -------
    list of str
        In config order. The names are those of
        :func:`simstudy.performance.estimand_columns` (which this layer cannot import;
        ``tests/test_performance_figures.py`` checks that the two agree): the configured
        ``columns``, else ``<estimand>_se``, ``_lower`` and ``_upper``.
    """
    found = []
    for estimand, entry in (config.get("estimands") or {}).items():
        named = (entry or {}).get("columns") or {}
        se, lower, upper = (named.get(k, f"{estimand}_{k}") for k in ("se", "lower", "upper"))
        gives = [set(method_values(method)) for method in config["methods"]]
        if any(estimand in g and (se in g or {lower, upper} <= g) for g in gives):
            found.append(estimand)
    return found


def study_kind(plan) -> StudyKind:
    """What decides the figures of a study.

    Parameters
    ----------
    plan
        The study's :class:`~simstudy.plan.StudyPlan`.

    Returns
    -------
    StudyKind
        Whether it is a clustering study, the values both compared methods give (in the
        study's order), whether it has a ``stopping`` section, its estimands (those
        with an interval or an SE apart) and the factors of its scenarios.
    """
    config = plan.config
    first, second = config["comparison"]
    both = set(plan.method_values(first)) & set(plan.method_values(second))
    return StudyKind(
        clustering=clustering_study(config["methods"]),
        compared=tuple(value for value in plan.values if value in both),
        stopping=config.get("stopping") is not None,
        estimands=tuple(config.get("estimands") or {}),
        intervals=tuple(interval_estimands(config, plan.method_values)),
        factors=tuple(scenario_factors(config["scenarios"])),
    )


def _always(kind: StudyKind) -> bool:
    return True


def _compared(kind: StudyKind) -> tuple[str, ...]:
    return kind.compared


@dataclass(frozen=True)
class FigureKind:
    """One kind of figure: the ``KIND`` of a module of :mod:`simstudy.figures`.

    ``order`` places it in the report (ascending; a tie goes by name). ``label`` may
    hold ``{value}``, replaced by the value's label (:func:`simstudy.metrics.value_label`);
    ``value_captions`` gives some values a caption of their own instead of ``caption``.
    A kind named with ``{value}`` is drawn once for each of ``values(kind)``: by default
    the compared values. ``module`` is the module that defines it, which the catalog
    fills in (:func:`figure_kinds`).
    """

    name: str
    rule: str
    caption: str
    label: str
    order: int
    applies: Callable[[StudyKind], bool] = _always
    value_captions: Mapping[str, str] = field(default_factory=dict)
    values: Callable[[StudyKind], tuple[str, ...]] = _compared
    module: str = ""

    @property
    def per_value(self) -> bool:
        """Whether the study gets one such figure per value of :attr:`values`."""
        return "{value}" in self.name


def figure_modules() -> list[str]:
    """The modules of :mod:`simstudy.figures`, one per kind of figure, by dotted name.

    Returns
    -------
    list of str
        Every module of the package's folders (its ``__path__``), sorted by name. Only
        the package's ``__init__``, which defines nothing, is imported here.
    """
    folders = importlib.import_module(FIGURE_PACKAGE).__path__
    found = pkgutil.iter_modules(folders, prefix=f"{FIGURE_PACKAGE}.")
    return sorted(module.name for module in found if not module.ispkg)


def figure_kinds() -> tuple[FigureKind, ...]:
    """Every kind of figure, in the order the report lists them.

    Imports each of :func:`figure_modules`, which defines its kind as ``KIND`` and
    imports nothing heavy at module level (its ``draw`` imports what it draws with).

    Returns
    -------
    tuple of FigureKind
        Each module's ``KIND``, with :attr:`FigureKind.module` filled in, sorted by
        ``order`` and then name.

    Raises
    ------
    TypeError
        If a module has no ``KIND`` that is a :class:`FigureKind`, or no ``draw``.
    ValueError
        If two modules define kinds of the same name.
    """
    kinds = []
    for name in figure_modules():
        module = importlib.import_module(name)
        kind = getattr(module, "KIND", None)
        if not isinstance(kind, FigureKind) or not callable(getattr(module, "draw", None)):
            raise TypeError(f"{name} must define KIND = FigureKind(...) and draw()")
        kinds.append(replace(kind, module=name))
    names = [kind.name for kind in kinds]
    if len(set(names)) != len(names):
        raise ValueError(f"two modules of {FIGURE_PACKAGE} define the same figure: {names}")
    return tuple(sorted(kinds, key=lambda kind: (kind.order, kind.name)))


@dataclass(frozen=True)
class Figure:
    """One figure file of a study: a kind of figure, for one value or none."""

    name: str
    kind: FigureKind
    value: str | None
    number: str

    @property
    def path(self) -> str:
        """The figure's PNG file (:func:`simstudy.layout.figure_path`)."""
        return figure_path(self.name)

    @property
    def rule(self) -> str:
        """The rule that draws the figure."""
        return self.kind.rule

    @property
    def module(self) -> str:
        """The module of :mod:`simstudy.figures` whose ``draw`` draws it."""
        return self.kind.module

    @property
    def caption(self) -> str:
        """The caption's file name, in ``workflow/report/``."""
        return self.kind.value_captions.get(self.value or "", self.kind.caption)

    @property
    def report(self) -> dict[str, object]:
        """Snakemake's ``report()`` arguments, for a rule file of ``workflow/rules/``."""
        caption = f"../report/{self.caption}"
        return {"caption": caption, "category": "Figures", "labels": {"figure": self.label}}

    @property
    def label(self) -> str:
        """The figure's label in the report: its number, then what it shows."""
        shown = self.kind.label.format(value=value_label(self.value or ""))
        return f"{self.number} {shown}"


def study_figures(kind: StudyKind, rule: str | None = None) -> list[Figure]:
    """The figures a study of ``kind`` gets, in report order, numbered from 1.

    Parameters
    ----------
    kind
        What decides the study's figures.
    rule
        Only the figures this rule draws (one of :data:`FIGURE_RULES`); all by default.

    Returns
    -------
    list of Figure
        One per catalog entry that applies, and per value of its ``values`` for an
        entry named with ``{value}``. The numbers count all of the study's figures, whatever
        ``rule``; they have as many digits as the last one, so the report sorts them.
    """
    chosen = []
    for entry in filter(lambda entry: entry.applies(kind), figure_kinds()):
        if entry.per_value:
            chosen += [(entry.name.format(value=v), entry, v) for v in entry.values(kind)]
        else:
            chosen.append((entry.name, entry, None))
    width = len(str(len(chosen)))
    figures = [
        Figure(name, entry, value, f"{number:0{width}d}")
        for number, (name, entry, value) in enumerate(chosen, start=1)
    ]
    return [figure for figure in figures if rule in (None, figure.rule)]


def figures(plan, rule: str | None = None) -> list[Figure]:
    """The figures of a study (see :func:`study_figures`).

    Parameters
    ----------
    plan
        The study's :class:`~simstudy.plan.StudyPlan`.
    rule
        Only the figures this rule draws; all of them by default.

    Returns
    -------
    list of Figure
        In report order: their files, captions, labels and the modules that draw them.
    """
    return study_figures(study_kind(plan), rule)
