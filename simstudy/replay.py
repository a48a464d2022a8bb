"""Replay one trial of a finished study, to debug a surprising result.

The replay takes the trial's seed from the manifest, rebuilds exactly the spec its chunk
job ran (under ``legacy`` seeding that means every method, in config order, because they
share the global generator), runs the trial again in this process and compares the
scores with the trial's row in ``trials.csv``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simstudy.config import check_config
from simstudy.plan import StudyPlan
from simstudy.spec import TrialSpec, from_json_text
from simstudy.study_files import read_study_file
from simstudy.tables import matches_row, read_manifest, recorded_row
from simstudy.trials import TrialOutcome, run_trial

#: The study a replay reads when there is neither ``--configfile`` nor a provenance record.
DEFAULT_STUDY = Path("config/config.yaml")


class NoStudyError(ValueError):
    """There is no study, or no results of one, where the replay looked."""


def _here(path: Path) -> str:
    """``path`` as given, and where that is when it is relative."""
    return str(path) if path.is_absolute() else f"{path} (in {Path.cwd()})"


def load_config(
    configfile: str | os.PathLike[str] | None, results: str | os.PathLike[str]
) -> tuple[dict[str, Any], str]:
    """Return the resolved config to replay with, and where it came from.

    Without ``configfile``, the config recorded in ``<results>/provenance.json`` is used:
    it is the one that produced the results on disk, whatever the config file says now.
    Failing that, ``config/config.yaml`` (relative to the working directory).

    Parameters
    ----------
    configfile
        A study file to use instead, or None.
    results
        The results folder.

    Returns
    -------
    config : dict
        The config, checked and with its defaults filled in (:func:`check_config`).
    source : str
        The file it was read from.

    Raises
    ------
    NoStudyError
        Without ``configfile``, if neither ``provenance.json`` nor ``config/config.yaml``
        exists: this is not a study's folder. The message names both files.
    ConfigError
        If the study file cannot be read or the config is invalid.
    OSError, ValueError
        If ``provenance.json`` cannot be read, is not JSON, or holds no ``config``.
    """
    provenance = Path(results) / "provenance.json"
    if configfile is None and provenance.is_file():
        try:
            raw = from_json_text(provenance.read_text(encoding="utf-8"))["config"]
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(
                f"{provenance}: not a provenance record holding the study's config "
                f"({type(error).__name__}: {error}); give the study with --configfile FILE"
            ) from None
        return check_config(raw), str(provenance)
    if configfile is None and not DEFAULT_STUDY.is_file():
        raise NoStudyError(
            f"no study here: neither {_here(provenance)}, the config of a study's results, "
            f"nor {_here(DEFAULT_STUDY)}, a study to run, exists. Run simstudy replay from "
            f"the study's folder (where snakemake ran it), or name the study and its "
            f"results with --configfile FILE and --results FOLDER"
        )
    path = Path(configfile) if configfile is not None else DEFAULT_STUDY
    return check_config(read_study_file(path)), str(path)


def replay_spec(config: dict[str, Any], scenario: str, method: str) -> TrialSpec:
    """The spec of the chunk job that ran ``method`` on ``scenario``.

    Parameters
    ----------
    config
        The resolved config of the study.
    scenario, method
        The scenario and method of the trial.

    Returns
    -------
    TrialSpec
        The spec of that method's group (see :meth:`simstudy.plan.StudyPlan.group_of`).

    Raises
    ------
    ValueError
        If the scenario or method is not part of the study.
    """
    plan = StudyPlan(config)
    return plan.spec(scenario, plan.group_of(method))


@dataclass
class Replay:
    """A replayed trial: its spec, seed and outcome, and the row recorded for it."""

    spec: TrialSpec
    method: str
    seed: int
    outcome: TrialOutcome
    recorded: dict[str, str] | None

    @property
    def scores(self) -> dict[str, float] | None:
        """The replayed method's scores, metric -> value; None if it failed."""
        return self.outcome.scores.get(self.method)

    @property
    def recorded_seed(self) -> int | None:
        """The seed in the trial's row of ``trials.csv``; None if there is no row."""
        return None if self.recorded is None else int(self.recorded["seed"])

    def matches(self) -> bool | None:
        """Whether the replay equals the recorded row, seed included; None if no row.

        Returns
        -------
        bool or None
            False if the seeds differ; otherwise as :func:`simstudy.tables.matches_row`:
            the same scores to the last bit, or a failure where the row records one.
        """
        if self.recorded is not None and self.recorded_seed != self.seed:
            return False
        return matches_row(self.scores, self.recorded)


def replay_trial(
    config: dict[str, Any],
    scenario: str,
    trial: int,
    method: str,
    *,
    results: str | os.PathLike[str] = "results",
) -> Replay:
    """Rerun one trial from the manifest in ``results`` and fetch its recorded row.

    The trial runs in this process, without a time limit.

    Parameters
    ----------
    config
        The resolved config of the study (see :func:`load_config`).
    scenario, trial, method
        The trial to rerun: its scenario, index and method. Every method of the method's
        group runs (see :func:`replay_spec`).
    results
        The results folder, with ``manifest.csv`` and, if the study ran, ``trials.csv``.

    Returns
    -------
    Replay
        The spec, seed and outcome of the rerun, and the recorded row (None if there is
        none).

    Raises
    ------
    NoStudyError
        If there is no ``manifest.csv`` in ``results``: the study has not run there.
    ValueError
        If the trial is not in the manifest, the manifest is invalid, or the scenario or
        method not in the study.
    OSError
        If the manifest cannot be read.
    """
    spec = replay_spec(config, scenario, method)
    manifest = Path(results) / "manifest.csv"
    if not manifest.is_file():
        raise NoStudyError(
            f"no results here: {_here(manifest)} does not exist, so there is no trial seed "
            f"to replay. Run simstudy replay from the study's folder once snakemake has run "
            f"the study there, or give its results folder with --results FOLDER"
        )
    seeds = read_manifest(manifest)
    if not 0 <= trial < len(seeds):
        raise ValueError(f"trial {trial} is not in the manifest (trials 0-{len(seeds) - 1})")
    outcome = run_trial(spec, trial, seeds[trial])
    row = recorded_row(Path(results) / "trials.csv", scenario, trial, method)
    return Replay(spec=spec, method=method, seed=seeds[trial], outcome=outcome, recorded=row)
