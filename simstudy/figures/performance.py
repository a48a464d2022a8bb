"""``performance_<estimand>.png``: each measure per scenario and method, ±1.96 MCSE.

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
    "performance_{value}",
    "plot_figures",
    "performance.rst",
    "performance measures of {value}",
    order=40,
    values=lambda kind: kind.estimands,
)


def draw(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``performance_<estimand>.png``: each measure per scenario and method, ±1.96 MCSE.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables (``performance``) and the estimand.

    Returns
    -------
    Figure
        A panel per measure that ``performance.csv`` has for the estimand.
    """
    from simstudy import plots_performance
    from simstudy.figure_data import estimand_settings, missing_note, performance_cells

    config, cells = plan.config, performance_cells(plan, results.performance, value)
    return plots_performance.performance_figure(
        cells,
        alpha=config["estimands"][value].get("alpha", 0.05),
        second=plan.method_label(config["comparison"][1]),
        title=f"Performance of the estimates of {value_label(value)}, with ±1.96 MCSE",
        note=missing_note(cells),
        **estimand_settings(plan, value),
    )
