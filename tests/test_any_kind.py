"""Every guarantee holds for every kind of study, shown on a study of plain functions.

The study is a user's own module of a generator and test functions, in a folder of its
own on PYTHONPATH (tests/userpkg), run with the real snakemake command.
"""

from __future__ import annotations

import copy
import csv
import shutil
from pathlib import Path

import pytest

from conftest import ONE_WORKER, REPO, fresh_copy, replay, run_once, snakemake

pytestmark = pytest.mark.e2e

ENV = {"PYTHONPATH": str(REPO / "tests")}

#: A testing study: Welch's t-test against a permutation test that has its own stream.
TESTING = {
    "seed": 99,
    "n_trials": 8,
    "chunk_size": 3,
    "scenarios": {
        "null": {"generator": "userpkg.samples.two_samples", "params": {"shift": 0.0}},
        "shift": {"generator": "userpkg.samples.two_samples", "params": {"shift": 1.0}},
    },
    "methods": {
        "welch": {"function": "userpkg.welch.welch", "label": "Welch"},
        "perm": {
            "function": "userpkg.permutation.permutation",
            "params": {"n_permutations": 30},
            "label": "Permutation",
        },
    },
    "comparison": ["welch", "perm"],
}


def rows(workdir: Path) -> list[dict[str, str]]:
    with open(workdir / "results" / "trials.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def testing_study(tmp_path_factory) -> Path:
    def build(workdir):
        targets = ("results/summary.csv", "results/provenance.json")
        snakemake(workdir, *targets, "--cores", "2", *ONE_WORKER, config=TESTING, env=ENV)

    return run_once(tmp_path_factory, "any-kind-testing", build)


def test_a_study_of_functions_has_one_column_per_named_value(testing_study):
    got = rows(testing_study)
    assert list(got[0])[:5] == ["scenario", "trial", "method", "p", "reject"]
    assert len(got) == 2 * 8 * 2 and {r["status"] for r in got} == {"ok"}
    assert {r["reject"] for r in got} <= {"0.0", "1.0"}
    with open(testing_study / "results" / "summary.csv", newline="") as handle:
        summary = list(csv.DictReader(handle))
    rates = {
        (r["scenario"], r["method"]): float(r["mean"])
        for r in summary
        if r["kind"] == "method" and r["metric"] == "reject"
    }
    for (scenario, method), rate in rates.items():  # the mean of reject is its rate
        mine = [
            float(r["reject"]) for r in got if (r["scenario"], r["method"]) == (scenario, method)
        ]
        assert rate == pytest.approx(sum(mine) / len(mine))
    assert rates[("shift", "welch")] > rates[("null", "welch")]
    differences = [r for r in summary if r["kind"] == "difference"]
    assert {r["metric"] for r in differences} == {"p", "reject"}


def test_same_bytes_whatever_the_cores_and_chunk_size(testing_study, tmp_path):
    other = copy.deepcopy(TESTING)
    other["chunk_size"] = 8
    snakemake(tmp_path, "results/trials.csv", "--cores", "1", config=other, env=ENV)
    assert (tmp_path / "results/trials.csv").read_bytes() == (
        testing_study / "results/trials.csv"
    ).read_bytes()


def test_the_merge_refuses_a_hand_edited_value_of_a_function_method(testing_study, tmp_path):
    workdir = fresh_copy(testing_study, tmp_path)
    chunk = workdir / "results/chunks/shift/perm/3-6.csv"
    lines = chunk.read_text().splitlines()
    cells = lines[1].split(",")
    assert lines[0].split(",")[3] == "p"
    cells[3] = repr(float(cells[3]) / 2)
    lines[1] = ",".join(cells)
    chunk.write_text("\n".join(lines) + "\n")
    before = (workdir / "results/trials.csv").read_bytes()
    result = snakemake(
        workdir, "results/trials.csv", "--cores", "2", config=TESTING, env=ENV, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "SHA-256" in output and "results/chunks/shift/perm/3-6.csv" in output, output[-3000:]
    assert not (workdir / "results/trials.csv").exists() or (
        (workdir / "results/trials.csv").read_bytes() == before
    )


def users_checkout(tmp_path: Path, config: dict) -> tuple[Path, dict[str, str], Path]:
    """A copy of the user's package (tests/userpkg) on PYTHONPATH, and a study folder
    whose study has run to trials.csv: (package, environment, study folder)."""
    package = tmp_path / "code" / "userpkg"
    shutil.copytree(REPO / "tests" / "userpkg", package)
    env = {"PYTHONPATH": str(tmp_path / "code")}
    workdir = tmp_path / "study"
    workdir.mkdir()
    snakemake(workdir, "results/trials.csv", "--cores", "2", *ONE_WORKER, config=config, env=env)
    return package, env, workdir


def rerun_chunks(workdir: Path, config: dict, env: dict[str, str]) -> list[str]:
    """Run the study to trials.csv; the chunk files that this run wrote again."""
    chunks = sorted((workdir / "results/chunks").rglob("*.csv"))
    before = {path: path.stat().st_mtime_ns for path in chunks}
    snakemake(workdir, "results/trials.csv", "--cores", "2", *ONE_WORKER, config=config, env=env)
    return sorted(
        str(p.relative_to(workdir / "results/chunks"))
        for p in chunks
        if p.stat().st_mtime_ns != before[p]
    )


def test_editing_a_users_function_reruns_only_its_methods_chunks(tmp_path):
    package, env, workdir = users_checkout(tmp_path, TESTING)
    module = package / "permutation.py"
    module.write_text(module.read_text().replace("count + 1) / (", "count + 1.0) / ("))
    assert rerun_chunks(workdir, TESTING, env) == [
        f"{s}/perm/{slot}.csv" for s in ("null", "shift") for slot in ("0-3", "3-6", "6-8")
    ]


#: A regression study: an estimator scored by a built-in metric and a user's own, beside a
#: function method, which no metric concerns.
REGRESSION = {
    "seed": 5,
    "n_trials": 4,
    "chunk_size": 2,
    "scenarios": {
        "linear": {
            "generator": "sklearn.datasets.make_regression",
            "params": {"n_samples": 40, "n_features": 3, "noise": 1.0},
        }
    },
    "methods": {
        "ridge": {"estimator": "sklearn.linear_model.Ridge"},
        "average": {"function": "userpkg.regression.mean_response"},
    },
    "metrics": ["r2", "userpkg.scoring.within_one"],
    "comparison": ["ridge", "average"],
}


def test_editing_a_users_metric_or_test_size_reruns_the_chunks_it_scores(tmp_path):
    package, env, workdir = users_checkout(tmp_path, REGRESSION)
    first = {(r["trial"], r["method"]): r for r in rows(workdir)}
    assert {r["within_one"] for r in first.values() if r["method"] == "ridge"} != {""}
    ridge_chunks = ["linear/ridge/0-2.csv", "linear/ridge/2-4.csv"]

    metric = package / "scoring.py"
    metric.write_text(metric.read_text().replace("<= 1.0", "<= 0.0"))
    assert rerun_chunks(workdir, REGRESSION, env) == ridge_chunks
    second = {(r["trial"], r["method"]): r for r in rows(workdir)}
    assert all(second[k]["within_one"] == "0.0" for k in second if k[1] == "ridge")
    assert all(second[k] == first[k] for k in second if k[1] == "average")

    # The held-out share concerns the regressor only.
    assert rerun_chunks(workdir, {**REGRESSION, "test_size": 0.5}, env) == ridge_chunks


def test_a_function_drawing_from_the_global_generator_fails_naming_it(tmp_path):
    config = copy.deepcopy(TESTING)
    config["methods"]["perm"] = {"function": "userpkg.permutation.global_draw"}
    config["on_error"] = "record"
    snakemake(tmp_path, "results/trials.csv", "--cores", "2", *ONE_WORKER, config=config, env=ENV)
    failed = [r for r in rows(tmp_path) if r["method"] == "perm"]
    assert {r["status"] for r in failed} == {"error"}
    assert all("GlobalRandomStateError" in r["error"] and "'perm'" in r["error"] for r in failed)
    assert {r["status"] for r in rows(tmp_path) if r["method"] == "welch"} == {"ok"}


def test_replay_reruns_a_function_methods_trial(testing_study, tmp_path):
    workdir = tmp_path / "copy"
    shutil.copytree(testing_study, workdir)
    result = replay(workdir, "--scenario", "shift", "--trial", "5", "--method", "perm", env=ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    row = next(
        r
        for r in rows(workdir)
        if (r["scenario"], r["trial"], r["method"]) == ("shift", "5", "perm")
    )
    assert f"p = {row['p']}" in result.stdout
    assert "matches" in result.stdout.lower() or "same" in result.stdout.lower(), result.stdout


def test_a_precision_driven_study_stops_on_a_named_value(tmp_path):
    config = copy.deepcopy(TESTING)
    config["stopping"] = {"metric": "p", "half_width": 0.2, "batch": 4, "max_trials": 20}
    snakemake(tmp_path, "results/trials.csv", "--cores", "2", *ONE_WORKER, config=config, env=ENV)
    with open(tmp_path / "results" / "stopping.csv", newline="") as handle:
        decisions = list(csv.DictReader(handle))
    assert decisions and all(float(d["target"]) == 0.2 for d in decisions)
    last = {d["scenario"]: d for d in decisions}
    assert set(last) == {"null", "shift"}
    assert {d["stopped"] for d in last.values()} == {"yes"}
    for decision in last.values():  # stopped on precision, or at the cap
        assert float(decision["half_width"]) <= 0.2 or int(decision["trials"]) == 20
    assert len(rows(tmp_path)) == 2 * sum(int(d["trials"]) for d in last.values())


def test_warnings_and_fit_times_are_outcomes_of_functions_too(tmp_path):
    config = copy.deepcopy(TESTING)
    config["methods"] = {
        "cautious": {"function": "userpkg.noisy.cautious_welch"},
        "welch": {"function": "userpkg.welch.welch"},
    }
    config["comparison"] = ["cautious", "welch"]
    targets = ("results/trials.csv", "results/timings.csv")
    snakemake(tmp_path, *targets, "--cores", "2", *ONE_WORKER, config=config, env=ENV)
    from userpkg.samples import two_samples

    from simstudy import seeding

    for row in rows(tmp_path):
        if row["method"] != "cautious":
            assert row["n_warnings"] == "0"
            continue
        seed = int(row["seed"])
        shift = TESTING["scenarios"][row["scenario"]]["params"]["shift"]
        data = two_samples(seeding.stream_of_kind(seed, "data", "rng"), shift=shift)
        warned = data["x"][0] < 0
        assert row["n_warnings"] == ("1" if warned else "0")
        assert row["warning"] == ("UserWarning: first point below zero" if warned else "")
    with open(tmp_path / "results" / "timings.csv", newline="") as handle:
        timings = list(csv.DictReader(handle))
    assert len(timings) == len(rows(tmp_path))
    assert all(float(t["wall_seconds"]) >= 0 for t in timings)


def test_a_function_returning_a_column_name_is_refused_before_any_job(tmp_path):
    config = copy.deepcopy(TESTING)
    config["methods"]["perm"] = {"function": "functions_for_tests.seed_value"}
    result = snakemake(tmp_path, "--cores", "1", config=config, env=ENV, check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "methods.perm.function" in output and "'seed'" in output
    assert "Building DAG" not in output
    assert not (tmp_path / "results").exists()
