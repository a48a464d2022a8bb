"""What to tell a user to do next: the commands that replay a trial or redo a chunk.

Error messages of the trial code and of the merge end with one of these, so that every
failure says how to look into it or get past it.
"""

from __future__ import annotations

import os
from pathlib import Path


def replay_command(scenario: str, trial: int, method: str) -> str:
    """Return the shell command that reruns one trial from the manifest."""
    return f"simstudy replay --scenario {scenario} --trial {trial} --method {method}"


def redo_command(path: str | os.PathLike[str]) -> str:
    """Say how to make Snakemake run a chunk again.

    Remove the chunk's CSV and its JSON record, then run the study again with the same
    command (the same ``--configfile`` and ``--config``): that run has to make both.
    """
    csv_path = Path(path)
    return (
        f"rm {csv_path} {csv_path.with_suffix('.json')}, then run snakemake again as before "
        f"(with the same --configfile and --config)"
    )
