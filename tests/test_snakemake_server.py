"""The suite's snakemake commands, run through tests/snakemake_server.py, are the user's.

The server runs each command in a forked copy of a process that has imported Snakemake
and collected its plugins. What a command prints about itself and plans must be what the
``snakemake`` executable, started in the same folder, prints and plans.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from conftest import TINY_CONFIG, snakemake

pytestmark = pytest.mark.e2e

#: Lines that differ between any two commands: the start time, the run's random id, and
#: the time stamps of the planned jobs.
CHANGING = ("Date:", "Workflow ID:", "[")


def dry_run(workdir: Path, own_process: bool) -> list[str]:
    """The lines a dry run of the tiny study prints, the folder's path replaced and the
    changing lines left out."""
    workdir.mkdir()
    result = snakemake(
        workdir, "--dry-run", "--cores", "2", config=TINY_CONFIG, own_process=own_process
    )
    text = (result.stdout + result.stderr).replace(str(workdir), "WORKDIR")
    return [line for line in text.splitlines() if not line.strip().startswith(CHANGING)]


def words(lines: list[str]) -> Counter:
    """Each line as the sorted words it holds: jobs, and the files a job lists, come in
    no fixed order."""
    return Counter(tuple(sorted(re.split(r"[\s,;]+", line.strip()))) for line in lines)


def test_a_command_through_the_server_prints_and_plans_as_the_executable(tmp_path):
    served = dry_run(tmp_path / "served", own_process=False)
    own = dry_run(tmp_path / "own", own_process=True)
    assert words(served) == words(own)
    # What the comparison covers: the command line, the run directory, the jobs.
    assert "  Run directory: WORKDIR" in own
    assert any(line.startswith("  Command: /") and "/snakemake --snake" in line for line in own)
    assert any(line.split() == ["run_chunk", "6"] for line in own)
