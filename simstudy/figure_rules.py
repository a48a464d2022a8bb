"""What the figure rules call: draw each of the study's figures into its file.

Three kinds of module make a figure, and their names say which is which:

- a module of :mod:`simstudy.figures` is one kind of figure: its ``KIND`` (what the
  catalog, :mod:`simstudy.catalog`, lists) and its ``draw(plan, results, value)``, which
  picks the data out of the result tables and hands it to a drawing function;
- :mod:`simstudy.figure_data` prepares data: it reads the result tables once
  (:class:`~simstudy.figure_data.Results`) and picks a study's rows out of them;
- the ``simstudy.plots*`` modules draw: they take plain numbers and labels and return
  a matplotlib figure, knowing nothing of a study's plan or tables.

:func:`draw_figures` draws the figures of one rule. It first checks the example trial
that rule ``run_example`` kept against its rows in ``trials.csv`` (see
:mod:`simstudy.example`), whatever the kind of study, which makes every figure build a
small reproducibility check. Nothing here runs a trial.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping

from simstudy import catalog, plots
from simstudy.example import check_against_rows
from simstudy.figure_data import Results
from simstudy.plan import StudyPlan


def check_example(plan: StudyPlan, results: Results) -> None:
    """Check the example trial's values against its rows in ``trials.csv``.

    Parameters
    ----------
    plan
        The study's plan; the compared methods are checked.
    results
        The tables, with ``example`` and ``trials``.

    Raises
    ------
    simstudy.example.ReproducibilityError
        If the example's values differ from the trial's rows.
    """
    check_against_rows(results.example, results.paths["trials"], list(plan.config["comparison"]))


# What the rules call ------------------------------------------------------------------


def draw_figures(
    plan: StudyPlan,
    rule: str,
    *,
    inputs: Mapping[str, str | os.PathLike[str]],
    outputs: Mapping[str, str | os.PathLike[str]],
) -> None:
    """Write every figure that ``rule`` draws for the study.

    Parameters
    ----------
    plan
        The study's plan.
    rule
        One of :data:`simstudy.catalog.FIGURE_RULES`.
    inputs
        The rule's tables (see :class:`Results`). With ``example``, the example trial is
        checked first (:func:`check_example`).
    outputs
        Figure name -> where to write it, for each figure of ``catalog.figures(plan, rule)``.

    Raises
    ------
    ValueError
        If ``outputs`` does not name exactly those figures.
    simstudy.example.ReproducibilityError
        From :func:`check_example`.
    """
    figures = catalog.figures(plan, rule)
    names = [figure.name for figure in figures]
    if set(outputs) != set(names):
        raise ValueError(f"outputs {sorted(outputs)} must name the figures {names} of {rule}")
    results = Results(inputs)
    if "example" in inputs:
        check_example(plan, results)
    for figure in figures:
        draw = importlib.import_module(figure.module).draw
        plots.save(draw(plan, results, figure.value), outputs[figure.name])
