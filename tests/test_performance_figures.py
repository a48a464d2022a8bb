"""Figures of performance measures: a study with estimands gets them, from the catalog.

Each figure is drawn from a made-up trials table and the performance table that
simstudy.performance computes from it, and checked against both: the forest plot's
points and bars are the measures and 1.96 Monte Carlo SEs, the zip plot's intervals are
the trials' own and as many hold the truth as ``cover`` says, the estimates sit around
their truth, and the nested-loop plot follows the scenarios in the order of their
factors. One end-to-end run of a user's estimation study with two factors draws them all.
"""

from __future__ import annotations

import copy
import sys
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.patches import StepPatch

from simstudy import catalog, figure_data, performance, plots_performance
from simstudy.config import check_config
from simstudy.figure_data import Results
from simstudy.figures import estimates as estimates_figure
from simstudy.figures import nested_loop as nested_loop_figure
from simstudy.figures import performance as performance_figure
from simstudy.figures import zip as zip_figure
from simstudy.plan import StudyPlan
from simstudy.study_files import ConfigError
from simstudy.study_layout import StudyLayout

from conftest import DEFAULT_FIGURES, ONE_WORKER, REPO, png_pixels, run_once, snakemake
from test_plots import _title, drawn_texts

ENV = {"PYTHONPATH": str(REPO / "tests")}  # the jobs import tests/userpkg/location.py

#: A user's estimation study with two factors, n and mu: four scenarios, the nested loop.
ESTIMATION = {
    "seed": 7,
    "n_trials": 20,
    "chunk_size": 20,
    "scenarios": {
        f"n{n}_mu{mu}": {
            "generator": "userpkg.location.normal_sample",
            "params": {"n": n, "mu": float(mu)},
        }
        for n in (20, 10)  # not in the order of the loop: n ascending
        for mu in (0, 1)
    },
    "methods": {
        "mean": {"function": "userpkg.location.mean", "label": "Mean"},
        "median": {"function": "userpkg.location.median", "label": "Median $x$"},
    },
    "comparison": ["mean", "median"],
    "estimands": {"mu": {"truth": {"param": "mu"}}},
}
PERFORMANCE_FIGURES = ["performance_mu", "zip_mu", "estimates_mu", "nested_loop_mu"]


@pytest.fixture(autouse=True)
def forget_userpkg():
    """Leave no module of tests/userpkg imported: other tests make a userpkg of their own."""
    yield
    for name in [m for m in sys.modules if m.split(".")[0] == "userpkg"]:
        del sys.modules[name]


def plan_of(config: dict, monkeypatch) -> StudyPlan:
    monkeypatch.syspath_prepend(str(REPO / "tests"))
    return StudyPlan(check_config(copy.deepcopy(config)))


@pytest.fixture
def plan(monkeypatch) -> StudyPlan:
    return plan_of(ESTIMATION, monkeypatch)


def made_up_trials(plan: StudyPlan, n_trials: int = 30) -> pd.DataFrame:
    """Rows as trials.csv holds them: the mean with an SE, a t-like interval and a p-value,
    the median with an estimate only; the mean fails one trial of each scenario."""
    rng = np.random.default_rng(3)
    rows = []
    for scenario, entry in plan.config["scenarios"].items():
        mu = entry["params"]["mu"]
        for trial in range(n_trials):
            estimate, se = mu + rng.normal(0, 0.3), rng.uniform(0.2, 0.4)
            failed = trial == 4
            rows.append(
                {"scenario": scenario, "trial": trial, "method": "mean", "mu": estimate}
                | {"mu_se": se, "mu_lower": estimate - 2 * se, "mu_upper": estimate + 2 * se}
                | {"mu_p": rng.uniform(), "status": "error" if failed else "ok"}
            )
            if failed:
                rows[-1].update(mu=np.nan, mu_se=np.nan, mu_lower=np.nan, mu_upper=np.nan)
            rows.append(
                {"scenario": scenario, "trial": trial, "method": "median", "status": "ok"}
                | {"mu": mu + rng.normal(0.1, 0.35), "mu_se": np.nan, "mu_lower": np.nan}
                | {"mu_upper": np.nan, "mu_p": np.nan}
            )
    return pd.DataFrame(rows)


def results_of(plan: StudyPlan, trials: pd.DataFrame) -> Results:
    """The tables a figure reads: the trials, and the measures computed from them."""
    config = plan.config
    results = Results({})
    results.trials = trials
    results.performance = performance.performance(
        trials,
        estimands=config["estimands"],
        scenarios={name: entry["params"] for name, entry in config["scenarios"].items()},
        comparison=config["comparison"],
        method_values={m: plan.method_values(m) for m in config["methods"]},
    )
    return results


