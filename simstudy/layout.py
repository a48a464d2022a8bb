"""Where chunk files live, and which ones a study needs.

A chunk file holds the rows of consecutive trials ``start`` to ``stop - 1`` of one
scenario and one method group::

    results/chunks/<scenario>/<group>/<start>-<stop>.csv

Trials are cut into slots of ``chunk_size``; only the last slot can be short. Because a
file is named by scenario, group and trial range only, more trials, a new method or a new
scenario add files and never touch existing ones, and a file can be reused whenever its
range still fits (see :func:`chunk_files`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

CHUNK_DIR = "results/chunks"

#: Trials per chunk below which a job's start-up (about 3 s: Python, scikit-learn and the
#: joblib workers) costs more than ~5% of the default study's work (see README).
MIN_RECOMMENDED_CHUNK = 500

#: Chunk jobs above which planning the DAG becomes slow (about 6 s per 1,000 jobs here).
MAX_RECOMMENDED_JOBS = 1_000

#: Chunk jobs above which a study is refused before planning: Snakemake needed about
#: 20 s and 330 MB to plan 10,000 jobs on the README's test machine, and 79 s and
#: 1.4 GB for 100,000.
MAX_CHUNK_JOBS = 20_000

_CHUNK_NAME = re.compile(r"(?P<start>\d+)-(?P<stop>\d+)\.csv")


class Chunk(NamedTuple):
    """The identity of a chunk file: scenario, method group and trial range."""

    scenario: str
    group: str
    start: int
    stop: int

    def path(self, root: str | os.PathLike[str] = CHUNK_DIR) -> str:
        return f"{Path(root).as_posix()}/{self.scenario}/{self.group}/{self.start}-{self.stop}.csv"


#: Separates method names in the name of a legacy chunk group ("gmm+kmeans").
GROUP_SEPARATOR = "+"


def group_methods(group: str) -> list[str]:
    """The method names in a method group's name, in run order."""
    return group.split(GROUP_SEPARATOR)


def group_key(scenario: str, group: str) -> str:
    """How the merge names a scenario's method group: ``"<scenario>/<group>"``."""
    return f"{scenario}/{group}"


def chunk_slots(n_trials: int, chunk_size: int) -> list[tuple[int, int]]:
    """Cut trials ``0 .. n_trials - 1`` into half-open ranges of ``chunk_size``.

    Raises
    ------
    ValueError
        If ``n_trials`` or ``chunk_size`` is below 1.
    """
    if n_trials < 1 or chunk_size < 1:
        raise ValueError(
            f"n_trials {n_trials!r} and chunk_size {chunk_size!r} must both be at least 1"
        )
    return [(start, min(start + chunk_size, n_trials)) for start in range(0, n_trials, chunk_size)]


def recommended_chunk_size(n_trials: int, groups: int) -> int:
    """The chunk size the README recommends for ``n_trials`` trials.

    At least :data:`MIN_RECOMMENDED_CHUNK` trials, so start-up costs stay small, and large
    enough that the study has at most :data:`MAX_RECOMMENDED_JOBS` chunk jobs, where
    ``groups`` is the number of (scenario, method group) pairs.
    """
    return max(MIN_RECOMMENDED_CHUNK, -(-n_trials * groups // MAX_RECOMMENDED_JOBS))


def count_chunk_jobs(n_trials: int, chunk_size: int, groups: int) -> int:
    """The number of chunk jobs of a study with ``groups`` (scenario, method group) pairs."""
    return groups * -(-n_trials // chunk_size)


def parse_chunk_path(path: str | os.PathLike[str]) -> Chunk:
    """Read scenario, group and trial range back from a chunk file's path.

    Raises
    ------
    ValueError
        If the path does not look like ``.../<scenario>/<group>/<start>-<stop>.csv``.
    """
    path = Path(path)
    match = _CHUNK_NAME.fullmatch(path.name)
    if match is None or len(path.parts) < 3:
        raise ValueError(
            f"{str(path)!r} is not a chunk file path (<scenario>/<group>/<a>-<b>.csv)"
        )
    start, stop = int(match["start"]), int(match["stop"])
    if not start < stop:
        raise ValueError(f"{str(path)!r} names an empty trial range")
    return Chunk(path.parent.parent.name, path.parent.name, start, stop)


def _existing_ranges(directory: Path) -> dict[int, list[int]]:
    """Map each start to the stops of the chunk files already in ``directory``."""
    ranges: dict[int, list[int]] = {}
    if directory.is_dir():
        for entry in os.scandir(directory):
            match = _CHUNK_NAME.fullmatch(entry.name)
            if match:
                ranges.setdefault(int(match["start"]), []).append(int(match["stop"]))
    return ranges


def chunk_files(
    scenarios: Iterable[str],
    groups: Iterable[str],
    n_trials: int,
    chunk_size: int,
    root: str | os.PathLike[str] = CHUNK_DIR,
) -> list[str]:
    """Return the chunk files that together hold trials ``0 .. n_trials - 1``.

    Each slot of :func:`chunk_slots` needs the file of exactly its range, with one
    exception that makes lowering ``n_trials`` free: if the last slot is short and its
    exact file is missing, an existing file of the same start that holds more trials of
    that chunk size (written before ``n_trials`` was lowered) is used instead, and the
    merge keeps only the trials it needs. Raising ``n_trials`` again finds the longer file
    still there, so in both directions no finished trial is run twice.
    """
    slots = chunk_slots(n_trials, chunk_size)
    files = []
    for scenario in scenarios:
        for group in groups:
            last_start, last_stop = slots[-1]
            stop = last_stop
            if last_stop - last_start < chunk_size:
                directory = Path(root) / scenario / group
                existing = _existing_ranges(directory).get(last_start, [])
                if last_stop not in existing:
                    longer = [s for s in existing if last_stop < s <= last_start + chunk_size]
                    stop = min(longer, default=last_stop)
            for start, slot_stop in slots[:-1]:
                files.append(Chunk(scenario, group, start, slot_stop).path(root))
            files.append(Chunk(scenario, group, last_start, stop).path(root))
    return files
