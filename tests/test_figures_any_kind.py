"""Figures of any kind of study: the catalog gives each study its figures, and a testing
study of function methods and a prediction study of classifiers draw theirs from their
tables, with no scatter plot of labelled points and no word of ARI or clustering."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.text import Annotation

from simstudy import catalog, plots, plots_pairs, plots_summaries
from simstudy.config import check_config
from simstudy.example import (
    ReproducibilityError,
    check_against_rows,
    read_example,
    run_example,
    write_example,
)
from simstudy.figure_data import direction
from simstudy.integrity import write_table
from simstudy.plan import StudyPlan
from simstudy.study_layout import StudyLayout
from simstudy.summary import read_trials
from simstudy.tables import trial_columns

from conftest import DEFAULT_FIGURES, ONE_WORKER, REPO, png_pixels, replay, run_once, snakemake
from test_plots import _points, _title, drawn_figures, drawn_texts

HELPERS_ENV = {"PYTHONPATH": str(REPO / "tests")}  # jobs import tests/twosample_for_figures.py

#: Welch's t-test against the rank test on two scenarios; the t-test also gives ``t``.
TESTING = {
    "seed": 5,
    "n_trials": 12,
    "chunk_size": 6,
    "scenarios": {
        "null": {
            "generator": "twosample_for_figures.two_samples",
            "params": {"n": 15, "shift": 0.0},
        },
        "shift": {
            "generator": "twosample_for_figures.two_samples",
            "params": {"n": 15, "shift": 1.5},
            "label": "shift $1.5$",
        },
    },
    "methods": {
        "ttest": {"function": "twosample_for_figures.t_test", "label": "t-test"},
        "ranks": {"function": "twosample_for_figures.rank_test", "label": "rank test"},
    },
    "comparison": ["ttest", "ranks"],
}
TESTING_FIGURES = [
    "means_by_scenario",
    "p_difference",
    "reject_difference",
    "difference_by_scenario",
    "paired_scatter",
    "score_vs_time",
]

#: Two classifiers scored on held-out data, by a built-in metric and one by dotted path.
PREDICTION = {
    "seed": 3,
    "n_trials": 8,
    "chunk_size": 8,
    "scenarios": {
        "easy": {
            "generator": "sklearn.datasets.make_classification",
            "params": {"n_samples": 80, "n_features": 4, "n_informative": 2, "n_redundant": 0},
        }
    },
    "methods": {
        "logistic": {"estimator": "sklearn.linear_model.LogisticRegression", "label": "Logistic"},
        "tree": {
            "estimator": "sklearn.tree.DecisionTreeClassifier",
            "params": {"max_depth": 3},
            "label": "Tree",
        },
    },
    "metrics": ["accuracy", "sklearn.metrics.balanced_accuracy_score"],
    "comparison": ["logistic", "tree"],
}
PREDICTION_FIGURES = [
    "means_by_scenario",
    "accuracy_difference",
    "balanced_accuracy_score_difference",
    "difference_by_scenario",
    "paired_scatter",
    "score_vs_time",
]


def plan_of(config: dict, monkeypatch) -> StudyPlan:
    monkeypatch.syspath_prepend(str(REPO / "tests"))
    return StudyPlan(check_config(copy.deepcopy(config)))


# -- the catalog ------------------------------------------------------------------------


def names(kind: catalog.StudyKind, rule: str | None = None) -> list[str]:
    return [figure.name for figure in catalog.study_figures(kind, rule)]


def test_each_kind_of_study_gets_its_figures_from_the_catalog():
    clustering = catalog.StudyKind(clustering=True, compared=("ari",))
    assert names(clustering) == [*DEFAULT_FIGURES, "score_vs_time"]
    assert names(clustering, "plot_figures") == list(DEFAULT_FIGURES)
    testing = catalog.StudyKind(clustering=False, compared=("p", "reject"), stopping=True)
    assert names(testing) == [*TESTING_FIGURES, "stopping"]
    assert names(testing, "plot_stopping") == ["stopping"]
    # no value in common: no difference figures, the means and the times still
    assert names(catalog.StudyKind(False, ())) == ["means_by_scenario", "score_vs_time"]


def test_figures_are_numbered_captioned_and_labelled_for_the_report():
    shown = catalog.study_figures(catalog.StudyKind(True, ("ari", "nmi")))
    assert [figure.label for figure in shown[2:4]] == [
        "3 ARI difference per trial",
        "4 NMI difference per trial",
    ]
    assert [figure.caption for figure in shown[2:4]] == [
        "ari_difference.rst",
        "value_difference.rst",
    ]
    assert shown[3].path == "results/figures/nmi_difference.png" and shown[3].value == "nmi"
    many = catalog.study_figures(catalog.StudyKind(False, tuple(f"v{i}" for i in range(9))))
    assert many[0].label == "01 mean of each value by scenario"  # sorts as text too
    captions = {figure.caption for figure in [*shown, *many]}
    assert captions <= {path.name for path in (REPO / "workflow/report").glob("*.rst")}


def test_every_kind_of_figure_is_drawn_by_a_rule():
    for kind in catalog.figure_kinds():
        assert kind.rule in catalog.FIGURE_RULES, kind.name


def test_a_study_is_a_clustering_one_when_every_method_is_a_clusterer():
    clusterer = {"estimator": "x.Y", "task": "clusterer"}
    assert catalog.clustering_study({"a": clusterer, "b": {"estimator": "x.Z"}})
    assert not catalog.clustering_study({"a": clusterer, "b": {"function": "m.f"}})
    assert not catalog.clustering_study({"a": {"estimator": "x.Y", "task": "classifier"}})


def test_the_plan_asks_for_the_studys_own_figures(monkeypatch):
    outputs = StudyLayout(plan_of(TESTING, monkeypatch)).final_outputs()
    assert [p for p in outputs if p.startswith("results/figures/")] == [
        f"results/figures/{name}.png" for name in TESTING_FIGURES
    ]
    assert "results/example/trial.json" in outputs  # checked against trials.csv


def test_which_side_is_better_is_said_only_for_known_scores_and_errors():
    def plan(metrics, methods=None):
        methods = methods or {"a": {"estimator": "x.Y"}}
        return SimpleNamespace(config={"metrics": metrics, "methods": methods})

    assert direction(plan(["ari"]), "ari") == 1
    by_path = plan(["sklearn.metrics.balanced_accuracy_score"])
    assert direction(by_path, "balanced_accuracy_score") == 1
    assert direction(plan(["mse", "sklearn.metrics.log_loss"]), "log_loss") == -1
    assert direction(plan(["mse"]), "mse") == -1
    assert direction(plan(["ari"], {"f": {"function": "m.f"}}), "ari") == 0  # a function's
    assert plots.side_labels("A", "B", 1) == ("← B better", "A better →")
    assert plots.side_labels("A", "B", -1) == ("← A better", "B better →")
    assert plots.side_labels("A", "B", 0) == ("← B higher", "A higher →")


CAPTIONS = sorted(path.name for path in (REPO / "workflow/report").glob("*.rst"))


@pytest.mark.parametrize("clustering", [True, False], ids=["clustering", "any"])
@pytest.mark.parametrize("caption", CAPTIONS)
def test_every_caption_reads_as_plain_text_for_either_kind_of_study(caption, clustering):
    from test_untrusted_text import render_caption  # Jinja, then RST, as Snakemake does

    config = copy.deepcopy(TESTING)
    for method in config["methods"].values():
        method.update({"task": "clusterer"} if clustering else {})
    config.update(
        seeding="spawn",
        metrics=["ari"],
        values=["p", "reject"],
        figures={"example_scenario": "null", "example_trial": 0},
    )
    rendered = render_caption(caption, config)
    assert "system-message" not in rendered and "problematic" not in rendered, rendered
    text = " ".join(re.sub(r"<[^>]+>", "", rendered).split())
    if caption == "workflow.rst":
        assert ("compares clustering methods" in text) == clustering
        assert ("the values p, reject" in text) != clustering
    if caption == "difference_by_scenario.rst":
        expected = "Where does ttest win?" if clustering else "Where do ttest and ranks differ?"
        assert text.startswith(expected), text


@pytest.mark.parametrize(
    ("metrics", "glossed", "not_glossed"),
    [
        (["ari"], ["adjusted Rand index"], ["mutual information"]),
        (["nmi", "ami"], ["normalised mutual", "adjusted mutual"], ["Rand"]),
        (["sklearn.metrics.fowlkes_mallows_score"], [], ["Rand", "mutual information", "("]),
    ],
)
def test_the_report_explains_only_the_clustering_metrics_the_study_uses(
    metrics, glossed, not_glossed
):
    from test_untrusted_text import render_caption

    config = copy.deepcopy(TESTING)
    for method in config["methods"].values():
        method["task"] = "clusterer"
    config.update(seeding="spawn", metrics=metrics, values=["p", "reject"])
    text = " ".join(re.sub(r"<[^>]+>", "", render_caption("workflow.rst", config)).split())
    sentence = text[text.index("the metrics") : text.index("The comparison")]
    assert all(part in sentence for part in glossed), sentence
    assert not any(part in sentence for part in not_glossed), sentence


# -- the example trial ---------------------------------------------------------------------


def test_the_example_of_a_function_study_keeps_its_values_and_is_checked(monkeypatch, tmp_path):
    plan = plan_of(TESTING, monkeypatch)
    example = run_example(plan.example_specs(), 4)
    assert example.X is None and example.y is None and example.labels == {}
    assert set(example.scores) == {"ttest", "ranks"}
    assert set(example.scores["ttest"]) == {"p", "reject", "t"}
    write_example(tmp_path / "trial.json", example)
    again = read_example(tmp_path / "trial.json")
    assert again.scores == example.scores and again.X is None
    rows = [
        {
            "scenario": "null",
            "trial": 4,
            "method": method,
            "t": "",  # the rank test gives none
            **values,
            "seed": example.seed,
            "spec": "x",
            "status": "ok",
            "error": "",
            "n_warnings": 0,
            "warning": "",
        }
        for method, values in example.scores.items()
    ]
    trials = tmp_path / "trials.csv"
    write_table(trials, trial_columns(["p", "reject", "t"]), rows)
    check_against_rows(again, trials, ["ttest", "ranks"])
    rows[1]["p"] += 1e-9
    write_table(trials, trial_columns(["p", "reject", "t"]), rows)
    with pytest.raises(ReproducibilityError, match="method ranks"):
        check_against_rows(again, trials, ["ttest", "ranks"])


# -- drawing -------------------------------------------------------------------------------


def test_whole_number_values_are_counted_where_they_fall():
    x, y = np.array([0, 0, 0, 1, 1]), np.array([0, 0, 1, 1, 0])
    figure = plots_pairs.paired_scatter_figure(
        {"reject": {"s": (x, y)}, "p": {"s": (x / 2, y / 3)}},
        first="A",
        second="B",
        dpi=40,
        directions={"reject": 0, "p": 0},
    )
    counts = [a for a in figure.axes[0].texts if isinstance(a, Annotation)]
    assert sorted((a.xy, a.get_text()) for a in counts) == [
        ((0.0, 0.0), "2"),
        ((0.0, 1.0), "1"),
        ((1.0, 0.0), "1"),
        ((1.0, 1.0), "1"),
    ]
    assert len(_points(figure.axes[1])) == 5  # other values: a point per trial
    assert "above the dashed line y = x, A is higher" in "\n".join(drawn_texts(figure))


def test_the_means_figure_draws_each_methods_interval():
    means = {"v": {"s": {"A": (0.5, 0.4, 0.6), "B": (0.2, 0.1, 0.3)}, "t": {"A": (1.0, 0.9, 1.1)}}}
    figure = plots_summaries.means_figure(means, methods=["A", "B"], dpi=40)
    (ax,) = [ax for ax in figure.axes if ax.get_visible()]
    assert sorted(means_and_intervals(ax)) == [(0.2, 0.1, 0.3), (0.5, 0.4, 0.6), (1.0, 0.9, 1.1)]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["s", "t"]


def means_and_intervals(ax) -> list[tuple[float, float, float]]:
    """(mean, low, high) of each point that :func:`plots_summaries.means_figure` drew."""
    found = []
    for container in ax.containers:  # one errorbar each
        (mean,) = container.lines[0].get_xdata()
        ((low, _), (high, _)) = container.lines[2][0].get_segments()[0]
        found.append((float(mean), float(low), float(high)))
    return found


# -- end to end ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def testing_run(tmp_path_factory) -> Path:
    """A finished testing study, and its report."""

    def build(workdir: Path) -> None:
        args = ("--cores", "2", *ONE_WORKER)
        snakemake(workdir, *args, config=TESTING, env=HELPERS_ENV)
        snakemake(workdir, "--report", "results/report.html", config=TESTING, env=HELPERS_ENV)

    return run_once(tmp_path_factory, "testing-figures", build)


def summary_rows(workdir: Path, kind: str) -> pd.DataFrame:
    table = pd.read_csv(  # the scenario "null" stays a name
        workdir / "results/summary.csv", keep_default_na=False, na_values=[""], dtype=str
    ).astype({column: float for column in ("mean", "ci_low", "ci_high")})
    return table[table["kind"] == kind]


def assert_means_match(figure, summary: pd.DataFrame) -> None:
    """Each panel of the means figure draws its value's rows of summary.csv, and no more."""
    for ax in [ax for ax in figure.axes if ax.get_visible()]:
        value = ax.get_title().removeprefix("mean ")
        rows = summary[summary["metric"] == value]
        expected = sorted(zip(rows["mean"], rows["ci_low"], rows["ci_high"], strict=True))
        assert np.allclose(sorted(means_and_intervals(ax)), expected), value


