"""``zip_<estimand>.png``: each trial's interval, ranked by its distance from the truth.

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
    "zip_{value}",
    "plot_figures",
    "zip.rst",
    "zip plot of the intervals for {value}",
    order=50,
    values=lambda kind: kind.intervals,
)


def draw(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``zip_<estimand>.png``: each trial's interval, ranked by its distance from the truth.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables (``trials``, ``performance``) and the estimand.

    Returns
    -------
    Figure
        A panel per method that gives an interval or an SE, and scenario.
    """
    from simstudy import plots_performance
    from simstudy.figure_data import zip_panels

    return plots_performance.zip_figure(
        zip_panels(plan, results, value),
        nominal=1 - plan.config["estimands"][value].get("alpha", 0.05),
        dpi=plan.config["figures"]["dpi"],
        title=f"Zip plot of the intervals for {value_label(value)}, ranked by |z|",
    )
