"""The catalog of figures: which figures a study gets, their files, captions and labels.

Every figure is registered here once, as a :class:`FigureKind`: its name (``{value}`` in
it makes one figure per value of a list the entry picks from the study: by default the
values that the two compared methods both give; the study's estimands for the figures
of performance measures), the rule that
draws it, the function of :mod:`simstudy.figures` that draws it, its caption in
``workflow/report/``, its label in the report, and which studies get it. The rules'
outputs (``workflow/rules/figures.smk``), the study's final outputs
(:meth:`simstudy.study_layout.StudyLayout.final_outputs`) and the report all read this list.

Adding a figure: add a :class:`FigureKind` to :data:`FIGURE_KINDS` (in the order the
report should list it), a function ``draw_<...>(plan, results, value)`` of that name to
:mod:`simstudy.figures` that returns the matplotlib figure, and its caption to
``workflow/report/``. Nothing else names it.

This module imports nothing heavy: the workflow reads it while it plans.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from simstudy.layout import figure_path
from simstudy.metrics import value_label

#: The rules that draw figures, and the result tables each one reads.
FIGURE_RULES = ("plot_figures", "plot_timings", "plot_stopping")


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


def _estimands(kind: StudyKind) -> tuple[str, ...]:
    return kind.estimands


def _intervals(kind: StudyKind) -> tuple[str, ...]:
    return kind.intervals


@dataclass(frozen=True)
class FigureKind:
    """One entry of the catalog (see the module's docstring).

    ``label`` may hold ``{value}``, replaced by the value's label
    (:func:`simstudy.metrics.value_label`); ``value_captions`` gives some values a
    caption of their own instead of ``caption``. An entry named with ``{value}`` is
    drawn once for each of ``values(kind)``: by default the compared values.
    """

    name: str
    rule: str
    draw: str
    caption: str
    label: str
    applies: Callable[[StudyKind], bool] = _always
    value_captions: Mapping[str, str] = field(default_factory=dict)
    values: Callable[[StudyKind], tuple[str, ...]] = _compared

    @property
    def per_value(self) -> bool:
        """Whether the study gets one such figure per value of :attr:`values`."""
        return "{value}" in self.name


@dataclass(frozen=True)
class Figure:
    """One figure file of a study: an entry of the catalog, for one value or none."""

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
    def draw(self) -> str:
        """The name of the function of :mod:`simstudy.figures` that draws it."""
        return self.kind.draw

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


#: Every figure, in the order the report lists them.
FIGURE_KINDS = (
    FigureKind(
        "example_data",
        "plot_figures",
        "draw_example_data",
        "example_data.rst",
        "example dataset",
        applies=lambda kind: kind.clustering,
    ),
    FigureKind(
        "example_clusterings",
        "plot_figures",
        "draw_example_clusterings",
        "example_clusterings.rst",
        "example clusterings",
        applies=lambda kind: kind.clustering,
    ),
    FigureKind(
        "means_by_scenario",
        "plot_figures",
        "draw_means_by_scenario",
        "means_by_scenario.rst",
        "mean of each value by scenario",
        applies=lambda kind: not kind.clustering,
    ),
    FigureKind(
        "performance_{value}",
        "plot_figures",
        "draw_performance",
        "performance.rst",
        "performance measures of {value}",
        values=_estimands,
    ),
    FigureKind(
        "zip_{value}",
        "plot_figures",
        "draw_zip",
        "zip.rst",
        "zip plot of the intervals for {value}",
        values=_intervals,
    ),
    FigureKind(
        "estimates_{value}",
        "plot_figures",
        "draw_estimates",
        "estimates.rst",
        "estimates of {value} around the truth",
        values=_estimands,
    ),
    FigureKind(
        "nested_loop_{value}",
        "plot_figures",
        "draw_nested_loop",
        "nested_loop.rst",
        "nested-loop plot of {value}",
        applies=lambda kind: len(kind.factors) >= 2,
        values=_estimands,
    ),
    FigureKind(
        "{value}_difference",
        "plot_figures",
        "draw_value_difference",
        "value_difference.rst",
        "{value} difference per trial",
        value_captions={"ari": "ari_difference.rst"},
    ),
    FigureKind(
        "difference_by_scenario",
        "plot_figures",
        "draw_difference_by_scenario",
        "difference_by_scenario.rst",
        "difference by scenario",
        applies=lambda kind: bool(kind.compared),
    ),
    FigureKind(
        "paired_scatter",
        "plot_figures",
        "draw_paired_scatter",
        "paired_scatter.rst",
        "paired values per trial",
        applies=lambda kind: bool(kind.compared),
    ),
    FigureKind(
        "score_vs_time",
        "plot_timings",
        "draw_score_vs_time",
        "score_vs_time.rst",
        "mean against fit time",
    ),
    FigureKind(
        "stopping",
        "plot_stopping",
        "draw_stopping_rounds",
        "stopping.rst",
        "precision-driven stopping",
        applies=lambda kind: kind.stopping,
    ),
)


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
    for entry in filter(lambda entry: entry.applies(kind), FIGURE_KINDS):
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
        In report order: their files, captions, labels and drawing functions.
    """
    return study_figures(study_kind(plan), rule)
