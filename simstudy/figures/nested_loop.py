"""``nested_loop_<estimand>.png``: ``figures.nested_loop_measure`` in every scenario.

The kind of figure (``KIND``) and what draws it (``draw``): see :mod:`simstudy.figures`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simstudy.catalog import FigureKind, nested_order
from simstudy.metrics import value_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from simstudy.figure_data import Results
    from simstudy.plan import StudyPlan

KIND = FigureKind(
    "nested_loop_{value}",
    "plot_figures",
    "nested_loop.rst",
    "nested-loop plot of {value}",
    order=70,
    applies=lambda kind: len(kind.factors) >= 2,
    values=lambda kind: kind.estimands,
)


def draw(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``nested_loop_<estimand>.png``: ``figures.nested_loop_measure`` in every scenario.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables (``performance``) and the estimand.

    Returns
    -------
    Figure
        The scenarios in the order of their factors (:func:`simstudy.catalog.nested_order`).
    """
    from simstudy import plots_performance
    from simstudy.figure_data import estimand_settings, performance_cells

    config = plan.config
    measure = config["figures"]["nested_loop_measure"]
    order, factors = nested_order(config["scenarios"])
    return plots_performance.nested_loop_figure(
        performance_cells(plan, results.performance, value).get(measure, {}),
        measure=measure,
        scenarios=[plan.scenario_label(s) for s in order],
        factors=factors,
        alpha=config["estimands"][value].get("alpha", 0.05),
        second=plan.method_label(config["comparison"][1]),
        title=f"Nested-loop plot: {measure} of {value_label(value)} in every scenario",
        **estimand_settings(plan, value),
    )
