"""``means_by_scenario.png``: each method's mean of each value, per scenario, with CI.

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
    "means_by_scenario",
    "plot_figures",
    "means_by_scenario.rst",
    "mean of each value by scenario",
    order=30,
    applies=lambda kind: not kind.clustering,
)


def draw(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``means_by_scenario.png``: each method's mean of each value, per scenario, with CI.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables, and None (one figure for the study).

    Returns
    -------
    Figure
        A panel per value of the study; a method is drawn where it gives the value.
    """
    from simstudy.figure_data import indexed
    from simstudy.plots_summaries import means_figure

    config, summary = plan.config, results.summary
    rows = summary[summary["kind"] == "method"].set_index(["metric", "scenario", "method"])
    columns = ("mean", "ci_low", "ci_high")
    means = {
        value_label(v): {
            plan.scenario_label(s): {
                plan.method_label(m): tuple(indexed(rows, (v, s, m), columns))
                for m in config["methods"]
                if v in plan.method_values(m)
            }
            for s in config["scenarios"]
        }
        for v in plan.values
    }
    trials = sorted(set(rows["n"] + rows["n_failed"]))
    counted = f"{trials[0]} trials" if len(trials) == 1 else "trials vary"
    return means_figure(
        means,
        methods=[plan.method_label(m) for m in config["methods"]],
        dpi=config["figures"]["dpi"],
        note=f"{counted} per scenario; a method without a point does not give that value",
    )