def assert_nothing_of_clustering(drawn: dict) -> None:
    for name, figure in drawn.items():
        text = "\n".join(drawn_texts(figure))
        assert "ARI" not in text and "cluster" not in text.lower(), (name, text)


@pytest.mark.e2e
def test_a_testing_study_draws_its_figures_and_no_scatter_plots(testing_run, monkeypatch):
    made = sorted(p.stem for p in (testing_run / "results/figures").glob("*.png"))
    assert made == sorted(TESTING_FIGURES)
    for name in made:
        png_pixels(testing_run / f"results/figures/{name}.png")
    example = json.loads((testing_run / "results/example/trial.json").read_text())
    assert example["X"] is None and set(example["scores"]) == {"ttest", "ranks"}

    drawn = drawn_figures(monkeypatch, TESTING, testing_run)
    drawn.update(drawn_figures(monkeypatch, TESTING, testing_run, rule="plot_timings"))
    assert_nothing_of_clustering(drawn)
    assert_means_match(drawn["means_by_scenario"], summary_rows(testing_run, "method"))
    titles = [_title(ax) for ax in drawn["means_by_scenario"].axes if ax.get_visible()]
    assert titles == ["mean p", "mean reject", "mean t"]

    trials = read_trials(testing_run / "results/trials.csv")
    wide = trials.pivot(index=["scenario", "trial"], columns="method", values="reject")
    differences = summary_rows(testing_run, "difference").set_index(["metric", "scenario"])
    panels = [ax for ax in drawn["reject_difference"].axes if _title(ax)]
    labels = ["null", plots.plain_text("shift $1.5$")]  # titles hold their text escaped
    for ax, scenario, label in zip(panels, ["null", "shift"], labels, strict=True):
        assert _title(ax).startswith(f"{label}: n = 12 trials")
        row = differences.loc[("reject", scenario)]
        assert f"mean {row['mean']:+.3f}, 95% CI [{row['ci_low']:+.3f}" in _title(ax)
        rug = [c for c in ax.collections if isinstance(c, LineCollection)][-1]
        expected = wide.loc[scenario, "ttest"] - wide.loc[scenario, "ranks"]
        assert sorted(s[0][0] for s in rug.get_segments()) == sorted(expected)
    sides = drawn_texts(drawn["reject_difference"])
    assert "← rank test higher" in sides and "better" not in " ".join(sides)

    forest = [_title(ax) for ax in drawn["difference_by_scenario"].axes if _title(ax)]
    assert forest == ["p: t-test − rank test", "reject: t-test − rank test"]
    scatter = [ax for ax in drawn["paired_scatter"].axes if _title(ax)]
    p_values = trials.pivot(index=["scenario", "trial"], columns="method", values="p")
    assert np.allclose(_points(scatter[0])[:, 1], p_values.loc["null", "ttest"])
    for ax in scatter[2:]:  # reject: how many trials fall on each corner
        counts = [int(a.get_text()) for a in ax.texts if isinstance(a, Annotation)]
        assert sum(counts) == 12
    assert "Mean p against median run time" in "\n".join(drawn_texts(drawn["score_vs_time"]))


