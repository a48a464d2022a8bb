"""The example trial file: written exactly, read back exactly, checked against trials.csv."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from simstudy import seeding
from simstudy.config import check_config
from simstudy.example import (
    Example,
    ReproducibilityError,
    check_against_rows,
    read_example,
    run_example,
    write_example,
)
from simstudy.hints import unrepeatable_hint
from simstudy.integrity import write_table
from simstudy.plan import StudyPlan
from simstudy.schema import load_schema
from simstudy.tables import trial_columns
from simstudy.trials import run_trial

from conftest import TINY_CONFIG

SCHEMA = load_schema()


@pytest.fixture(scope="module")
def example() -> Example:
    config = check_config(copy.deepcopy(TINY_CONFIG), SCHEMA)
    return run_example(StudyPlan(config).example_specs(), 2)


def test_the_example_runs_with_the_seed_its_chunk_job_gives_the_trial(example):
    (seed,) = seeding.trial_seeds(TINY_CONFIG["seed"], "spawn", 2, 3)
    assert example.seed == seed
    config = check_config(copy.deepcopy(TINY_CONFIG), SCHEMA)
    outcome = run_trial(StudyPlan(config).spec("aniso", "gmm+kmeans"), 2, seed)
    assert example.scores == outcome.scores
    assert np.array_equal(example.X, outcome.X)


def test_the_file_reads_back_exactly(tmp_path, example):
    write_example(tmp_path / "trial.json", example)
    again = read_example(tmp_path / "trial.json")
    assert again.scores == example.scores and again.seed == example.seed
    assert np.array_equal(again.X, example.X) and np.array_equal(again.y, example.y)
    assert all(np.array_equal(again.labels[m], example.labels[m]) for m in example.labels)
    assert (again.scenario, again.trial, again.methods) == ("aniso", 2, ["gmm", "kmeans"])


def test_a_corrupt_file_is_named(tmp_path):
    path = tmp_path / "trial.json"
    path.write_text('{"scenario": "aniso"}')
    with pytest.raises(ValueError, match=r"trial\.json is not an example trial record"):
        read_example(path)


def rows_for(example: Example, scores: dict[str, float]) -> list[dict]:
    return [
        {
            "scenario": example.scenario,
            "trial": example.trial,
            "method": method,
            "ari": score,
            "seed": example.seed,
            "spec": "x",
            "status": "ok",
            "error": "",
            "n_warnings": 0,
            "warning": "",
        }
        for method, score in scores.items()
    ]


def test_the_check_passes_on_the_recorded_scores_and_names_a_changed_one(tmp_path, example):
    trials = tmp_path / "trials.csv"
    recorded = {m: example.scores[m]["ari"] for m in ("gmm", "kmeans")}
    write_table(trials, trial_columns(["ari"]), rows_for(example, recorded))
    check_against_rows(example, trials, ["gmm", "kmeans"])

    changed = {**recorded, "kmeans": recorded["kmeans"] + 1e-12}
    write_table(trials, trial_columns(["ari"]), rows_for(example, changed))
    with pytest.raises(ReproducibilityError, match="method kmeans") as caught:
        check_against_rows(example, trials, ["gmm", "kmeans"])
    assert "values of method 'kmeans' differ between two runs of the same seed" in str(
        caught.value
    )
    assert str(caught.value).endswith(unrepeatable_hint())

    with pytest.raises(ReproducibilityError, match=r"trials\.csv holds no row for it"):
        check_against_rows(example, tmp_path / "missing.csv", ["gmm"])
