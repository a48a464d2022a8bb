"""Fit times: chunk timings files, gathered and summarised apart from trials.csv."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from simstudy.chunks import run_chunk
from simstudy.config import check_config
from simstudy.layout import TIMING_DIR, Chunk
from simstudy.plan import StudyPlan
from simstudy.stopping import write_decision, write_stopping_table
from simstudy.tables import TIMING_COLUMNS, kept_trials
from simstudy.timings import TimingError, collect_timings, summarize_timings

from conftest import TINY_CONFIG


def read(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def chunks(tmp_path_factory):
    """Two chunks of one scenario and method, with their rows and their timings."""
    root = tmp_path_factory.mktemp("timings")
    spec = StudyPlan(check_config(TINY_CONFIG)).spec("aniso", "kmeans")
    files = []
    for start, stop in ((0, 3), (3, 6)):
        chunk = Chunk("aniso", "kmeans", start, stop)
        timings = chunk.path(root / TIMING_DIR)
        run_chunk(spec, start, stop, chunk.path(root / "chunks"), timings=timings)
        files.append(timings)
    return root, files


def test_a_chunk_times_every_fit_beside_its_rows(chunks):
    root, files = chunks
    rows = read(Chunk("aniso", "kmeans", 0, 3).path(root / "chunks"))
    timings = read(files[0])
    assert list(timings[0]) == list(TIMING_COLUMNS)
    assert [(r["trial"], r["method"], r["status"]) for r in timings] == [
        (r["trial"], r["method"], r["status"]) for r in rows
    ]
    assert all(float(r["wall_seconds"]) > 0 for r in timings)
    assert "wall_seconds" not in rows[0]


def test_timings_are_gathered_in_order_and_cut_to_the_kept_trials(chunks, tmp_path):
    _, files = chunks
    output = tmp_path / "timings.csv"
    assert collect_timings(list(reversed(files)), output, n_trials={"aniso": 5}) == 5
    assert [int(r["trial"]) for r in read(output)] == [0, 1, 2, 3, 4]
    with pytest.raises(TimingError, match="'aniso' has timings but no number of trials"):
        collect_timings(files, tmp_path / "other.csv", n_trials={"round": 5})
    summary = summarize_timings(pd.read_csv(output, keep_default_na=False))
    (row,) = summary.to_dict("records")
    walls = sorted(float(r["wall_seconds"]) for r in read(output))
    assert (row["n"], row["wall_median"]) == (5, walls[2])
    assert row["wall_iqr"] == pytest.approx(row["wall_q75"] - row["wall_q25"])


def test_the_stopping_table_gives_each_scenarios_kept_trials(tmp_path):
    decisions = []
    for scenario, trials in (("a", [4, 7]), ("b", [4])):
        for round_, count in enumerate(trials):
            path = tmp_path / f"{scenario}-{round_}.json"
            last = round_ == len(trials) - 1
            write_decision(
                path,
                {
                    "scenario": scenario,
                    "round": round_,
                    "trials": count,
                    "n_paired": count,
                    "half_width": 0.5 / (round_ + 1),
                    "mcse": None,
                    "target": 0.3,
                    "stopped": last,
                    "reason": "precision" if last else "",
                    "next_trials": None if last else trials[round_ + 1],
                },
            )
            decisions.append(path)
    table = tmp_path / "stopping.csv"
    assert write_stopping_table(list(reversed(decisions)), table) == 3
    assert [r["scenario"] + r["round"] + r["stopped"] for r in read(table)] == [
        "a0no",
        "a1yes",
        "b0yes",
    ]
    assert kept_trials(40, table) == {"a": 7, "b": 4}
    assert kept_trials(40, None) == 40
