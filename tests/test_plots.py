"""Figures: they are written as PNG, and the colour matching keeps the clustering."""

from __future__ import annotations

import numpy as np

from simstudy import plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_match_labels_renames_clusters_to_their_true_partners():
    truth = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([5, 5, 3, 3, 3, 9])
    matched = plots.match_labels(truth, predicted)
    assert matched.tolist() == [0, 0, 1, 1, 1, 2]
    # renaming only: points grouped together stay together
    for i in range(6):
        for j in range(6):
            assert (predicted[i] == predicted[j]) == (matched[i] == matched[j])


def test_extra_predicted_clusters_get_fresh_labels():
    matched = plots.match_labels(np.array([0, 0, 1, 1]), np.array([0, 1, 2, 3]))
    assert len(set(matched.tolist())) == 4


def test_figures_are_written_as_png(tmp_path):
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(30, 2)), rng.randint(0, 3, size=30)
    plots.save(plots.example_data_figure(X, y, scenario="s", trial=0, dpi=60), tmp_path / "a.png")
    plots.save(
        plots.example_clusterings_figure(
            X, y, {"A": y, "B": y[::-1]}, {"A": 1.0, "B": 0.1}, scenario="s", trial=0, dpi=60
        ),
        tmp_path / "b.png",
    )
    plots.save(
        plots.difference_figure(
            {"s": rng.normal(size=20), "t": np.zeros(20)},
            {"s": (0.1, -0.2, 0.4), "t": (0.0, float("nan"), float("nan"))},
            first="A",
            second="B",
            dpi=60,
        ),
        tmp_path / "c.png",
    )
    for name in ("a.png", "b.png", "c.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC


def test_difference_of_failed_trials_is_left_out():
    import pandas as pd

    from simstudy.figures import paired_differences

    table = pd.DataFrame(
        {
            "scenario": ["s"] * 6,
            "trial": [0, 0, 1, 1, 2, 2],
            "method": ["a", "b"] * 3,
            "ari": [0.5, 0.25, float("nan"), 0.5, 1.0, 0.5],
            "status": ["ok", "ok", "error", "ok", "ok", "ok"],
        }
    )
    assert paired_differences(table, "a", "b", "ari")["s"].tolist() == [0.25, 0.5]


def test_figures_with_failed_methods_and_no_pairs_still_render(tmp_path):
    rng = np.random.RandomState(1)
    X, y = rng.normal(size=(30, 2)), rng.randint(0, 3, size=30)
    plots.save(
        plots.example_clusterings_figure(
            X, y, {"A": y, "B": None}, {"A": 1.0, "B": None}, scenario="s", trial=0, dpi=60
        ),
        tmp_path / "a.png",
    )
    plots.save(
        plots.difference_figure(
            {"s": np.array([])}, {"s": (np.nan, np.nan, np.nan)}, first="A", second="B", dpi=60
        ),
        tmp_path / "b.png",
    )
    assert (tmp_path / "a.png").read_bytes()[:8] == PNG_MAGIC
    assert (tmp_path / "b.png").read_bytes()[:8] == PNG_MAGIC
