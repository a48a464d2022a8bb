"""``<value>_difference.png``: the per-trial differences in ``value``, a panel each scenario.

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
    "{value}_difference",
    "plot_figures",
    "value_difference.rst",
    "{value} difference per trial",
    order=80,
    value_captions={"ari": "ari_difference.rst"},
)


def draw(plan: StudyPlan, results: Results, value: str | None) -> Figure:
    """``<value>_difference.png``: the per-trial differences in ``value``, a panel each scenario.

    Every scenario gets a panel; one in which a compared method never succeeded says so.

    Parameters
    ----------
    plan, results
        The study's plan and its tables.
    value
        The value, one that both compared methods give.

    Returns
    -------
    Figure
        The figure.
    """
    import numpy as np

    from simstudy.figure_data import (
        difference_rows,
        direction,
        indexed,
        no_success_labels,
        paired_differences,
        warnings_note,
    )
    from simstudy.plots_pairs import difference_figure

    config = plan.config
    first, second = config["comparison"]
    differences = paired_differences(results.trials, first, second, value)
    rows = difference_rows(plan, results.summary, value)
    scenarios = list(config["scenarios"])
    return difference_figure(
        {plan.scenario_label(s): differences.get(s, np.array([], dtype=float)) for s in scenarios},
        {
            plan.scenario_label(s): tuple(indexed(rows, s, ("mean", "ci_low", "ci_high")))
            for s in scenarios
        },
        first=plan.method_label(first),
        second=plan.method_label(second),
        metric_label=value_label(value),
        dpi=config["figures"]["dpi"],
        no_success=no_success_labels(plan, results.trials),
        warnings_note=warnings_note(plan, results.summary),
        direction=direction(plan, value),
    )
