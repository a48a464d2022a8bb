"""Each example study under examples/ runs end to end, as the README shows it.

The commands are the README's, with fewer trials: a study file, and its user code on
PYTHONPATH. Each test checks that the study's answer has the shape its kind of study
expects (a test rejects more often under a shift, the median resists outliers, ...).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from conftest import REPO, snakemake

pytestmark = pytest.mark.e2e

EXAMPLES = REPO / "examples"


def run_example(name: str, workdir: Path, *overrides: str) -> Path:
    study = EXAMPLES / name / "study.yaml"
    env = {"PYTHONPATH": str(EXAMPLES / name)}
    snakemake(
        workdir,
        "--cores",
        "2",
        "--configfile",
        str(study),
        "--config",
        *overrides,
        env=env,
    )
    return workdir / "results"


def summary(results: Path) -> dict[tuple[str, str, str, str], float]:
    """(kind, scenario, value, method) -> mean."""
    with open(results / "summary.csv", newline="") as handle:
        return {
            (r["kind"], r["scenario"], r["metric"], r["method"]): float(r["mean"])
            for r in csv.DictReader(handle)
        }


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def figures(results: Path) -> set[str]:
    return {path.name for path in (results / "figures").glob("*.png")}


def test_the_testing_example(tmp_path):
    results = run_example("testing", tmp_path / "shared", "n_trials=40", "chunk_size=40")
    means = summary(results)
    for method in ("welch", "wmw"):
        assert means[("method", "normal_shift", "reject", method)] > 0.4  # power
        assert means[("method", "normal_null", "reject", method)] < 0.2  # about alpha
    assert "example_data.png" not in figures(results)  # no labelled points to draw
    assert figures(results)

    # The example runs both tests in the same chunk jobs (methods_per_chunk: all), each
    # trial's data drawn once; each in jobs of its own gives the same values, and rows
    # that differ only in the spec digest of the chunk that made them.
    assert sorted(p.name for p in (results / "chunks" / "normal_null").iterdir()) == ["welch+wmw"]
    apart = tmp_path / "apart"
    snakemake(
        apart,
        "results/trials.csv",
        "--cores",
        "2",
        "--configfile",
        str(EXAMPLES / "testing" / "study.yaml"),
        "--config",
        "n_trials=40",
        "chunk_size=40",
        "methods_per_chunk=one",
        env={"PYTHONPATH": str(EXAMPLES / "testing")},
    )
    assert sorted(p.name for p in (apart / "results/chunks/normal_null").iterdir()) == [
        "welch",
        "wmw",
    ]
    shared, separate = rows(results / "trials.csv"), rows(apart / "results/trials.csv")
    assert len(shared) == 4 * 40 * 2
    assert [{**r, "spec": ""} for r in shared] == [{**r, "spec": ""} for r in separate]
    assert {r["shift_se"] for r in shared if r["method"] == "wmw"} == {""}  # welch's own
    assert {r["spec"] for r in shared} != {r["spec"] for r in separate}


def test_the_prediction_example(tmp_path):
    results = run_example("prediction", tmp_path, "n_trials=6", "chunk_size=6")
    means = summary(results)
    for method in ("logistic", "forest", "knn"):
        assert 0.7 < means[("method", "easy", "accuracy", method)] <= 1.0
        assert (
            means[("method", "hard", "accuracy", method)]
            < means[("method", "easy", "accuracy", method)]
        )
        assert ("method", "easy", "balanced_accuracy_score", method) in means
    assert "example_data.png" not in figures(results)
    assert figures(results)


def test_the_estimation_example(tmp_path):
    results = run_example("estimation", tmp_path, "n_trials=20", "chunk_size=20")
    means = summary(results)
    # 10% of the points shifted by 8 pull the mean by about 0.8; the median far less.
    assert 0.4 < means[("method", "contaminated", "mu", "mean")] < 1.2
    assert abs(means[("method", "contaminated", "mu", "median")]) < 0.4
    assert abs(means[("method", "clean", "mu", "mean")]) < 0.4
    assert ("method", "contaminated", "mu_se", "bagged") in means
    assert ("method", "contaminated", "mu_se", "median") not in means  # the median gives no se
    (difference,) = [
        mean
        for (kind, scenario, value, _), mean in means.items()
        if (kind, scenario, value) == ("difference", "contaminated", "mu")
    ]
    assert difference > 0.3  # mean - median, paired by trial
    assert figures(results)
