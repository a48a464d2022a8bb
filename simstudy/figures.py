"""Draw the study's figures from its config and result tables.

The example figures rerun one trial (its seed comes from the manifest) to get the data
and the labels; the scores in their titles must equal that trial's rows in
``trials.csv``, which makes every figure build a small reproducibility check.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from simstudy import plots
from simstudy.config import GROUP_SEPARATOR, method_label, trial_spec
from simstudy.metrics import METRIC_LABELS
from simstudy.spec import TrialSpec
from simstudy.summary import comparison_label, read_trials
from simstudy.tables import STATUS_OK, read_manifest
from simstudy.trials import TrialOutcome, run_trial

#: The metric that ``ari_difference.png`` shows.
DIFFERENCE_METRIC = "ari"


class ReproducibilityError(RuntimeError):
    """A rerun trial did not give the scores recorded for it."""


def example_spec(config: Mapping[str, Any], *, code: str = "") -> TrialSpec:
    """The spec that reruns the example trial for the compared methods.

    Under ``legacy`` seeding the methods share the global generator, so all of them run
    in config order, exactly as in the chunk job; under ``spawn`` seeding each method has
    its own stream and the compared two are enough.
    """
    names = list(config["methods"]) if config["seeding"] == "legacy" else config["comparison"]
    return trial_spec(
        config, config["figures"]["example_scenario"], GROUP_SEPARATOR.join(names), code=code
    )


def rerun_example(
    config: Mapping[str, Any],
    manifest_path: str | os.PathLike[str],
    trials_path: str | os.PathLike[str],
) -> TrialOutcome:
    """Rerun the example trial and check its scores against ``trials.csv``.

    Raises
    ------
    ReproducibilityError
        If a compared method failed in the rerun, or scored differently from its row.
    """
    trial = config["figures"]["example_trial"]
    spec = example_spec(config)
    seeds = read_manifest(manifest_path)
    outcome = run_trial(spec, trial, seeds[trial])
    recorded = read_trials(trials_path)
    for method in config["comparison"]:
        if method in outcome.errors:
            raise ReproducibilityError(
                f"example trial {trial} of {spec.scenario.name}: method {method} failed\n"
                f"{outcome.errors[method]}"
            )
        row = recorded[
            (recorded["scenario"] == spec.scenario.name)
            & (recorded["trial"] == trial)
            & (recorded["method"] == method)
        ]
        for metric in spec.metrics:
            expected = float(row[metric].iloc[0])
            if outcome.scores[method][metric] != expected:
                raise ReproducibilityError(
                    f"example trial {trial} of {spec.scenario.name}, method {method}: "
                    f"rerun gives {metric} {outcome.scores[method][metric]!r}, "
                    f"trials.csv holds {expected!r}"
                )
    return outcome


def draw_examples(
    config: Mapping[str, Any],
    *,
    manifest: str | os.PathLike[str],
    trials: str | os.PathLike[str],
    data_png: str | os.PathLike[str],
    clusterings_png: str | os.PathLike[str],
) -> None:
    """Write ``example_data.png`` and ``example_clusterings.png`` for the example trial."""
    outcome = rerun_example(config, manifest, trials)
    scenario = config["figures"]["example_scenario"]
    trial = config["figures"]["example_trial"]
    dpi = config["figures"]["dpi"]
    plots.save(
        plots.example_data_figure(outcome.X, outcome.y, scenario=scenario, trial=trial, dpi=dpi),
        data_png,
    )
    names = {method: method_label(config, method) for method in config["comparison"]}
    plots.save(
        plots.example_clusterings_figure(
            outcome.X,
            outcome.y,
            {names[m]: outcome.labels[m] for m in config["comparison"]},
            {names[m]: outcome.scores[m][DIFFERENCE_METRIC] for m in config["comparison"]},
            scenario=scenario,
            trial=trial,
            metric_label=METRIC_LABELS[DIFFERENCE_METRIC],
            dpi=dpi,
        ),
        clusterings_png,
    )


def paired_differences(trials, first: str, second: str, metric: str) -> dict[str, np.ndarray]:
    """Per scenario, ``first - second`` in ``metric`` over trials where both ran."""
    ran = trials[trials["status"] == STATUS_OK]
    differences = {}
    for scenario, rows in ran.groupby("scenario", sort=True):
        wide = rows.pivot(index="trial", columns="method", values=metric)
        differences[scenario] = (wide[first] - wide[second]).dropna().to_numpy(dtype=float)
    return differences


def draw_difference(
    config: Mapping[str, Any],
    *,
    trials: str | os.PathLike[str],
    summary: str | os.PathLike[str],
    output: str | os.PathLike[str],
) -> None:
    """Write ``ari_difference.png``: the distribution of per-trial ARI differences."""
    import pandas as pd

    first, second = config["comparison"]
    table = read_trials(trials)
    differences = paired_differences(table, first, second, DIFFERENCE_METRIC)
    stats = pd.read_csv(summary, keep_default_na=False, na_values=[""])
    rows = stats[
        (stats["kind"] == "difference")
        & (stats["metric"] == DIFFERENCE_METRIC)
        & (stats["method"] == comparison_label(first, second))
    ].set_index("scenario")
    intervals = {
        scenario: tuple(
            float(rows.loc[scenario, column])
            if not _missing(rows.loc[scenario, column])
            else math.nan
            for column in ("mean", "ci_low", "ci_high")
        )
        for scenario in differences
    }
    plots.save(
        plots.difference_figure(
            differences,
            intervals,
            first=method_label(config, first),
            second=method_label(config, second),
            metric_label=METRIC_LABELS[DIFFERENCE_METRIC],
            dpi=config["figures"]["dpi"],
        ),
        output,
    )


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