@pytest.mark.e2e
def test_a_testing_studys_report_and_replay_speak_of_its_values(testing_run, tmp_path):
    report = (testing_run / "results/report.html").read_text(encoding="utf-8")
    for name in TESTING_FIGURES:
        assert f"{name}.png" in report, name
    for caption in (
        "How do ttest and ranks differ, trial by trial?",
        "Where do ttest and ranks differ?",
        "Each method on its own.",
    ):
        assert caption in report, caption
    assert not re.search(r"adjusted Rand|clustering methods", report)

    plot = tmp_path / "x.png"
    request = ("--scenario", "shift", "--trial", "3", "--method", "ranks", "--plot", str(plot))
    result = replay(testing_run, *request, env=HELPERS_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    trials = read_trials(testing_run / "results/trials.csv")
    row = trials.set_index(["scenario", "trial", "method"]).loc[("shift", 3, "ranks")]
    assert f"p = {float(row['p'])!r}\n" in result.stdout
    assert f"reject = {float(row['reject'])!r}\n" in result.stdout
    assert "is not a clusterer" in result.stdout and not plot.exists()


@pytest.mark.e2e
def test_a_prediction_study_draws_its_figures(tmp_path_factory, monkeypatch):
    workdir = run_once(
        tmp_path_factory,
        "prediction-figures",
        lambda folder: snakemake(folder, "--cores", "2", *ONE_WORKER, config=PREDICTION),
    )
    made = sorted(p.stem for p in (workdir / "results/figures").glob("*.png"))
    assert made == sorted(PREDICTION_FIGURES)
    drawn = drawn_figures(monkeypatch, PREDICTION, workdir)
    drawn.update(drawn_figures(monkeypatch, PREDICTION, workdir, rule="plot_timings"))
    assert_nothing_of_clustering(drawn)
    assert_means_match(drawn["means_by_scenario"], summary_rows(workdir, "method"))
    assert "Logistic better →" in drawn_texts(drawn["accuracy_difference"])  # a known score
    timing = "\n".join(drawn_texts(drawn["score_vs_time"]))
    assert "Accuracy against compute time: mean accuracy and median fit time" in timing
