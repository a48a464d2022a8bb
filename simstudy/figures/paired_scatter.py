"""``paired_scatter.png``: each trial's value under one compared method against the other.

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
    "paired_scatter",
    "plot_figures",
    "paired_scatter.rst",
    "paired values per trial",
    order=100,
    applies=lambda kind: bool(kind.compared),
)


def draw(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``paired_scatter.png``: each trial's value under one compared method against the other.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables, and None (one figure for the study).

    Returns
    -------
    Figure
        A panel per scenario, a row of them per value both compared methods give.
    """
    import pandas as pd

    from simstudy.figure_data import compared, direction, no_success_labels, warnings_note
    from simstudy.plots_pairs import paired_scatter_figure
    from simstudy.summary import paired_scores

    config = plan.config
    first, second = config["comparison"]
    pairs = {}
    for shown in compared(plan):
        scores = paired_scores(results.trials, first, second, shown)
        empty = pd.DataFrame(columns=[first, second], dtype=float)
        pairs[value_label(shown)] = {
            plan.scenario_label(s): (
                scores.get(s, empty)[second].to_numpy(dtype=float),
                scores.get(s, empty)[first].to_numpy(dtype=float),
            )
            for s in config["scenarios"]
        }
    return paired_scatter_figure(
        pairs,
        first=plan.method_label(first),
        second=plan.method_label(second),
        dpi=config["figures"]["dpi"],
        no_success=no_success_labels(plan, results.trials),
        warnings_note=warnings_note(plan, results.summary),
        directions={value_label(v): direction(plan, v) for v in compared(plan)},
    )
