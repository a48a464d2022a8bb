"""The catalog of figures: which figures a study gets, their files, captions and labels.

Every figure is registered here once, as a :class:`FigureKind`: its name (``{value}`` in
it makes one figure per value that the two compared methods both give), the rule that
draws it, the function of :mod:`simstudy.figures` that draws it, its caption in
``workflow/report/``, its label in the report, and which studies get it. The rules'
outputs (``workflow/rules/figures.smk``), the plan's final outputs
(:meth:`simstudy.plan.StudyPlan.final_outputs`) and the report all read this list.

Adding a figure: add a :class:`FigureKind` to :data:`FIGURE_KINDS` (in the order the
report should list it), a function ``draw_<...>(plan, results, value)`` of that name to
:mod:`simstudy.figures` that returns the matplotlib figure, and its caption to
``workflow/report/``. Nothing else names it.

This module imports nothing heavy: the workflow reads it while it plans.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from simstudy.layout import figure_path
from simstudy.metrics import value_label

#: The rules that draw figures, and the result tables each one reads.
FIGURE_RULES = ("plot_figures", "plot_timings", "plot_stopping")


@dataclass(frozen=True)
class StudyKind:
    """What decides which figures a study gets.

    ``clustering``: every method is a clusterer, whose labelled points the example
    figures draw. ``compared``: the values both compared methods give, in the study's
    order. ``stopping``: the study has a ``stopping`` section.
    """

    clustering: bool
    compared: tuple[str, ...]
    stopping: bool = False


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


def study_kind(plan) -> StudyKind:
    """What decides the figures of a study.

    Parameters
    ----------
    plan
        The study's :class:`~simstudy.plan.StudyPlan` (this module cannot import it:
        the plan reads the catalog).

    Returns
    -------
    StudyKind
        Whether it is a clustering study, the values both compared methods give (in the
        study's order) and whether it has a ``stopping`` section.
    """
    config = plan.config
    first, second = config["comparison"]
    both = set(plan.method_values(first)) & set(plan.method_values(second))
    return StudyKind(
        clustering=clustering_study(config["methods"]),
        compared=tuple(value for value in plan.values if value in both),
        stopping=config.get("stopping") is not None,
    )


def _always(kind: StudyKind) -> bool:
    return True


@dataclass(frozen=True)
class FigureKind:
    """One entry of the catalog (see the module's docstring).

    ``label`` may hold ``{value}``, replaced by the value's label
    (:func:`simstudy.metrics.value_label`); ``value_captions`` gives some values a
    caption of their own instead of ``caption``.
    """

    name: str
    rule: str
    draw: str
    caption: str
    label: str
    applies: Callable[[StudyKind], bool] = _always
    value_captions: Mapping[str, str] = field(default_factory=dict)

    @property
    def per_value(self) -> bool:
        """Whether the study gets one such figure per compared value."""
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
        One per catalog entry that applies, and per compared value for an entry named
        with ``{value}``. The numbers count all of the study's figures, whatever
        ``rule``; they have as many digits as the last one, so the report sorts them.
    """
    chosen = []
    for entry in filter(lambda entry: entry.applies(kind), FIGURE_KINDS):
        if entry.per_value:
            chosen += [(entry.name.format(value=v), entry, v) for v in kind.compared]
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
