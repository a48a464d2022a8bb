"""Designed studies: the grid config, custom generators, design figures and the report."""

from __future__ import annotations

import base64
import copy
import csv
import re

import pytest
import yaml

from simstudy.config import check_config
from simstudy.schema import load_schema
from simstudy.study_files import ConfigError

from conftest import DEFAULT_FIGURES as FIGURE_NAMES
from conftest import ONE_WORKER, REPO, TINY_CONFIG, png_pixels, run_once, snakemake

SCHEMA = load_schema()
HELPERS_ENV = {"PYTHONPATH": str(REPO / "tests")}  # jobs import tests/flaky.py from here


def test_grid_config_crosses_spreads_and_sizes_with_three_methods_and_metrics():
    with open(REPO / "config/grid.yaml", encoding="utf-8") as handle:
        config = check_config(yaml.safe_load(handle), SCHEMA)
    params = [s["params"] for s in config["scenarios"].values()]
    assert {p["cluster_std"] for p in params} == {1.0, 1.5, 2.0, 2.5, 3.0}
    assert len({p["n_samples"] for p in params}) == 2
    assert len(params) == 10
    assert len(config["methods"]) >= 3
    assert config["metrics"] == ["ari", "ami", "nmi"]


@pytest.mark.parametrize(
    ("generator", "params", "fragments"),
    [
        ("flaky.no_such_function", {}, ["scenarios.moons.generator", "cannot be imported"]),
        ("flaky.FlakyKMeans", {}, ["scenarios.moons.generator", "not a data generator"]),
        ("flaky.two_moons", {"n_sample": 10}, ["scenarios.moons.params", "n_sample"]),
        ("flaky.two_moons", {"noise": "loud"}, ["scenarios.moons.params", "loud"]),
    ],
)
def test_a_custom_generator_gets_the_same_checks_as_estimators(
    monkeypatch, generator, params, fragments
):
    monkeypatch.syspath_prepend(str(REPO / "tests"))
    config = copy.deepcopy(TINY_CONFIG)
    config["scenarios"]["moons"] = {"generator": generator, "params": params}
    with pytest.raises(ConfigError) as caught:
        check_config(config, SCHEMA)
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_a_module_that_is_not_on_the_path_gets_a_hint_to_set_pythonpath():
    config = copy.deepcopy(TINY_CONFIG)
    config["scenarios"]["moons"] = {"generator": "mystudy_gen.two_moons", "params": {}}
    with pytest.raises(ConfigError) as caught:
        check_config(config, SCHEMA)
    message = str(caught.value)
    assert "scenarios.moons.generator" in message
    assert "No module named 'mystudy_gen'" in message
    assert "PYTHONPATH" in message
    # A module that exists but fails to import something of its own gets no such hint.
    config["scenarios"]["moons"]["generator"] = "sklearn.no_such_module.f"
    with pytest.raises(ConfigError) as caught:
        check_config(config, SCHEMA)
    assert "PYTHONPATH" not in str(caught.value)


def design_config() -> dict:
    """A small design: three scenarios (one from a custom generator), three methods."""
    config = copy.deepcopy(TINY_CONFIG)
    config["n_trials"] = 6
    config["scenarios"] = {
        "tight": {"label": "tight blobs", "params": {"n_samples": 60, "cluster_std": 1.0}},
        "loose": {"label": "loose blobs", "params": {"n_samples": 60, "cluster_std": 3.0}},
        "moons": {"generator": "flaky.two_moons", "params": {"n_samples": 60}},
    }
    config["methods"]["ward"] = {
        "estimator": "sklearn.cluster.AgglomerativeClustering",
        "params": {"n_clusters": 2},
    }
    config["metrics"] = ["ari", "ami", "nmi"]
    return config


@pytest.fixture(scope="session")
def design_run(tmp_path_factory):
    def build(workdir):
        snakemake(workdir, "--cores", "2", *ONE_WORKER, config=design_config(), env=HELPERS_ENV)
        snakemake(
            workdir, "--report", "results/report.html", config=design_config(), env=HELPERS_ENV
        )

    return run_once(tmp_path_factory, "design", build)


@pytest.mark.e2e
def test_summary_is_tidy_over_every_scenario_metric_and_method(design_run):
    with open(design_run / "results/summary.csv", newline="") as handle:
        summary = list(csv.DictReader(handle))
    methods = {(r["scenario"], r["metric"], r["method"]) for r in summary if r["kind"] == "method"}
    assert methods == {
        (s, m, k)
        for s in ("tight", "loose", "moons")
        for m in ("ari", "ami", "nmi")
        for k in ("gmm", "kmeans", "ward")
    }
    differences = [r for r in summary if r["kind"] == "difference"]
    assert {(r["scenario"], r["metric"]) for r in differences} == {
        (s, m) for s in ("tight", "loose", "moons") for m in ("ari", "ami", "nmi")
    }
    for row in summary:
        assert row["ci_level"] == "0.95"
    for metric in ("ari", "ami", "nmi"):
        rows = [r for r in differences if r["metric"] == metric and r["p_wilcoxon"]]
        raw = sorted(float(r["p_wilcoxon"]) for r in rows)
        adjusted = sorted(float(r["p_holm"]) for r in rows)
        # Holm: the smallest p is multiplied by the number of tests, none goes down
        assert adjusted[0] == pytest.approx(min(1.0, len(raw) * raw[0]))
        assert all(a >= p for a, p in zip(adjusted, raw, strict=True))


# a clustering study scored by three metrics draws the difference histogram of each
FIGURE_FILES = {f"{name}.png" for name in FIGURE_NAMES} | {
    "score_vs_time.png",
    "ami_difference.png",
    "nmi_difference.png",
}


@pytest.mark.e2e
def test_design_figures_are_drawn(design_run):
    for name in FIGURE_FILES:
        png_pixels(design_run / "results/figures" / name)
    # one panel per metric (3), one row per scenario (3), at 150 dpi
    forest = png_pixels(design_run / "results/figures/difference_by_scenario.png")
    assert forest.shape[:2] == (round((2.4 + 0.42 * 3) * 150), round((2.2 + 3.8 * 3) * 150))


@pytest.mark.e2e
def test_report_is_self_contained_with_figures_captions_summary_and_config(design_run):
    html = (design_run / "results/report.html").read_text()
    assert not re.search(r"(src|href)=[\"']https?://", html), "the report must not load anything"
    for name in (*FIGURE_FILES, "summary.html", "config.html"):
        assert name in html, name
    for caption in (
        "Does gmm beat kmeans, trial by trial?",
        "Where does gmm win?",
        "The same comparison, trial by trial.",
        "One example dataset.",
        "Summary statistics",
        "The study configuration",
    ):
        assert caption in html, caption
    assert "Seeded simulation study" in html and "3 scenario(s)" in html
    embedded = set(re.findall(r"data:image/png;[^,]*filename=([^;,]+)[^,]*;base64,", html))
    assert embedded == FIGURE_FILES, "every figure must be embedded"
    pages = [
        base64.b64decode(data).decode()
        for data in re.findall(r"data:text/html;[^,]*base64,([A-Za-z0-9+/=]+)", html)
    ]
    summary = next(page for page in pages if "<title>Summary</title>" in page)
    assert "gmm - kmeans" in summary and "moons" in summary and "p_holm" in summary
    config = next(page for page in pages if "Study configuration" in page)
    assert "flaky.two_moons" in config and "n_trials: 6" in config
