"""``example_clusterings.png``: each compared method's clusters, titled with its score.

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
    "example_clusterings",
    "plot_figures",
    "example_clusterings.rst",
    "example clusterings",
    order=20,
    applies=lambda kind: kind.clustering,
)


def draw(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``example_clusterings.png``: each compared method's clusters, titled with its score.

    A compared method that failed in that trial is drawn as an empty panel saying so;
    the score is the first value both compared methods give (ARI in the default study).

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables, and None (one figure for the study).

    Returns
    -------
    Figure
        The figure.
    """
    from simstudy.figure_data import compared
    from simstudy.plots_examples import example_clusterings_figure

    outcome, comparison = results.example, plan.config["comparison"]
    shown = compared(plan)[0]
    names = {method: plan.method_label(method) for method in comparison}
    return example_clusterings_figure(
        outcome.X,
        outcome.y,
        {names[m]: outcome.labels.get(m) for m in comparison},
        {names[m]: outcome.scores.get(m, {}).get(shown) for m in comparison},
        scenario=plan.scenario_label(plan.example.scenario),
        trial=plan.example.trial,
        metric_label=value_label(shown),
        dpi=plan.config["figures"]["dpi"],
    )
