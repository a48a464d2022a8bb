"""``example_data.png``: the example trial's points, coloured by true cluster.

The kind of figure (``KIND``) and what draws it (``draw``): see :mod:`simstudy.figures`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from simstudy.catalog import FigureKind

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from simstudy.figure_data import Results
    from simstudy.plan import StudyPlan

KIND = FigureKind(
    "example_data",
    "plot_figures",
    "example_data.rst",
    "example dataset",
    order=10,
    applies=lambda kind: kind.clustering,
)


def draw(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``example_data.png``: the example trial's points, coloured by true cluster.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables, and None (one figure for the study).

    Returns
    -------
    Figure
        The figure.
    """
    from simstudy.plots_examples import example_data_figure

    outcome = results.example
    return example_data_figure(
        outcome.X,
        outcome.y,
        scenario=plan.scenario_label(plan.example.scenario),
        trial=plan.example.trial,
        dpi=plan.config["figures"]["dpi"],
    )
