"""``stopping.png``: each scenario's precision against its trials, by round.

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
    "stopping",
    "plot_stopping",
    "stopping.rst",
    "precision-driven stopping",
    order=120,
    applies=lambda kind: kind.stopping,
)


def draw(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``stopping.png``: each scenario's precision against its trials, by round.

    The precision is the half-width of the compared difference's interval, or under a
    ``stopping.mcse`` rule the largest Monte Carlo SE of the measure over the methods.

    Parameters
    ----------
    plan, results, value
        The study's plan (its ``stopping`` section gives the target), its tables
        (``stopping``), and None.

    Returns
    -------
    Figure
        The figure.
    """
    from simstudy.plots_summaries import stopping_figure

    config, table = plan.config, results.stopping
    stopping = config["stopping"]
    rule = column = "mcse" if "mcse" in stopping else "half_width"
    words = {}
    if rule == "mcse":
        words = {
            "precision": "MCSE",
            "measured": (
                f"of {stopping['measure']} of {stopping['estimand']}\n(largest over the methods)"
            ),
        }
    rounds = {}
    for scenario in config["scenarios"]:
        rows = table[table["scenario"] == scenario].sort_values("round")
        rounds[plan.scenario_label(scenario)] = (
            rows["trials"].tolist(),
            rows[column].astype(float).tolist(),
            str(rows["reason"].iloc[-1]),
        )
    return stopping_figure(rounds, target=stopping[rule], dpi=config["figures"]["dpi"], **words)
