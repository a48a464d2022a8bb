"""``score_vs_time.png``: each method's mean against its median time, per scenario.

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
    "score_vs_time",
    "plot_timings",
    "score_vs_time.rst",
    "mean against fit time",
    order=110,
)


def draw(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``score_vs_time.png``: each method's mean against its median time, per scenario.

    The value is the first that both compared methods give (else the study's first);
    methods that do not give it are left out.

    Parameters
    ----------
    plan, results, value
        The study's plan, its tables (``summary`` and ``timing_summary``), and None.

    Returns
    -------
    Figure
        The figure.
    """
    from simstudy.figure_data import direction, first_value, indexed
    from simstudy.plots_summaries import CostPoint, score_time_figure

    config, summary = plan.config, results.summary
    shown = first_value(plan)
    scores = summary[(summary["kind"] == "method") & (summary["metric"] == shown)]
    scores = scores.set_index(["scenario", "method"])
    times = results.timing_summary
    methods = [m for m in config["methods"] if shown in plan.method_values(m)]
    points = {
        plan.scenario_label(scenario): [
            CostPoint(
                plan.method_label(method),
                *indexed(times, (scenario, method), ("wall_median", "wall_q25", "wall_q75")),
                *indexed(scores, (scenario, method), ("mean", "ci_low", "ci_high")),
            )
            for method in methods
        ]
        for scenario in config["scenarios"]
    }
    fits = all(entry.get("estimator") for entry in config["methods"].values())
    return score_time_figure(
        points,
        metric_label=value_label(shown),
        dpi=config["figures"]["dpi"],
        direction=direction(plan, shown),
        per="fit" if fits else "run",
    )
