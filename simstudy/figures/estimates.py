"""``estimates_<estimand>.png``: each method's estimates around the truth, per scenario.

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
    "estimates_{value}",
    "plot_figures",
    "estimates.rst",
    "estimates of {value} around the truth",
    order=60,
    values=lambda kind: kind.estimands,
)


def draw(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``estimates_<estimand>.png``: each method's estimates around the truth, per scenario.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables (``trials``) and the estimand.

    Returns
    -------
    Figure
        A panel per scenario, a violin and a box per method.
    """
    from simstudy import plots_performance
    from simstudy.figure_data import estimand_settings, estimand_trials

    return plots_performance.estimates_figure(
        estimand_trials(plan, results.trials, value),
        title=f"Estimates of {value_label(value)} around the truth, per scenario",
        **estimand_settings(plan, value),
    )
