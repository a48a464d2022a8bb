"""``difference_by_scenario.png``: the mean paired difference and its CI, per value.

The kind of figure (``KIND``) and what draws it (``draw``): see :mod:`simstudy.figures`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simstudy.catalog import FigureKind
from simstudy.metrics import value_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from simstudy.figure_data import Results
    from simstudy.plan import StudyPlan

KIND = FigureKind(
    "difference_by_scenario",
    "plot_figures",
    "difference_by_scenario.rst",
    "difference by scenario",
    order=90,
    applies=lambda kind: bool(kind.compared),
)


def draw(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``difference_by_scenario.png``: the mean paired difference and its CI, per value.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables, and None (one figure for the study).

    Returns
    -------
    Figure
        A panel per value both compared methods give, a row per scenario.
    """
    from simstudy.figure_data import (
        compared,
        difference_rows,
        direction,
        indexed,
        no_success_labels,
        warnings_note,
    )
    from simstudy.plots_pairs import difference_by_scenario_figure

    config = plan.config
    first, second = config["comparison"]
    columns = ("mean", "ci_low", "ci_high", "p_holm")
    forest = {}
    for shown in compared(plan):
        rows = difference_rows(plan, results.summary, shown)
        forest[value_label(shown)] = {
            plan.scenario_label(s): dict(zip(columns, indexed(rows, s, columns), strict=True))
            for s in config["scenarios"]
        }
    return difference_by_scenario_figure(
        forest,
        first=plan.method_label(first),
        second=plan.method_label(second),
        dpi=config["figures"]["dpi"],
        no_success=no_success_labels(plan, results.trials),
        warnings_note=warnings_note(plan, results.summary),
        directions={value_label(v): direction(plan, v) for v in compared(plan)},
    )
