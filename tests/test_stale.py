"""Nothing stale after any run, and a dry run that says what it cannot know.

Each test copies the shared finished study, as a user's folder holding an earlier run,
changes the study the way a user would, and runs the real ``snakemake`` command.
"""

from __future__ import annotations

import copy
import shutil

import pytest

from conftest import ONE_WORKER, REPO, finished_config, fresh_copy, snakemake

pytestmark = pytest.mark.e2e

#: Every table, figure and page the shared finished study makes from its trials.
FROM_TRIALS = [
    "results/trials.csv",
    "results/summary.csv",
    "results/provenance.json",
    "results/figures/ari_difference.png",
    "results/figures/difference_by_scenario.png",
    "results/figures/paired_scatter.png",
    "results/report/summary.html",
    "results/report.html",
]


def test_a_failed_run_leaves_nothing_the_new_study_would_rebuild(finished_study, tmp_path):
    workdir = fresh_copy(finished_study("spawn"), tmp_path)
    (workdir / "results/report.html").write_text("<html>the report `make report` built</html>")
    assert all((workdir / path).exists() for path in FROM_TRIALS)
    changed = copy.deepcopy(finished_config("spawn"))
    # Refuses datasets whose first point lies left of the origin: some chunks fail.
    changed["methods"]["kmeans"]["estimator"] = "flaky.FlakyKMeans"
    env = {"PYTHONPATH": str(REPO / "tests")}
    result = snakemake(workdir, "--cores", "2", *ONE_WORKER, config=changed, env=env, check=False)
    assert result.returncode != 0
    assert "first point" in result.stdout + result.stderr
    left = [path for path in FROM_TRIALS if (workdir / path).exists()]
    assert left == [], f"the previous study's products pose as current: {left}"
    # What the new study shares with the old one stays: the manifest, gmm's chunks.
    assert (workdir / "results/manifest.csv").exists()
    assert list((workdir / "results/chunks/aniso/gmm").glob("*.csv"))


def test_a_run_that_exits_0_leaves_only_what_the_study_makes(finished_study, tmp_path):
    workdir = fresh_copy(finished_study("spawn"), tmp_path)
    config = finished_config("spawn")
    original = (workdir / "results/trials.csv").read_bytes()
    stopping = {"metric": "ari", "half_width": 10.0, "batch": 2, "max_trials": 9}
    snakemake(workdir, "--cores", "2", *ONE_WORKER, config={**config, "stopping": stopping})
    made = ["results/stopping.csv", "results/figures/stopping.png"]
    assert all((workdir / path).exists() for path in made)

    snakemake(workdir, "--cores", "2", *ONE_WORKER, config=config)  # stopping dropped
    assert [path for path in made if (workdir / path).exists()] == []
    assert (workdir / "results/trials.csv").read_bytes() == original
    # A run with nothing to do cleans up too; a dry run never removes anything.
    stray = workdir / "results/figures/an_old_figure.png"
    shutil.copy2(workdir / "results/figures/ari_difference.png", stray)
    snakemake(workdir, "--dry-run", config=config)
    assert stray.exists()
    result = snakemake(workdir, "--cores", "2", config=config)
    assert "Nothing to be done" in result.stdout + result.stderr
    assert not stray.exists()
    assert all((workdir / path).exists() for path in FROM_TRIALS[:-1])


def test_a_dry_run_without_snakemake_records_says_what_it_cannot_see(finished_study, tmp_path):
    workdir = fresh_copy(finished_study("spawn"), tmp_path)
    config = finished_config("spawn")
    shutil.rmtree(workdir / ".snakemake")
    quiet = snakemake(workdir, "--dry-run", config=config)
    assert "Settings changed" not in quiet.stdout + quiet.stderr

    changed = copy.deepcopy(config)
    changed["methods"]["kmeans"]["params"]["n_init"] = 3
    dry = snakemake(workdir, "--dry-run", config=changed)
    lines = [line for line in (dry.stdout + dry.stderr).splitlines() if "Settings changed" in line]
    assert len(lines) == 1, dry.stdout + dry.stderr
    assert "run_chunk/aniso/kmeans" in lines[0] and "run_chunk/round/kmeans" in lines[0]
    assert "gmm" not in lines[0]
    # The dry run changed nothing: the real run still sees and reruns kmeans' chunks.
    chunks = sorted((workdir / "results/chunks").rglob("*.csv"))
    before = {path: path.stat().st_mtime_ns for path in chunks}
    # It asks for the trials, which need every chunk: the chunks are what is compared.
    snakemake(workdir, "results/trials.csv", "--cores", "2", *ONE_WORKER, config=changed)
    rerun = [str(p.relative_to(workdir)) for p in chunks if p.stat().st_mtime_ns != before[p]]
    assert sorted(rerun) == [
        f"results/chunks/{scenario}/kmeans/{slot}.csv"
        for scenario in ("aniso", "round")
        for slot in ("0-4", "4-7")
    ]
