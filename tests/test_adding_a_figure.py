"""Adding a figure takes one module of simstudy/figures and its caption, as the catalog's
docstring says: the catalog lists the module, the study's final outputs and the figure
rules' outputs name its file, the report gets its caption and label, the figure rules'
code digest covers it, and draw_figures draws it."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import simstudy.figures
from simstudy import catalog, figure_rules, plots
from simstudy.config import check_config
from simstudy.digests import code_entries
from simstudy.plan import StudyPlan
from simstudy.study_layout import StudyLayout

from conftest import REPO, TINY_CONFIG
from conftest import forget_code_digests as forget

#: A new kind of figure, as a module of simstudy/figures would define it.
NEW_FIGURE = '''"""``trial_count.png``: how many trials each scenario has."""

from __future__ import annotations

from simstudy.catalog import FigureKind

KIND = FigureKind(
    "trial_count",
    "plot_figures",
    "trial_count.rst",
    "trials per scenario",
    order=95,
)


def draw(plan, results, value):
    """A bar per scenario."""
    from matplotlib.figure import Figure

    figure = Figure()
    names = [plan.scenario_label(s) for s in plan.config["scenarios"]]
    figure.add_subplot().bar(names, [plan.config["n_trials"]] * len(names))
    return figure
'''


@pytest.fixture
def new_figure(tmp_path, monkeypatch):
    """The package with NEW_FIGURE as its module ``trial_count``, for this test only."""
    (tmp_path / "trial_count.py").write_text(NEW_FIGURE, encoding="utf-8")
    monkeypatch.setattr(simstudy.figures, "__path__", [*simstudy.figures.__path__, str(tmp_path)])
    forget()
    yield "simstudy.figures.trial_count"
    sys.modules.pop("simstudy.figures.trial_count", None)
    forget()


def test_a_new_module_is_a_figure_of_every_study_it_applies_to(new_figure, monkeypatch):
    kinds = catalog.figure_kinds()
    names = [kind.name for kind in kinds]
    assert names.index("trial_count") == names.index("paired_scatter") - 1  # order=95
    monkeypatch.syspath_prepend(str(REPO / "tests"))
    plan = StudyPlan(check_config(dict(TINY_CONFIG)))
    (figure,) = [f for f in catalog.figures(plan, "plot_figures") if f.name == "trial_count"]
    assert figure.module == new_figure
    assert figure.path == "results/figures/trial_count.png"
    assert figure.path in StudyLayout(plan).final_outputs()
    assert figure.report["caption"] == "../report/trial_count.rst"
    assert figure.label.endswith(" trials per scenario")
    assert new_figure in code_entries(["simstudy.figure_rules", *catalog.figure_modules()])


def test_draw_figures_draws_a_new_module(new_figure, monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(REPO / "tests"))
    plan = StudyPlan(check_config(dict(TINY_CONFIG)))
    stub = object()
    for kind in catalog.figure_kinds():  # the others need the study's tables
        if kind.module != new_figure:
            monkeypatch.setattr(importlib.import_module(kind.module), "draw", lambda *_: stub)
    drawn = {}
    monkeypatch.setattr(plots, "save", lambda figure, path: drawn.setdefault(path, figure))
    figures = catalog.figures(plan, "plot_figures")
    figure_rules.draw_figures(
        plan,
        "plot_figures",
        inputs={},  # without the example, nothing is checked or read
        outputs={figure.name: figure.name for figure in figures},
    )
    assert sorted(drawn) == sorted(figure.name for figure in figures)
    bars = drawn["trial_count"].axes[0].patches
    assert len(bars) == len(plan.config["scenarios"])


def test_a_module_without_a_kind_or_draw_is_refused(tmp_path, monkeypatch):
    (tmp_path / "half_done.py").write_text("def draw(plan, results, value):\n    pass\n")
    monkeypatch.setattr(simstudy.figures, "__path__", [*simstudy.figures.__path__, str(tmp_path)])
    with pytest.raises(TypeError, match="half_done must define KIND"):
        catalog.figure_kinds()
    sys.modules.pop("simstudy.figures.half_done", None)


def test_every_module_of_the_package_is_a_kind_with_its_caption():
    modules = catalog.figure_modules()
    kinds = catalog.figure_kinds()
    assert sorted(kind.module for kind in kinds) == modules
    files = {path.name for path in (REPO / "workflow/report").glob("*.rst")}
    for kind in kinds:
        captions = {kind.caption, *kind.value_captions.values()}
        assert captions <= files, kind.module
        assert kind.rule in catalog.FIGURE_RULES, kind.module
    orders = [kind.order for kind in kinds]
    assert len(set(orders)) == len(orders), "two kinds share a place in the report"


def test_the_catalog_and_its_figure_modules_import_no_drawing_library():
    # The workflow reads the catalog while it plans, at every snakemake command.
    code = (
        "import sys\n"
        "from simstudy import catalog\n"
        "catalog.figure_kinds()\n"
        "print(sorted({'matplotlib', 'seaborn', 'pandas', 'scipy'} & set(sys.modules)))\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert shown.strip() == "[]"
