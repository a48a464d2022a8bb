"""Performance measures through snakemake: results/performance.csv, and what reruns it.

A user's estimation study (tests/userpkg/location.py) declares the estimand mu, whose
truth is each scenario's param; the measures are checked against the rows of
trials.csv, and changing the truth or alpha reruns no chunk.
"""

from __future__ import annotations

import copy
import csv
import math
from pathlib import Path

import pytest

from conftest import ONE_WORKER, REPO, fresh_copy, planned_jobs, run_once, snakemake

pytestmark = pytest.mark.e2e

ENV = {"PYTHONPATH": str(REPO / "tests")}

ESTIMATION = {
    "seed": 5,
    "n_trials": 30,
    "chunk_size": 30,
    "scenarios": {
        "zero": {"generator": "userpkg.location.normal_sample", "params": {"mu": 0.0}},
        "one": {"generator": "userpkg.location.normal_sample", "params": {"mu": 1.0}},
    },
    "methods": {
        "mean": {"function": "userpkg.location.mean"},
        "median": {"function": "userpkg.location.median"},
    },
    "comparison": ["mean", "median"],
    "estimands": {"mu": {"truth": {"param": "mu"}}},
}


def read(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def estimation_study(tmp_path_factory) -> Path:
    # The tables the tests read or plan on; the figures and report are not looked at.
    tables = ("results/trials.csv", "results/summary.csv", "results/performance.csv")

    def build(workdir):
        snakemake(workdir, *tables, "--cores", "2", *ONE_WORKER, config=ESTIMATION, env=ENV)

    return run_once(tmp_path_factory, "performance-estimation", build)


def test_performance_csv_holds_the_measures_of_the_trials(estimation_study):
    results = estimation_study / "results"
    table = read(results / "performance.csv")
    assert list(table[0]) == ["scenario", "method", "estimand", "measure", "value", "mcse", "n"]
    got = {(r["scenario"], r["method"], r["measure"]): r for r in table}
    trials = read(results / "trials.csv")
    for scenario, truth in (("zero", 0.0), ("one", 1.0)):
        rows = [r for r in trials if (r["scenario"], r["method"]) == (scenario, "mean")]
        estimates = [float(r["mu"]) for r in rows]
        n = len(estimates)
        bias = sum(estimates) / n - truth
        assert float(got[(scenario, "mean", "bias")]["value"]) == pytest.approx(bias, abs=1e-12)
        covered = sum(float(r["mu_lower"]) <= truth <= float(r["mu_upper"]) for r in rows) / n
        assert float(got[(scenario, "mean", "cover")]["value"]) == covered
        assert float(got[(scenario, "mean", "cover")]["mcse"]) == pytest.approx(
            math.sqrt(covered * (1 - covered) / n)
        )
        assert got[(scenario, "mean", "n_missing")]["value"] == "0"
    # the median gives no SE or interval: bias, empse, mse and its precision only
    assert {m for (s, method, m) in got if (s, method) == ("zero", "median")} == {
        "bias",
        "empse",
        "mse",
        "relprec",
        "n_missing",
    }


def test_changing_the_truth_or_alpha_reruns_no_chunk(estimation_study, tmp_path):
    workdir = fresh_copy(estimation_study, tmp_path)
    for change in ({"truth": 0.5}, {"truth": {"param": "mu"}, "alpha": 0.1}):
        config = copy.deepcopy(ESTIMATION)
        config["estimands"]["mu"] = change
        planned = planned_jobs(workdir, config=config, env=ENV)
        assert "measure_performance" in planned
        assert not {job for job in planned if job in ("run_chunk", "merge_trials", "summarize")}


def test_a_study_without_estimands_makes_no_performance_table(finished_study):
    assert not (finished_study("spawn") / "results" / "performance.csv").exists()


def test_a_study_stops_once_the_measures_monte_carlo_se_is_small_enough(tmp_path):
    config = copy.deepcopy(ESTIMATION)
    config["stopping"] = {"measure": "bias", "mcse": 0.03, "batch": 20, "max_trials": 150}
    snakemake(tmp_path, "results/trials.csv", "--cores", "2", *ONE_WORKER, config=config, env=ENV)
    decisions = read(tmp_path / "results" / "stopping.csv")
    trials = read(tmp_path / "results" / "trials.csv")
    for decision in decisions:
        kept = [
            r
            for r in trials
            if r["scenario"] == decision["scenario"] and int(r["trial"]) < int(decision["trials"])
        ]
        largest = 0.0
        for method in ("mean", "median"):  # bias's MCSE is SD / sqrt(n), by the paper
            estimates = [float(r["mu"]) for r in kept if r["method"] == method]
            n = len(estimates)
            average = sum(estimates) / n
            sd = math.sqrt(sum((e - average) ** 2 for e in estimates) / (n - 1))
            largest = max(largest, sd / math.sqrt(n))
        assert float(decision["mcse"]) == pytest.approx(largest, rel=1e-12)
        assert (decision["stopped"] == "yes") == (largest <= 0.03 or decision["trials"] == "150")
        assert decision["half_width"] == ""
    last = {d["scenario"]: int(d["trials"]) for d in decisions}
    assert {s: len({r["trial"] for r in trials if r["scenario"] == s}) for s in last} == last
    assert all(30 < n < 150 for n in last.values())
