"""Figures: they are written as PNG, the colour matching keeps the clustering, config text
is drawn as plain text, and a compared method that never succeeded is named in the figures."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.text import Text

from simstudy import catalog, figure_data, figure_rules, plots, plots_examples, plots_pairs
from simstudy.config import check_config
from simstudy.example import read_example
from simstudy.plan import StudyPlan
from simstudy.schema import load_schema
from simstudy.summary import read_trials

from conftest import (
    DEFAULT_FIGURES,
    ONE_WORKER,
    REPO,
    TINY_CONFIG,
    finished_config,
    png_pixels,
    run_once,
    snakemake,
)

HELPERS_ENV = {"PYTHONPATH": str(REPO / "tests")}  # jobs import tests/always_fails.py


def drawn_texts(figure) -> list[str]:
    """Every visible text of ``figure`` as matplotlib draws it.

    Drawing lays out every text, so it fails on text that matplotlib cannot render. A text
    drawn as mathtext fails the test: the study's figures draw no formulas, so mathtext
    can only come from config text read as TeX.
    """
    figure.canvas.draw()
    drawn = []
    for artist in figure.findobj(Text):
        if artist.get_visible() and artist.get_text():
            shown, math = artist._preprocess_math(artist.get_text())
            assert math is False, f"{artist.get_text()!r} is drawn as {math} text"
            drawn.append(shown)
    return drawn


def drawn_figures(monkeypatch, config: dict, workdir, rule: str = "plot_figures") -> dict:
    """Draw the figures of ``rule`` for the finished study in ``workdir``, as the rule does.

    Returns figure name -> the matplotlib ``Figure`` that would have been written there.
    """
    monkeypatch.syspath_prepend(str(REPO / "tests"))
    plan = StudyPlan(check_config(config, load_schema()))
    drawn = {}
    monkeypatch.setattr(plots, "save", lambda figure, path: drawn.setdefault(path, figure))
    results = workdir / "results"
    tables = {
        "example": "example/trial.json",
        "trials": "trials.csv",
        "summary": "summary.csv",
        "timing_summary": "timing_summary.csv",
    }
    figure_rules.draw_figures(
        plan,
        rule,
        inputs={name: results / path for name, path in tables.items()},
        outputs={figure.name: figure.name for figure in catalog.figures(plan, rule)},
    )
    return drawn


def test_match_labels_renames_clusters_to_their_true_partners():
    truth = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([5, 5, 3, 3, 3, 9])
    matched = plots_examples.match_labels(truth, predicted)
    assert matched.tolist() == [0, 0, 1, 1, 1, 2]
    # renaming only: points grouped together stay together
    for i in range(6):
        for j in range(6):
            assert (predicted[i] == predicted[j]) == (matched[i] == matched[j])


def test_extra_predicted_clusters_get_fresh_labels():
    matched = plots_examples.match_labels(np.array([0, 0, 1, 1]), np.array([0, 1, 2, 3]))
    assert matched[[0, 2]].tolist() == [0, 1]  # each true cluster keeps one partner
    extra = set(matched[[1, 3]].tolist())
    assert len(extra) == 2 and extra.isdisjoint({0, 1})  # the others get unused labels


def test_figures_are_written_as_png(tmp_path):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(30, 2)), rng.randint(0, 3, size=30)
    plots.save(
        plots_examples.example_data_figure(X, y, scenario="s", trial=0, dpi=60), tmp_path / "a.png"
    )
    plots.save(
        plots_examples.example_clusterings_figure(
            X, y, {"A": y, "B": y[::-1]}, {"A": 1.0, "B": 0.1}, scenario="s", trial=0, dpi=60
        ),
        tmp_path / "b.png",
    )
    plots.save(
        plots_pairs.difference_figure(
            {"s": rng.normal(size=20), "t": np.zeros(20)},
            {"s": (0.1, -0.2, 0.4), "t": (0.0, float("nan"), float("nan"))},
            first="A",
            second="B",
            dpi=60,
        ),
        tmp_path / "c.png",
    )
    # savefig keeps the figure's size: inches times dpi (60)
    assert png_pixels(tmp_path / "a.png").shape[:2] == (6 * 60, 6 * 60)
    assert png_pixels(tmp_path / "b.png").shape[:2] == (5.5 * 60, 2 * 5.5 * 60)
    assert png_pixels(tmp_path / "c.png").shape[:2] == ((2 * 3.2 + 0.8) * 60, 6.5 * 60)  # 2 panels


def test_difference_of_failed_trials_is_left_out():
    import pandas as pd

    from simstudy.figure_data import paired_differences

    table = pd.DataFrame(
        {
            "scenario": ["s"] * 6,
            "trial": [0, 0, 1, 1, 2, 2],
            "method": ["a", "b"] * 3,
            "ari": [0.5, 0.25, float("nan"), 0.5, 1.0, 0.5],
            "status": ["ok", "ok", "error", "ok", "ok", "ok"],
        }
    )
    assert paired_differences(table, "a", "b", "ari")["s"].tolist() == [0.25, 0.5]


def test_figures_with_failed_methods_and_no_pairs_still_render(tmp_path):
    rng = np.random.RandomState(1)
    X, y = rng.normal(size=(30, 2)), rng.randint(0, 3, size=30)
    plots.save(
        plots_examples.example_clusterings_figure(
            X, y, {"A": y, "B": None}, {"A": 1.0, "B": None}, scenario="s", trial=0, dpi=60
        ),
        tmp_path / "a.png",
    )
    plots.save(
        plots_pairs.difference_figure(
            {"s": np.array([])}, {"s": (np.nan, np.nan, np.nan)}, first="A", second="B", dpi=60
        ),
        tmp_path / "b.png",
    )
    png_pixels(tmp_path / "a.png")
    png_pixels(tmp_path / "b.png")


LABELS = [r"$\foo$", "a $x$ b", r"\$5 & <b>", "$"]


@pytest.mark.parametrize("label", LABELS)
def test_config_text_is_drawn_as_plain_text_in_every_figure(label, tmp_path):
    rng = np.random.RandomState(2)
    X, y = rng.normal(size=(30, 2)), rng.randint(0, 3, size=30)
    names = {"first": f"{label} A", "second": f"{label} B"}
    drawn = {
        "example_data": plots_examples.example_data_figure(X, y, scenario=label, trial=0, dpi=40),
        "example_clusterings": plots_examples.example_clusterings_figure(
            X,
            y,
            {names["first"]: y, names["second"]: None},
            {names["first"]: 1.0},
            scenario=label,
            trial=0,
            dpi=40,
        ),
        "titled_clusterings": plots_examples.example_clusterings_figure(
            X, y, {"A": y}, {"A": 1.0}, scenario="s", trial=0, dpi=40, title=label
        ),
        "ari_difference": plots_pairs.difference_figure(
            {label: rng.normal(size=9), f"{label} 2": rng.normal(size=9)},
            {label: (0.1, -0.2, 0.4), f"{label} 2": (0.0, -0.1, 0.1)},
            **names,
            metric_label=label,
            dpi=40,
        ),
        "single_difference": plots_pairs.difference_figure(
            {label: rng.normal(size=9)}, {label: (0.1, -0.2, 0.4)}, **names, dpi=40
        ),
        "difference_by_scenario": plots_pairs.difference_by_scenario_figure(
            {label: {label: {"mean": 0.1, "ci_low": 0.0, "ci_high": 0.2, "p_holm": 0.01}}},
            **names,
            dpi=40,
        ),
        "paired_scatter": plots_pairs.paired_scatter_figure(
            {
                label: {
                    label: (rng.uniform(size=9), rng.uniform(size=9)),
                    "t": (np.r_[0.5], np.r_[0.4]),
                }
            },
            **names,
            dpi=40,
        ),
    }
    for name, figure in drawn.items():
        texts = drawn_texts(figure)
        assert any(label in text for text in texts), (name, texts)
        plots.save(figure, tmp_path / f"{name}.png")


def test_a_method_without_successful_trials_is_named_in_its_panels():
    no_success = {"s": ["B $1"], "t": ["A", "B $1"]}
    names = {"first": "A", "second": "B $1"}
    nan = (np.nan, np.nan, np.nan)
    difference = plots_pairs.difference_figure(
        {"s": np.array([]), "t": np.array([]), "u": np.array([0.1, 0.3])},
        {"s": nan, "t": nan, "u": (0.2, -1.0, 1.4)},
        **names,
        dpi=40,
        no_success=no_success,
    )
    empty = {"mean": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_holm": np.nan}
    forest = plots_pairs.difference_by_scenario_figure(
        {"ARI": {"s": empty, "t": empty}, "NMI": {"s": empty, "t": empty}},
        **names,
        dpi=40,
        no_success=no_success,
    )
    scatter = plots_pairs.paired_scatter_figure(
        {"ARI": {"s": (np.array([]), np.array([])), "t": (np.array([]), np.array([]))}},
        **names,
        dpi=40,
        no_success=no_success,
    )
    for figure, copies in ((difference, 1), (forest, 2), (scatter, 1)):
        texts = drawn_texts(figure)
        assert texts.count("B $1: no successful trial") == copies
        assert texts.count("A: no successful trial\nB $1: no successful trial") == copies
    assert forest.axes[0].get_xlim() == (-1.0, 1.0)  # no finite value: a default range


def test_a_scenario_where_the_methods_never_ran_together_says_so():
    figure = plots_pairs.difference_by_scenario_figure(
        {"ARI": {"s": {"mean": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_holm": np.nan}}},
        first="A",
        second="B",
        dpi=40,
    )
    assert "no trial where both methods ran" in drawn_texts(figure)


def test_methods_without_success_are_found_per_scenario():
    import pandas as pd

    table = pd.DataFrame(
        {
            "scenario": ["s", "s", "s", "s", "t", "t"],
            "trial": [0, 0, 1, 1, 0, 0],
            "method": ["a", "b"] * 3,
            "ari": [0.5, np.nan, 0.5, np.nan, np.nan, np.nan],
            "status": ["ok", "error", "ok", "error", "error", "error"],
        }
    )
    assert figure_data.methods_without_success(table, ["s", "t", "u"], ["a", "b"]) == {
        "s": ["b"],
        "t": ["a", "b"],
        "u": ["a", "b"],
    }
    differences = figure_data.paired_differences(table, "a", "b", "ari")
    assert list(differences) == ["s", "t"]
    assert differences["s"].size == 0 and differences["t"].size == 0


def never_succeeding_config() -> dict:
    """The tiny study, with GMM compared to a method that fails in every trial."""
    config = copy.deepcopy(TINY_CONFIG)
    config.update(n_trials=4, chunk_size=4, on_error="record", comparison=["gmm", "broken"])
    config["methods"]["broken"] = {"estimator": "always_fails.AlwaysFails", "label": "Broken"}
    return config


@pytest.fixture(scope="session")
def never_succeeding_run(tmp_path_factory):
    return run_once(
        tmp_path_factory,
        "never-succeeds",
        lambda workdir: snakemake(
            workdir, "--cores", "2", *ONE_WORKER, config=never_succeeding_config(), env=HELPERS_ENV
        ),
    )


@pytest.mark.e2e
def test_figures_name_a_compared_method_that_never_succeeded(never_succeeding_run, monkeypatch):
    for name in DEFAULT_FIGURES:
        assert (never_succeeding_run / f"results/figures/{name}.png").stat().st_size > 0
    drawn = drawn_figures(monkeypatch, never_succeeding_config(), never_succeeding_run)
    texts = {name: drawn_texts(figure) for name, figure in drawn.items()}
    for name in ("ari_difference", "difference_by_scenario", "paired_scatter"):
        assert "Broken: no successful trial" in texts[name], (name, texts[name])
        assert not any("GMM: no successful" in text for text in texts[name])
    assert "Broken\nfailed on this dataset" in texts["example_clusterings"]
    # what exists is still drawn: GMM's clustering of the example dataset
    assert any(text.startswith("GMM\nARI = ") for text in texts["example_clusterings"])


def _title(ax) -> str:
    """The title of ``ax``, wherever it stands (left, centre or right)."""
    return "".join(ax.get_title(loc=loc) for loc in ("left", "center", "right"))


def _points(ax) -> np.ndarray:
    """The points of every scatter in ``ax`` (seaborn and matplotlib draw them alike)."""
    offsets = [c.get_offsets() for c in ax.collections if isinstance(c, PathCollection)]
    return np.concatenate(offsets) if offsets else np.empty((0, 2))


@pytest.mark.e2e
def test_the_study_figures_show_its_data(finished_study, monkeypatch):
    """Each figure of the finished study draws what the results hold, panel by panel."""
    workdir = finished_study("spawn")  # scenarios aniso, round; 7 trials; GMM vs KMeans
    drawn = drawn_figures(monkeypatch, finished_config("spawn"), workdir)
    assert sorted(drawn) == sorted(DEFAULT_FIGURES)
    table = read_trials(workdir / "results/trials.csv")
    example = read_example(workdir / "results/example/trial.json")

    (ax,) = drawn["example_data"].axes[:1]
    assert np.allclose(_points(ax), example.X) and len(example.X) == 60
    assert "scenario 'aniso', trial 0" in _title(ax)

    panels = [ax for ax in drawn["example_clusterings"].axes if _title(ax)]
    assert [_title(ax).split("\n")[0] for ax in panels] == ["GMM", "KMeans"]
    for ax, method in zip(panels, ["gmm", "kmeans"], strict=True):
        assert np.allclose(_points(ax), example.X)
        assert _title(ax).endswith(f"ARI = {example.scores[method]['ari']:.3f}")

    wide = table.pivot(index=["scenario", "trial"], columns="method", values="ari")
    panels = [ax for ax in drawn["ari_difference"].axes if _title(ax)]
    assert [_title(ax).split(":")[0] for ax in panels] == ["aniso", "round"]
    for ax, scenario in zip(panels, ["aniso", "round"], strict=True):
        assert "n = 7 trials" in _title(ax)
        rug = [c for c in ax.collections if isinstance(c, LineCollection)][-1]
        drawn_differences = sorted(segment[0][0] for segment in rug.get_segments())
        expected = (wide.loc[scenario, "gmm"] - wide.loc[scenario, "kmeans"]).sort_values()
        assert np.allclose(drawn_differences, expected.to_numpy())

    (forest,) = [ax for ax in drawn["difference_by_scenario"].axes if _title(ax)]
    (intervals,) = [c for c in forest.collections if isinstance(c, LineCollection)]
    assert len(intervals.get_segments()) == 2  # one interval per scenario
    labels = {t.get_position()[1]: t.get_text() for t in forest.get_yticklabels()}
    summary = pd.read_csv(workdir / "results/summary.csv")
    differences = summary[summary["kind"] == "difference"].set_index("scenario")
    for (low, y), (high, _) in intervals.get_segments():
        row = differences.loc[labels[y]]
        assert np.isclose(low, row["ci_low"]) and np.isclose(high, row["ci_high"])
    assert sorted(labels.values()) == ["aniso", "round"]

    panels = [ax for ax in drawn["paired_scatter"].axes if _title(ax)]
    assert len(panels) == 2
    for ax, scenario in zip(panels, ["aniso", "round"], strict=True):
        points = _points(ax)  # x: KMeans, y: GMM, one point per trial
        assert np.allclose(points[:, 0], wide.loc[scenario, "kmeans"].to_numpy())
        assert np.allclose(points[:, 1], wide.loc[scenario, "gmm"].to_numpy())
        wins = int((wide.loc[scenario, "gmm"] > wide.loc[scenario, "kmeans"]).sum())
        assert _title(ax) == f"{scenario}: GMM higher in {wins} of 7"
