"""Summary statistics, checked against direct computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from simstudy.summary import (
    SUMMARY_COLUMNS,
    describe,
    holm,
    read_trials,
    summarize,
    wilcoxon_p,
    write_summary,
)


def trials_table(scores: dict[str, dict[str, list[float]]], status=None) -> pd.DataFrame:
    """Build a trials table: scenario -> method -> per-trial ARI."""
    rows = []
    for scenario, methods in scores.items():
        for method, values in methods.items():
            for trial, value in enumerate(values):
                state = (status or {}).get((scenario, method, trial), "ok")
                rows.append(
                    {
                        "scenario": scenario,
                        "trial": trial,
                        "method": method,
                        "ari": value if state == "ok" else math.nan,
                        "seed": str(trial),
                        "spec": "x",
                        "status": state,
                        "error": "" if state == "ok" else "boom",
                        "n_warnings": 0,
                        "warning": "",
                    }
                )
    return pd.DataFrame(rows)


A = [0.9, 0.8, 0.75, 0.6, 1.0, 0.7]
B = [0.5, 0.85, 0.75, 0.2, 1.0, 0.1]


def test_method_rows_give_mean_sd_mcse_and_t_interval():
    table = summarize(trials_table({"s": {"a": A, "b": B}}), values=["ari"], comparison=["a", "b"])
    row = table[(table["kind"] == "method") & (table["method"] == "a")].iloc[0]
    values = np.array(A)
    assert row["n"] == 6 and row["n_failed"] == 0
    assert row["mean"] == pytest.approx(values.mean())
    assert row["sd"] == pytest.approx(values.std(ddof=1))
    assert row["mcse"] == pytest.approx(values.std(ddof=1) / math.sqrt(6))
    half = stats.t.ppf(0.975, 5) * values.std(ddof=1) / math.sqrt(6)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        (values.mean() - half, values.mean() + half)
    )
    assert row["ci_level"] == 0.95


def test_difference_row_gives_paired_stats_wins_ties_losses_and_wilcoxon():
    table = summarize(trials_table({"s": {"a": A, "b": B}}), values=["ari"], comparison=["a", "b"])
    row = table[table["kind"] == "difference"].iloc[0]
    d = np.array(A) - np.array(B)
    assert row["method"] == "a - b"
    assert row["mean"] == pytest.approx(d.mean())
    interval = stats.t.interval(0.95, 5, loc=d.mean(), scale=stats.sem(d))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(interval)
    assert (row["wins"], row["ties"], row["losses"]) == (3, 2, 1)
    assert row["p_wilcoxon"] == pytest.approx(stats.wilcoxon(d[d != 0]).pvalue)
    assert row["p_holm"] == row["p_wilcoxon"]


def test_failed_trials_are_counted_and_left_out_of_the_statistics():
    failures = {("s", "a", 0): "error"}
    table = summarize(
        trials_table({"s": {"a": A, "b": B}}, failures), values=["ari"], comparison=["a", "b"]
    )
    a = table[(table["kind"] == "method") & (table["method"] == "a")].iloc[0]
    assert (a["n"], a["n_failed"]) == (5, 1)
    assert a["mean"] == pytest.approx(np.mean(A[1:]))
    diff = table[table["kind"] == "difference"].iloc[0]
    assert (diff["n"], diff["n_failed"]) == (5, 1)
    assert diff["mean"] == pytest.approx(np.mean(np.array(A[1:]) - np.array(B[1:])))


def test_holm_adjustment_over_scenarios():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, math.nan, 0.01]) == pytest.approx([0.5, math.nan, 0.02], nan_ok=True)
    table = summarize(
        trials_table({"s1": {"a": A, "b": B}, "s2": {"a": B, "b": A}}),
        values=["ari"],
        comparison=["a", "b"],
    )
    diffs = table[table["kind"] == "difference"]
    raw = diffs["p_wilcoxon"].to_numpy()
    assert diffs["p_holm"].to_numpy() == pytest.approx(np.minimum(1, 2 * raw))


def test_degenerate_inputs_give_nan_not_errors():
    assert math.isnan(wilcoxon_p(np.zeros(5)))
    single = describe(np.array([0.3]))
    assert single["mean"] == 0.3 and math.isnan(single["sd"]) and math.isnan(single["ci_low"])


def test_summary_file_round_trips_exactly(tmp_path):
    table = summarize(trials_table({"s": {"a": A, "b": B}}), values=["ari"], comparison=["a", "b"])
    write_summary(table, tmp_path / "summary.csv")
    back = pd.read_csv(tmp_path / "summary.csv", dtype=str, keep_default_na=False)
    assert list(back.columns) == list(SUMMARY_COLUMNS)
    assert [float(text) for text in back["mean"]] == table["mean"].tolist()


def test_read_trials_keeps_128_bit_seeds_and_exact_floats(tmp_path):
    seed = str(2**127 + 12345)
    path = tmp_path / "trials.csv"
    path.write_text(
        "scenario,trial,method,ari,seed,spec,status,error,n_warnings,warning\n"
        f"s,0,a,0.41269325786287725,{seed},x,ok,,0,\n"
        f"s,0,b,,{seed},x,error,ValueError: no,1,UserWarning: w\n"
    )
    table = read_trials(path)
    assert table["seed"].tolist() == [seed, seed]
    assert table["ari"].iloc[0] == 0.41269325786287725
    assert math.isnan(table["ari"].iloc[1])
