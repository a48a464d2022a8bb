"""Precision-driven stopping, through the real snakemake command.

Two scenarios start with 4 trials and get 4 more per round. Run A caps them at 12 with
a target no study reaches, so both stop on ``max_trials``. From A's half-widths a target
is chosen that one scenario reaches after round 1; then A resumes with that target and a
higher cap, and must end exactly where a fresh run B, with other chunks and cores, ends.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import math

import pytest

from simstudy.stopping import decide
from simstudy.summary import describe

from conftest import (
    ONE_WORKER,
    TINY_CONFIG,
    fresh_copy,
    planned_jobs,
    png_pixels,
    run_once,
    snakemake,
)

pytestmark = pytest.mark.e2e


def stopping_study(half_width: float, max_trials: int, chunk_size: int) -> dict:
    config = copy.deepcopy(TINY_CONFIG)
    config.update(n_trials=4, chunk_size=chunk_size)
    config["scenarios"]["round"] = {
        "params": {"n_samples": 60, "cluster_std": 1.5, "transformation": [[1, 0], [0, 1]]}
    }
    config["stopping"] = {"half_width": half_width, "batch": 4, "max_trials": max_trials}
    return config


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def chunk_hashes(workdir):
    root = workdir / "results/chunks"
    return {
        str(p.relative_to(root)): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(root.rglob("*.csv"))
    }


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    """Run A: a target no scenario reaches, so both stop at max_trials = 12."""
    return run_once(
        tmp_path_factory,
        "stopping-capped",
        lambda workdir: snakemake(
            workdir, "--cores", "2", *ONE_WORKER, config=stopping_study(1e-9, 12, 3)
        ),
    )


def target_from(rows) -> float:
    """A target that scenario 'aniso' first reaches at round 1 (A's rounds tell)."""
    widths = {int(r["round"]): float(r["half_width"]) for r in rows if r["scenario"] == "aniso"}
    assert widths[1] < widths[0], "the interval must narrow from round 0 to round 1"
    return widths[1] + 1e-12


def check_rounds(rows, config):
    """Each scenario's rounds follow the rule: batches, one stop, and the right reason."""
    stopping = config["stopping"]
    for scenario in config["scenarios"]:
        mine = [r for r in rows if r["scenario"] == scenario]
        assert [int(r["round"]) for r in mine] == list(range(len(mine)))
        for index, row in enumerate(mine):
            trials = min(config["n_trials"] + index * stopping["batch"], stopping["max_trials"])
            assert int(row["trials"]) == trials
            width = float(row["half_width"]) if row["half_width"] else math.inf
            last = index == len(mine) - 1
            assert row["stopped"] == ("yes" if last else "no")
            if not last:
                assert width > stopping["half_width"] and trials < stopping["max_trials"]
            elif width <= stopping["half_width"]:
                assert row["reason"] == "precision"
            else:
                assert (row["reason"], trials) == ("max_trials", stopping["max_trials"])


def test_a_capped_study_stops_every_scenario_at_max_trials(capped):
    config = stopping_study(1e-9, 12, 3)
    rows = read_rows(capped / "results/stopping.csv")
    check_rounds(rows, config)
    assert [(r["scenario"], r["reason"]) for r in rows if r["stopped"] == "yes"] == [
        ("aniso", "max_trials"),
        ("round", "max_trials"),
    ]
    trials = read_rows(capped / "results/trials.csv")
    assert {int(r["trial"]) for r in trials} == set(range(12))
    assert len((capped / "results/manifest.csv").read_text().splitlines()) == 1 + 12
    png_pixels(capped / "results/figures/stopping.png")
    # the half-widths are those of summary.csv's interval, round by round
    last = {r["scenario"]: r for r in rows if r["stopped"] == "yes"}
    for row in read_rows(capped / "results/summary.csv"):
        if row["kind"] == "difference":
            width = float(row["ci_high"]) - float(row["mean"])
            assert float(last[row["scenario"]]["half_width"]) == pytest.approx(width, rel=1e-12)


def test_a_stopped_study_reruns_nothing(capped, tmp_path):
    workdir = fresh_copy(capped, tmp_path)
    assert planned_jobs(workdir, config=stopping_study(1e-9, 12, 3)) == {}


def test_resuming_with_a_lower_target_and_higher_cap_matches_a_fresh_run(
    capped, tmp_path_factory, tmp_path
):
    target = target_from(read_rows(capped / "results/stopping.csv"))
    workdir = fresh_copy(capped, tmp_path)
    before = chunk_hashes(workdir)
    resumed = stopping_study(target, 20, 3)
    snakemake(workdir, "--cores", "2", *ONE_WORKER, config=resumed)
    after = chunk_hashes(workdir)
    assert {name: after[name] for name in before} == before, "finished chunks must stay"
    rows = read_rows(workdir / "results/stopping.csv")
    check_rounds(rows, resumed)
    stops = {r["scenario"]: r for r in rows if r["stopped"] == "yes"}
    assert (stops["aniso"]["round"], stops["aniso"]["reason"]) == ("1", "precision")
    assert planned_jobs(workdir, config=resumed) == {}

    # Run B makes only the tables compared: its figures and report would cost more than
    # its trials.
    compared = ("trials.csv", "stopping.csv", "summary.csv")
    fresh = run_once(
        tmp_path_factory,
        "stopping-fresh",
        lambda folder: snakemake(
            folder,
            *(f"results/{name}" for name in compared),
            "--cores",
            "1",
            config=stopping_study(target, 20, 5),
        ),
    )
    for name in compared:
        assert (workdir / "results" / name).read_bytes() == (fresh / "results" / name).read_bytes()


def test_decisions_look_at_the_width_only():
    stopping = {"half_width": 0.1, "batch": 10, "max_trials": 50}
    narrow = [0.50, 0.52, 0.48, 0.51, 0.49]
    assert decide(narrow, scenario="s", round_=0, trials=5, stopping=stopping)["reason"] == (
        "precision"
    )
    # the same spread around zero: the same decision, whatever the mean
    around_zero = [x - 0.5 for x in narrow]
    assert decide(around_zero, scenario="s", round_=0, trials=5, stopping=stopping)["stopped"]
    wide = [1.0, -1.0, 0.5, -0.5, 0.0]
    decision = decide(wide, scenario="s", round_=0, trials=5, stopping=stopping)
    assert (decision["stopped"], decision["next_trials"]) == (False, 15)
    assert decision["half_width"] == pytest.approx(
        describe(wide)["ci_high"] - describe(wide)["mean"], rel=1e-12
    )
    at_cap = decide(wide, scenario="s", round_=4, trials=50, stopping=stopping)
    assert (at_cap["reason"], at_cap["next_trials"]) == ("max_trials", None)
    too_few = decide([0.3], scenario="s", round_=0, trials=1, stopping=stopping)
    assert too_few["half_width"] is None and not too_few["stopped"]
