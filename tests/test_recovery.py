"""Crashes, failing trials, replaying a trial, and the provenance record, end to end."""

from __future__ import annotations

import copy
import csv
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from simstudy.seeding import trial_seeds

from conftest import (
    ONE_WORKER,
    REPO,
    SNAKEMAKE,
    TINY_CONFIG,
    finished_config,
    fresh_copy,
    png_pixels,
    replay,
    snakemake,
    write_config,
)

pytestmark = pytest.mark.e2e


def slow_config() -> dict:
    """Chunks that take several seconds, so that a kill lands in the middle of one."""
    config = copy.deepcopy(TINY_CONFIG)
    config.update(n_trials=3, chunk_size=3)  # one chunk per method
    config["scenarios"]["aniso"]["params"]["n_samples"] = 1500
    config["methods"]["gmm"]["params"]["n_init"] = 12  # about a second a trial here
    return config


def chunk_files(workdir: Path, pattern: str) -> list[Path]:
    return sorted((workdir / "results").rglob(pattern))


def test_a_killed_run_leaves_no_partial_chunk_and_recovers_identically(tmp_path):
    config = slow_config()
    reference = tmp_path / "reference"
    reference.mkdir()
    snakemake(reference, "results/trials.csv", "--cores", "2", *ONE_WORKER, config=config)

    workdir = tmp_path / "killed"
    workdir.mkdir()
    command = [
        str(SNAKEMAKE),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--cores",
        "2",
        "--configfile",
        str(write_config(workdir / "study.yaml", config)),
    ]
    run = subprocess.Popen(
        command,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not chunk_files(workdir, ".*.csv.*.tmp"):  # a chunk is being written
            assert run.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no chunk job started within two minutes"
            time.sleep(0.05)
    finally:  # at once: under load a chunk may finish within half a second
        os.killpg(run.pid, signal.SIGKILL)  # snakemake, its jobs and their workers
        run.wait()

    in_progress = [p.name.split(".")[1] + ".csv" for p in chunk_files(workdir, ".*.csv.*.tmp")]
    assert in_progress, "the kill did not land in the middle of a chunk"
    finished = {p.name for p in chunk_files(workdir, "*.csv")}
    assert not finished & set(in_progress), "a half-written chunk survived under its real name"
    for path in chunk_files(workdir, "*-*.csv"):  # whatever finished is complete
        assert len(path.read_text().splitlines()) == 1 + 3

    # Recovery, as docs/failures.md documents it: remove the stale lock, then the normal run.
    snakemake(workdir, "--unlock", config=config)
    snakemake(workdir, "results/trials.csv", "--cores", "2", config=config)
    assert (workdir / "results/trials.csv").read_bytes() == (
        reference / "results/trials.csv"
    ).read_bytes()
    assert chunk_files(workdir, "*.tmp") == [], "stale temporary files were not cleared"


# Jobs find tests/flaky.py through PYTHONPATH. FlakyKMeans fails on trials 0, 2 and 4 of
# the tiny study (their first point lies left of the origin) and runs on 1, 3, 5 and 6.
FLAKY_ENV = {"PYTHONPATH": str(REPO / "tests")}
FLAKY_FAILS = {"0", "2", "4"}


def flaky_config(on_error: str) -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    config["on_error"] = on_error
    config["methods"]["flaky"] = {"estimator": "flaky.FlakyKMeans", "params": {"n_clusters": 3}}
    config["comparison"] = ["gmm", "flaky"]
    return config


def test_a_failing_trial_stops_its_job_and_says_how_to_replay_it(tmp_path):
    result = snakemake(
        tmp_path, "--cores", "1", config=flaky_config("raise"), check=False, env=FLAKY_ENV
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    # Whichever failing chunk Snakemake started first reports its first failing trial.
    failure = re.search(
        r"trial failed: scenario=aniso trial=(\d+) method=flaky seed=(\d+)", output
    )
    assert failure, output[-3000:]
    trial, seed = int(failure[1]), int(failure[2])
    assert str(trial) in FLAKY_FAILS
    assert seed == trial_seeds(TINY_CONFIG["seed"], "spawn", trial, trial + 1)[0]
    assert "lies left of the origin" in output
    assert (
        f"Replay it with: simstudy replay --scenario aniso --trial {trial} --method flaky"
        in output
    )
    flaky_chunks = tmp_path / "results/chunks/aniso/flaky"
    assert not (flaky_chunks / "0-3.csv").exists()  # chunks with a failing trial: no file
    assert not (flaky_chunks / "3-6.csv").exists()


def test_record_mode_keeps_failures_as_rows_counted_by_the_summary(tmp_path):
    snakemake(tmp_path, "--cores", "2", *ONE_WORKER, config=flaky_config("record"), env=FLAKY_ENV)
    with open(tmp_path / "results/trials.csv", newline="") as handle:
        trials = list(csv.DictReader(handle))
    flaky = {row["trial"]: row for row in trials if row["method"] == "flaky"}
    assert {t for t, row in flaky.items() if row["status"] == "error"} == FLAKY_FAILS
    for trial in FLAKY_FAILS:
        assert flaky[trial]["ari"] == ""
        assert "ValueError: first point" in flaky[trial]["error"]
    assert {row["status"] for row in trials if row["method"] != "flaky"} == {"ok"}
    with open(tmp_path / "results/summary.csv", newline="") as handle:
        summary = {(row["kind"], row["method"]): row for row in csv.DictReader(handle)}
    assert (summary[("method", "flaky")]["n"], summary[("method", "flaky")]["n_failed"]) == (
        "4",
        "3",
    )
    assert summary[("method", "gmm")]["n_failed"] == "0"
    scores = [float(flaky[t]["ari"]) for t in set(flaky) - FLAKY_FAILS]
    assert float(summary[("method", "flaky")]["mean"]) == pytest.approx(sum(scores) / 4)
    difference = summary[("difference", "gmm - flaky")]
    assert (difference["n"], difference["n_failed"]) == ("4", "3")
    wins = sum(int(difference[k]) for k in ("wins", "ties", "losses"))
    assert wins == 4, "the paired statistics must leave the failed trials out"
    for name in ("example_data.png", "example_clusterings.png", "ari_difference.png"):
        assert (tmp_path / "results/figures" / name).stat().st_size > 0

    # Replaying a recorded failure says so plainly, with its own exit status.
    result = replay(
        tmp_path, "--scenario", "aniso", "--trial", "2", "--method", "flaky", env=FLAKY_ENV
    )
    assert result.returncode == 3, result.stdout + result.stderr
    assert "the trial failed, as recorded" in result.stdout
    assert "lies left of the origin" in result.stdout


@pytest.mark.parametrize("seeding", ["spawn", "legacy"])
def test_replay_reproduces_a_trials_row_and_can_draw_it(finished_study, tmp_path, seeding):
    results = finished_study(seeding) / "results"
    with open(results / "trials.csv", newline="") as handle:
        row = next(
            r for r in csv.DictReader(handle) if r["trial"] == "5" and r["method"] == "kmeans"
        )
    result = replay(
        tmp_path,
        *("--scenario", "aniso", "--trial", "5", "--method", "kmeans"),
        *("--results", str(results), "--plot", "trial5.png"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"ARI = {row['ari']}\n" in result.stdout
    assert f"seed {row['seed']}\n" in result.stdout
    assert f"matches {results}/trials.csv: yes" in result.stdout
    # the true clusters and kmeans's, side by side: two 5.5-inch panels at 150 dpi
    assert png_pixels(tmp_path / "trial5.png").shape[:2] == (825, 1650)


def test_replay_reports_a_changed_result(finished_study, tmp_path):
    workdir = fresh_copy(finished_study("spawn"), tmp_path)
    trials = workdir / "results/trials.csv"
    lines = trials.read_text().splitlines()
    cells = lines[1].split(",")
    cells[3] = "0.123"
    lines[1] = ",".join(cells)
    trials.write_text("\n".join(lines) + "\n")
    result = replay(workdir, "--scenario", cells[0], "--trial", cells[1], "--method", cells[2])
    assert result.returncode == 1
    assert "matches results/trials.csv: NO" in result.stdout


def test_replay_names_a_bad_request(finished_study, tmp_path):
    results = str(finished_study("spawn") / "results")
    result = replay(
        tmp_path, "--scenario", "aniso", "--trial", "99", "--method", "gmm", "--results", results
    )
    assert result.returncode == 2
    assert "trial 99 is not in the manifest" in result.stderr
    result = replay(
        tmp_path, "--scenario", "aniso", "--trial", "0", "--method", "dbscan", "--results", results
    )
    assert result.returncode == 2
    assert "method 'dbscan' is not in the study" in result.stderr


def test_provenance_ties_rows_to_versions_config_seeding_threads_and_commit(finished_study):
    workdir = finished_study("spawn")
    config = finished_config("spawn")
    record = json.loads((workdir / "results/provenance.json").read_text())
    for package in ("python", "numpy", "scikit-learn", "joblib", "pandas"):
        assert record["versions"][package]
    assert len(record["config_sha256"]) == 64
    assert (record["seeding"], record["seed"]) == ("spawn", config["seed"])
    assert record["threads"]["inner_threads_per_worker"] == 1
    assert record["threads"]["n_jobs_per_chunk"] == [1]  # --set-threads run_chunk=1
    assert "OMP_NUM_THREADS" in record["chunks"][0]["job"]["thread_settings"]
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
    if commit.returncode == 0:
        assert record["git_commit"].startswith(commit.stdout.strip())
    else:
        assert record["git_commit"] is None
    with open(workdir / "results/trials.csv", newline="") as handle:
        digests = {row["spec"] for row in csv.DictReader(handle)}
    assert digests == set(record["specs"])
    for spec in record["specs"].values():
        assert spec["seed"] == config["seed"] and spec["code"]
