"""The kinds of figure a study can get: one module each.

A module here defines ``KIND``, a :class:`simstudy.catalog.FigureKind` (the figure's file
name, the rule that draws it, its caption in ``workflow/report/``, its label and place in
the report, and which studies get it), and ``draw(plan, results, value)``, which returns
the matplotlib figure. The catalog (:func:`simstudy.catalog.figure_kinds`) lists every
module of this package, so the figure rules, the study's final outputs and the report
pick a new module up with nothing else to edit.

The workflow reads the catalog while it plans, which imports these modules: at module
level they import only the catalog and modules as light. ``draw`` imports what it needs:
:mod:`simstudy.figure_data` to prepare the data and a ``simstudy.plots*`` module to draw
it. :func:`simstudy.figure_rules.draw_figures` calls it.
"""
