"""What to tell a user to do next: the commands that replay a trial or redo a chunk.

Error messages of the trial code and of the merge end with one of these, so that every
failure says how to look into it or get past it.
"""

from __future__ import annotations

import os
from pathlib import Path


def replay_command(scenario: str, trial: int, method: str) -> str:
    """Return the shell command that reruns one trial from the manifest.

    Parameters
    ----------
    scenario, trial, method
        The trial's scenario, index and method.

    Returns
    -------
    str
        A ``simstudy replay`` command line (run from the project directory).
    """
    return f"simstudy replay --scenario {scenario} --trial {trial} --method {method}"


def trial_failure(scenario: str, trial: int, method: str, seed: object, error: str) -> str:
    """Describe a failed trial: where it failed, with which seed, and the error.

    Parameters
    ----------
    scenario, trial, method, seed
        The failed trial's scenario, index, method and seed.
    error
        What went wrong (the recorded error, or a traceback).

    Returns
    -------
    str
        One message that the trial code and the merge both raise with.
    """
    return f"trial failed: scenario={scenario} trial={trial} method={method} seed={seed}: {error}"


def redo_command(path: str | os.PathLike[str]) -> str:
    """Say how to make Snakemake run a chunk again.

    Remove the chunk's CSV and its JSON record, then run the study again with the same
    command (the same ``--configfile`` and ``--config``): that run has to make both.

    Parameters
    ----------
    path
        The chunk's CSV file.

    Returns
    -------
    str
        The advice: an ``rm`` command for both files, then what to run.
    """
    csv_path = Path(path)
    return (
        f"rm {csv_path} {csv_path.with_suffix('.json')}, then run snakemake again as before "
        f"(with the same --configfile and --config)"
    )
