"""End to end: the real snakemake command on tiny studies in temporary folders."""

from __future__ import annotations

import copy
import csv
import json
import time

import pytest

from simstudy.config import check_config
from simstudy.plan import StudyPlan
from simstudy.seeding import trial_seeds

from bad_configs import BAD_CONFIGS
from conftest import DEFAULT_FIGURES as FIGURE_NAMES
from conftest import REPO, finished_config, planned_jobs, png_pixels, snakemake

pytestmark = pytest.mark.e2e

FIGURES = [f"{name}.png" for name in FIGURE_NAMES]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_tiny_study_runs_through_to_the_figures(finished_study):
    workdir = finished_study("spawn")  # two scenarios x two methods x seven trials
    config = finished_config("spawn")
    results = workdir / "results"

    manifest = read_csv(results / "manifest.csv")
    assert [row["trial"] for row in manifest] == [str(i) for i in range(7)]
    seeds = trial_seeds(config["seed"], "spawn", 0, 7)
    assert [row["seed"] for row in manifest] == [str(seed) for seed in seeds]

    trials = read_csv(results / "trials.csv")
    assert list(trials[0]) == [
        "scenario",
        "trial",
        "method",
        "ari",
        "seed",
        "spec",
        "status",
        "error",
        "n_warnings",
        "warning",
    ]
    assert len(trials) == 2 * 7 * 2
    assert {row["status"] for row in trials} == {"ok"}
    seeds = {row["trial"]: row["seed"] for row in manifest}
    assert all(row["seed"] == seeds[row["trial"]] for row in trials)

    summary = read_csv(results / "summary.csv")
    kinds = [(row["kind"], row["scenario"], row["method"]) for row in summary]
    assert kinds == [
        ("method", "aniso", "gmm"),
        ("method", "aniso", "kmeans"),
        ("method", "round", "gmm"),
        ("method", "round", "kmeans"),
        ("difference", "aniso", "gmm - kmeans"),
        ("difference", "round", "gmm - kmeans"),
    ]
    for row in summary[:4]:  # each method's mean is the mean of its rows
        scores = [
            float(t["ari"])
            for t in trials
            if (t["scenario"], t["method"]) == (row["scenario"], row["method"])
        ]
        assert len(scores) == 7 and float(row["mean"]) == pytest.approx(sum(scores) / 7)
    for difference in summary[4:]:
        assert sum(int(difference[k]) for k in ("wins", "ties", "losses")) == 7
        assert (
            float(difference["ci_low"])
            <= float(difference["mean"])
            <= float(difference["ci_high"])
        )

    for name in FIGURES:  # what each one draws: tests/test_plots.py
        png_pixels(results / "figures" / name)
    assert png_pixels(results / "figures/example_data.png").shape[:2] == (900, 900)

    provenance = json.loads((results / "provenance.json").read_text())
    assert provenance["seeding"] == "spawn" and provenance["seed"] == config["seed"]
    assert set(provenance["specs"]) == {row["spec"] for row in trials}
    assert len(provenance["chunks"]) == 2 * 2 * 2
    for key in ("python", "numpy", "scikit-learn", "joblib", "pandas"):
        assert key in provenance["versions"]

    for log in ("seed_manifest", "merge_trials", "summarize", "plot_figures", "report_tables"):
        assert (results / "logs" / f"{log}.log").stat().st_size > 0
    rerun = planned_jobs(workdir, config=config)
    assert rerun == {}, "a finished study must be up to date"


def trials_bytes(workdir, config, *args) -> bytes:
    snakemake(workdir, "results/trials.csv", *args, config=config)
    return (workdir / "results" / "trials.csv").read_bytes()


