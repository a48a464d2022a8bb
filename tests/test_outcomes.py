"""Warnings and compute time as outcomes, through the real snakemake command.

A method that warns on some seeds (``flaky.WarnyKMeans``) must have its warnings
counted in ``trials.csv``, ``summary.csv`` and the report, byte-stably; every fit's
wall and CPU seconds must reach ``timings.csv`` and ``timing_summary.csv`` without
touching ``trials.csv``.
"""

from __future__ import annotations

import csv
import statistics

import pytest

from simstudy import components, seeding
from simstudy.config import check_config
from simstudy.figure_data import warnings_note
from simstudy.plan import StudyPlan
from simstudy.tables import TIMING_COLUMNS

from conftest import (
    ONE_WORKER,
    REPO,
    TINY_CONFIG,
    fresh_copy,
    planned_jobs,
    png_pixels,
    replay,
    run_once,
    snakemake,
)

pytestmark = pytest.mark.e2e

HELPERS = {"PYTHONPATH": str(REPO / "tests")}  # where flaky.WarnyKMeans lives


def warning_study(tiny_config: dict, chunk_size: int) -> dict:
    config = {**tiny_config, "n_trials": 12, "chunk_size": chunk_size}
    config["methods"] = {
        "warny": {"estimator": "flaky.WarnyKMeans", "params": {"n_clusters": 3, "n_init": 1}},
        "kmeans": {
            "estimator": "sklearn.cluster.KMeans",
            "params": {"n_clusters": 3, "n_init": 1},
        },
    }
    config["comparison"] = ["warny", "kmeans"]
    return config


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The warning study run twice: chunks of 5 on one core, everything; chunks of 6 on
    two cores, each job a fresh Python, to trials.csv."""

    def build(chunk_size, cores, *args, env=()):
        def run(workdir):
            config = warning_study(TINY_CONFIG, chunk_size)
            snakemake(workdir, "--cores", cores, *args, config=config, env=HELPERS | dict(env))

        return run

    return (
        run_once(tmp_path_factory, "warnings-a", build(5, "1")),
        # without the warm process: every chunk job a fresh Python, as on a cluster
        run_once(
            tmp_path_factory,
            "warnings-b",
            build(6, "2", "results/trials.csv", *ONE_WORKER, env={"SIMSTUDY_WARM_JOBS": "0"}),
        ),
    )


def left_of_origin(config: dict, trials: int) -> set[int]:
    """The trials whose dataset's first point lies left of the origin: where warny warns."""
    scenario = config["scenarios"]["aniso"]
    seeds = seeding.trial_seeds(config["seed"], "spawn", 0, trials)
    return {
        trial
        for trial, seed in enumerate(seeds)
        if components.generate(
            "simstudy.data.anisotropic_blobs", scenario["params"], seeding.data_stream(seed)
        )[0][0, 0]
        < 0
    }


def test_warnings_are_counted_per_trial_and_byte_stable(runs, tiny_config):
    first, second = runs
    trials = (first / "results/trials.csv").read_bytes()
    assert trials == (second / "results/trials.csv").read_bytes()
    rows = read_rows(first / "results/trials.csv")
    expected = left_of_origin(warning_study(tiny_config, 5), 12)
    assert 0 < len(expected) < 12, "the study must have trials with and without warnings"
    warned = {int(r["trial"]) for r in rows if r["method"] == "warny" and r["n_warnings"] != "0"}
    assert warned == expected
    for row in rows:
        if row["method"] == "warny" and int(row["trial"]) in expected:
            assert row["n_warnings"] == "2"
            assert row["warning"].startswith("ConvergenceWarning: first point -")
            assert row["warning"].endswith(" lies left of the origin")  # one line
        else:
            assert (row["n_warnings"], row["warning"]) == ("0", "")


def test_a_replay_shows_the_warnings_of_its_trial(runs, tiny_config):
    warned = min(left_of_origin(warning_study(tiny_config, 5), 12))
    result = replay(
        runs[0], "--scenario", "aniso", "--trial", str(warned), "--method", "warny", env=HELPERS
    )
    assert result.returncode == 0, result.stderr
    assert "warnings: 2, the first: ConvergenceWarning: first point -" in result.stdout
    assert "matches results/trials.csv: yes" in result.stdout


def test_summary_report_and_figures_count_the_trials_that_warned(runs, tiny_config):
    workdir = runs[0]
    summary = read_rows(workdir / "results/summary.csv")
    counts = {(r["kind"], r["method"]): r["n_warned"] for r in summary}
    expected = len(left_of_origin(warning_study(tiny_config, 5), 12))
    assert counts == {
        ("method", "warny"): str(expected),
        ("method", "kmeans"): "0",
        ("difference", "warny - kmeans"): str(expected),
    }
    assert "n_warned" in (workdir / "results/report/summary.html").read_text()
    plan = StudyPlan(check_config(warning_study(tiny_config, 5)))
    note = warnings_note(plan, workdir / "results/summary.csv")
    assert note == f"Trials with warnings: warny {expected} of 12, kmeans 0 of 12"


def test_fit_times_are_kept_apart_and_summarised(runs):
    workdir = runs[0]
    trials = read_rows(workdir / "results/trials.csv")
    timings = read_rows(workdir / "results/timings.csv")
    assert list(timings[0]) == list(TIMING_COLUMNS)
    key = ("scenario", "trial", "method")
    assert [tuple(r[k] for k in key) for r in timings] == [
        tuple(r[k] for k in key) for r in trials
    ]
    for row in timings:
        assert float(row["wall_seconds"]) > 0 and float(row["cpu_seconds"]) >= 0
    summary = {r["method"]: r for r in read_rows(workdir / "results/timing_summary.csv")}
    assert set(summary) == {"warny", "kmeans"}
    for method, row in summary.items():
        walls = [float(r["wall_seconds"]) for r in timings if r["method"] == method]
        assert int(row["n"]) == len(walls) == 12
        assert float(row["wall_median"]) == pytest.approx(statistics.median(walls))
        assert float(row["wall_q25"]) <= float(row["wall_median"]) <= float(row["wall_q75"])
        assert float(row["wall_iqr"]) == pytest.approx(
            float(row["wall_q75"]) - float(row["wall_q25"])
        )
    png_pixels(workdir / "results/figures/score_vs_time.png")
    # trials.csv carries no timing: the two runs' fit times differ, their trials do not
    assert "wall_seconds" not in trials[0]


def test_a_finished_study_with_timings_reruns_nothing(runs, tmp_path):
    workdir = fresh_copy(runs[0], tmp_path)
    config = warning_study(TINY_CONFIG, 5)
    assert planned_jobs(workdir, config=config, env=HELPERS) == {}