def measured(results: Results, measure: str) -> dict[tuple[str, str], tuple[float, float]]:
    table = results.performance
    rows = table[table["measure"] == measure]
    return {
        (s, m): (v, e)
        for s, m, v, e in zip(
            rows["scenario"], rows["method"], rows["value"], rows["mcse"], strict=True
        )
    }


def panel(figure, title: str):
    """The visible panel of ``figure`` titled ``title`` (as drawn)."""
    titled = [ax for ax in figure.axes if ax.get_visible()]
    (found,) = [ax for ax in titled if _title(ax).replace("\\$", "$") == title]
    return found


def errorbars(ax) -> list[tuple[float, float, float]]:
    """(x, y, half-width) of each point with an errorbar in ``ax``."""
    found = []
    for container in ax.containers:
        ((x, y),) = container.lines[0].get_xydata()
        bars = container.lines[2][0].get_segments() if container.lines[2] else []
        reach = (bars[0][1][0] - bars[0][0][0]) / 2 if len(bars) else 0.0
        found.append((float(x), float(y), float(reach)))
    return found


def dashed_x(ax) -> list[float]:
    """Where the dashed vertical lines of ``ax`` stand."""
    return [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--"]


def dashed_y(ax) -> list[float]:
    """Where the dashed horizontal lines of ``ax`` stand."""
    return [line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == "--"]


def tick_texts(labels) -> list[str]:
    """Tick labels as drawn: an escaped dollar is a dollar."""
    return [label.get_text().replace("\\$", "$") for label in labels]


# -- the catalog ---------------------------------------------------------------------------


def test_a_study_with_estimands_gets_the_performance_figures_in_report_order():
    kind = catalog.StudyKind(
        False, ("mu",), estimands=("mu", "sd"), intervals=("mu",), factors=("n", "mu")
    )
    names = [figure.name for figure in catalog.study_figures(kind)]
    assert names[:8] == [
        "means_by_scenario",
        "performance_mu",
        "performance_sd",
        "zip_mu",  # only mu has a method with an interval or an SE
        "estimates_mu",
        "estimates_sd",
        "nested_loop_mu",
        "nested_loop_sd",
    ]
    one_factor = catalog.StudyKind(False, ("mu",), estimands=("mu",), factors=("n",))
    assert not any(f.name.startswith(("nested", "zip")) for f in catalog.study_figures(one_factor))
    shown = {f.name: f for f in catalog.study_figures(kind)}
    assert shown["zip_mu"].caption == "zip.rst" and shown["zip_mu"].value == "mu"
    assert shown["performance_sd"].label == "03 performance measures of sd"


def test_the_default_study_draws_what_it_drew(monkeypatch):
    from simstudy.study_files import read_study

    plan = plan_of(read_study([REPO / "config" / "config.yaml"]), monkeypatch)
    kind = catalog.study_kind(plan)
    assert kind.estimands == () and kind.intervals == ()
    assert [f.name for f in catalog.figures(plan)] == [*DEFAULT_FIGURES, "score_vs_time"]


def test_the_estimation_study_gets_every_performance_figure(plan):
    kind = catalog.study_kind(plan)
    assert kind.estimands == ("mu",) and kind.intervals == ("mu",)
    assert kind.factors == ("n", "mu")
    paths = [p for p in StudyLayout(plan).final_outputs() if p.startswith("results/figures/")]
    assert [p for p in paths if "_mu" in p and "difference" not in p] == [
        f"results/figures/{name}.png" for name in PERFORMANCE_FIGURES
    ]


@pytest.mark.parametrize(
    "columns",
    [{}, {"se": "s"}, {"lower": "lo", "upper": "hi"}, {"lower": "lo"}, {"p": "pv"}],
)
def test_the_catalog_names_an_estimands_columns_as_the_measures_do(columns):
    entry = {"truth": 0.0, "columns": columns}
    named = performance.estimand_columns("e", entry)
    config = {"estimands": {"e": entry}, "methods": {"a": {}}}
    for given in (["se"], ["lower", "upper"], ["lower"], ["p"], []):
        values = ["e", *(named[key] for key in given)]
        expected = "se" in given or {"lower", "upper"} <= set(given)
        found = catalog.interval_estimands(config, lambda method, v=values: v)
        assert found == (["e"] if expected else []), (columns, given)


def test_the_factors_are_the_params_that_vary_and_nest_in_config_order():
    scenarios = {
        "a": {"params": {"dist": "t", "n": 20, "shape": [1, 2], "k": 1}},
        "b": {"params": {"dist": "normal", "n": 10.0, "shape": [1, 2], "k": 1}},
        "c": {"params": {"dist": "t", "n": 10, "shape": [1, 2], "k": 1.0}},
        "d": {"params": {"n": 20, "shape": [1, 2], "k": 1}},  # the generator's dist
    }
    assert catalog.scenario_factors(scenarios) == ["dist", "n"]  # 1 and 1.0 are the same
    order, factors = catalog.nested_order(scenarios)
    assert order == ["c", "a", "b", "d"]  # dist as first given, its default last; n ascending
    assert factors == {
        "dist": ([0, 0, 1, 2], ["t", "normal", None]),
        "n": ([0, 1, 0, 1], [10, 20]),
    }
    assert catalog.scenario_factors({"only": {"params": {"n": 1}}}) == []


def test_the_nested_loop_measure_is_a_figure_setting(monkeypatch):
    assert plan_of(ESTIMATION, monkeypatch).config["figures"]["nested_loop_measure"] == "bias"
    wrong = copy.deepcopy(ESTIMATION)
    wrong["figures"] = {"nested_loop_measure": "n_missing"}
    with pytest.raises(ConfigError, match="nested_loop_measure"):
        plan_of(wrong, monkeypatch)


@pytest.mark.parametrize(
    "caption", ["performance.rst", "zip.rst", "estimates.rst", "nested_loop.rst"]
)
def test_the_captions_are_clean_rst_and_name_the_studys_settings(caption, plan):
    from docutils.core import publish_parts
    from jinja2 import Environment

    class Snakemake:
        config = plan.config

    template = (REPO / "workflow" / "report" / caption).read_text(encoding="utf-8")
    text = Environment(trim_blocks=True, lstrip_blocks=True).from_string(template)
    # any warning of docutils (a stray |, *, `) is an error here
    html = publish_parts(
        text.render(snakemake=Snakemake), writer="html", settings_overrides={"halt_level": 2}
    )["html_body"]
    if caption == "performance.rst":
        assert "precision gain over median" in html
    if caption == "nested_loop.rst":
        assert "the measure bias" in html


# -- drawing from made-up tables --------------------------------------------------------------


def test_the_forest_plot_draws_each_measure_with_bars_of_1_96_mcse(plan):
    results = results_of(plan, made_up_trials(plan))
    figure = performance_figure.draw(plan, results, "mu")
    texts = drawn_texts(figure)
    shown = [m for m in performance.MEASURES if m != "n_missing"]  # the mean has them all
    titles = [plots_performance.MEASURE_TITLES[m].format(reference="Median $x$") for m in shown]
    assert all(title in texts for title in titles)
    assert "trials without an estimate: Mean 1 (n20_mu0)" in "\n".join(texts)
    assert "30 trials per scenario" in "\n".join(texts)
    for measure, title in zip(shown, titles, strict=True):
        ax = panel(figure, title)
        expected = measured(results, measure)
        points = sorted((x, reach) for x, _, reach in errorbars(ax))
        wanted = sorted((v, 1.96 * e if np.isfinite(e) else 0.0) for v, e in expected.values())
        assert np.allclose(points, wanted), measure
    assert dashed_x(panel(figure, "bias")) == [0.0]
    assert dashed_x(panel(figure, "coverage (cover)")) == [pytest.approx(0.95)]
    assert dashed_x(panel(figure, "rejection rate (power)")) == []  # no null value known
    ax = panel(figure, "bias")
    assert tick_texts(ax.get_yticklabels()) == list(plan.config["scenarios"])  # top down


def test_the_zip_plot_ranks_each_trials_interval_and_colours_what_misses(plan):
    results = results_of(plan, made_up_trials(plan))
    figure = zip_figure.draw(plan, results, "mu")
    drawn = [ax for ax in figure.axes if ax.get_visible()]
    assert [_title(ax).split("\n")[0] for ax in drawn] == [
        f"Mean · {s}" for s in plan.config["scenarios"]
    ]  # the median gives no interval
    trials = results.trials
    for ax, scenario in zip(drawn, plan.config["scenarios"], strict=True):
        rows = trials[(trials["scenario"] == scenario) & (trials["method"] == "mean")]
        rows = rows[rows["status"] == "ok"]
        (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
        segments = np.array(lines.get_segments())
        assert len(segments) == len(rows) == 29
        limits = sorted(zip(segments[:, 0, 0], segments[:, 1, 0], strict=True))
        assert np.allclose(limits, sorted(zip(rows["mu_lower"], rows["mu_upper"], strict=True)))
        truth = plan.config["scenarios"][scenario]["params"]["mu"]
        distance = np.abs((segments[:, 0, 0] + segments[:, 1, 0]) / 2 - truth) / (
            (segments[:, 1, 0] - segments[:, 0, 0]) / 2
        )
        assert np.all(np.diff(distance) >= 0) and np.all(np.diff(segments[:, 0, 1]) > 0)
        covers = [tuple(c) == to_rgba(plots_performance.COVERS_COLOR) for c in lines.get_colors()]
        cover, _ = measured(results, "cover")[(scenario, "mean")]
        assert sum(covers) == round(cover * len(rows))
        assert covers == sorted(covers, reverse=True)  # symmetric intervals: misses on top
        assert f"coverage {cover:.1%}" in _title(ax)


def test_an_interval_from_an_se_is_the_estimate_plus_or_minus_z_se():
    data = pd.DataFrame({"estimate": [0.1, 1.0], "se": [0.5, 0.2]})
    trials = figure_data._intervals(data, 0.0, 0.10)
    z = NormalDist().inv_cdf(0.95)
    assert np.allclose(trials.lower, [0.1 - z * 0.5, 1.0 - z * 0.2])
    assert np.allclose(trials.distance, [0.1 / (z * 0.5), 1.0 / (z * 0.2)])
    assert figure_data._intervals(data[["estimate"]], 0.0, 0.05).lower is None


def test_the_estimates_are_drawn_around_their_truth(plan):
    results = results_of(plan, made_up_trials(plan))
    figure = estimates_figure.draw(plan, results, "mu")
    trials = results.trials
    for scenario, entry in plan.config["scenarios"].items():
        truth = entry["params"]["mu"]
        ax = panel(figure, f"{scenario} (truth {truth:g})")
        assert dashed_x(ax) == [truth]
        means = {
            line.get_ydata()[0]: line.get_xdata()[0]
            for line in ax.lines
            if line.get_marker() == "D"
        }
        for method, y in (("mean", 1.0), ("median", 0.0)):
            rows = trials[(trials["scenario"] == scenario) & (trials["method"] == method)]
            assert means[y] == pytest.approx(rows["mu"].mean())  # NaN of the failed left out
    labels = figure.axes[0].get_yticklabels()
    assert tick_texts(labels) == ["Mean", "Median $x$"]  # top to bottom, as written
    assert "Median $x$" in drawn_texts(figure)


def test_the_nested_loop_follows_the_factors_and_draws_the_measure(plan):
    results = results_of(plan, made_up_trials(plan))
    figure = nested_loop_figure.draw(plan, results, "mu")
    top, n_lane, mu_lane = figure.axes
    order = ["n10_mu0", "n10_mu1", "n20_mu0", "n20_mu1"]
    assert [label.get_text() for label in mu_lane.get_xticklabels()] == order
    bias = measured(results, "bias")
    lines = [p for p in top.patches if isinstance(p, StepPatch) and not p.get_fill()]
    for line, method in zip(lines, ("mean", "median"), strict=True):
        assert np.allclose(line.get_data()[0], [bias[(s, method)][0] for s in order])
    (n_steps,) = n_lane.patches
    (mu_steps,) = mu_lane.patches
    assert n_steps.get_data()[0].tolist() == [0, 0, 1, 1]
    assert mu_steps.get_data()[0].tolist() == [0, 1, 0, 1]
    assert [t.get_text() for t in n_lane.get_yticklabels()] == ["10", "20"]
    assert dashed_y(top) == [0.0]
    assert n_lane.get_ylabel() == "n" and mu_lane.get_ylabel() == "mu"


def test_the_nested_loop_names_the_methods_without_its_measure(monkeypatch):
    config = copy.deepcopy(ESTIMATION)
    config["figures"] = {"nested_loop_measure": "cover"}
    plan = plan_of(config, monkeypatch)
    figure = nested_loop_figure.draw(plan, results_of(plan, made_up_trials(plan)), "mu")
    texts = "\n".join(drawn_texts(figure))
    assert "no cover for: Median $x$" in texts
    assert dashed_y(figure.axes[0]) == [pytest.approx(0.95)]


# -- end to end ----------------------------------------------------------------------------


@pytest.mark.e2e
def test_an_estimation_study_draws_every_performance_figure(tmp_path_factory, monkeypatch):
    plan = plan_of(ESTIMATION, monkeypatch)
    drawn = catalog.figures(plan, "plot_figures")  # the rule that draws them, and only it

    def build(workdir):
        targets = [figure.path for figure in drawn]
        snakemake(workdir, *targets, "--cores", "2", *ONE_WORKER, config=ESTIMATION, env=ENV)

    workdir = run_once(tmp_path_factory, "performance-figures", build)
    found = sorted(p.stem for p in (workdir / "results" / "figures").glob("*.png"))
    assert found == sorted(figure.name for figure in drawn)
    assert set(PERFORMANCE_FIGURES) <= set(found)
    for name in found:
        png_pixels(workdir / "results" / "figures" / f"{name}.png")