@pytest.mark.parametrize("scheme", ["spawn", "legacy"])
def test_trials_csv_is_byte_identical_across_cores_and_chunk_sizes(
    finished_study, tmp_path, scheme
):
    # The finished study ran on 2 cores in chunks of 4, one worker per chunk job. Its
    # scenario "aniso" alone is the reference (a scenario's rows do not depend on the
    # others), which keeps these runs small.
    lines = (finished_study(scheme) / "results/trials.csv").read_bytes().splitlines(True)
    reference = b"".join(line for line in lines if not line.startswith(b"round,"))
    assert reference.count(b"\n") == 1 + 7 * 2
    config = finished_config(scheme)
    config["scenarios"].pop("round", None)
    runs = [("c1-k3", 1, 3), ("c2-all", 2, 7)] if scheme == "spawn" else [("c1-k3", 1, 3)]
    for label, cores, chunk_size in runs:
        workdir = tmp_path / label
        workdir.mkdir()
        data = trials_bytes(workdir, {**config, "chunk_size": chunk_size}, "--cores", str(cores))
        assert data == reference, f"{label} differs from the finished study"


# Every bad config of tests/bad_configs.py is refused by check_config, naming key and
# value (tests/test_config.py). End to end, one of each kind of check shows that the
# refusal comes before Snakemake plans a job: a schema error, a failed import, a method
# function's signature, what it returns on the sample trial, and a metric's path.
END_TO_END_BAD = [
    "misspelt_key",
    "estimator_does_not_import",
    "function_with_wrong_signature",
    "function_returning_a_list",
    "metric_path_does_not_import",
]

#: The bad configs' method functions are in tests/functions_for_tests.py.
HELPERS_ENV = {"PYTHONPATH": str(REPO / "tests")}


@pytest.mark.parametrize("name", END_TO_END_BAD)
def test_bad_config_stops_before_any_job_and_names_key_and_value(tmp_path, name):
    config, fragments = BAD_CONFIGS[name]
    result = snakemake(tmp_path, "--cores", "1", config=config, check=False, env=HELPERS_ENV)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for fragment in fragments:
        assert fragment in output, (fragment, output[-3000:])
    assert "Building DAG" not in output, "the error must come before any job is planned"
    assert not (tmp_path / "results").exists(), "nothing may be written under results/"


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ("seed=1.5", ["seed", "1.5"]),
        ("comparison=[gmm,spectral]", ["comparison", "spectral"]),
    ],
)
def test_bad_command_line_override_is_refused_the_same_way(
    tmp_path, tiny_config, override, fragments
):
    result = snakemake(
        tmp_path, "--cores", "1", "--config", override, config=tiny_config, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for fragment in fragments:
        assert fragment in output
    assert not (tmp_path / "results").exists()


def test_command_line_overrides_reach_the_study(tmp_path, tiny_config):
    chunk = "results/chunks/aniso/kmeans/3-4.csv"
    snakemake(
        tmp_path,
        chunk,
        "results/manifest.csv",
        "--cores",
        "1",
        "--config",
        "n_trials=4",
        "metrics=[ari,ami,nmi]",
        "methods={kmeans: {params: {n_init: 1}}}",
        config=tiny_config,
    )
    assert len(read_csv(tmp_path / "results/manifest.csv")) == 4  # n_trials arrived
    (row,) = read_csv(tmp_path / chunk)
    assert {"ari", "ami", "nmi"} <= set(row)
    # The chunk ran with the overridden params, merged into the study's own.
    overridden = copy.deepcopy(tiny_config)
    overridden.update(n_trials=4, metrics=["ari", "ami", "nmi"])
    overridden["methods"]["kmeans"]["params"]["n_init"] = 1
    assert row["spec"] == StudyPlan(check_config(overridden)).spec("aniso", "kmeans").digest
    assert row["spec"] != StudyPlan(check_config(tiny_config)).spec("aniso", "kmeans").digest


def test_a_run_ends_with_its_last_job_not_with_the_schedulers_timers(tmp_path, tiny_config):
    """Snakemake's job-rate limiter starts a timer at every round of scheduling, and
    Python waits for timers before it exits; the workflow cancels them once the run is
    over. With a one-minute timespan, a run that waited would take a minute."""
    started = time.monotonic()
    snakemake(
        tmp_path,
        "results/manifest.csv",
        "--cores",
        "1",
        "--max-jobs-per-timespan",
        "1000/60s",
        config=tiny_config,
        own_process=True,
    )
    assert time.monotonic() - started < 40
    assert (tmp_path / "results/manifest.csv").is_file()
