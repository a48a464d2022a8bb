"""Where every result of a study lives, and which chunk files a study needs.

The paths of the rules' outputs are defined here once: the rules, the study plan
(:mod:`simstudy.plan`) and the tests take them from this module.

A chunk file holds the rows of consecutive trials ``start`` to ``stop - 1`` of one
scenario and one method group::

    results/chunks/<scenario>/<group>/<start>-<stop>.csv

Trials are cut into slots of ``chunk_size``; only the last slot can be short. Because a
file is named by scenario, group and trial range only, more trials, a new method or a new
scenario add files and never touch existing ones, and a file can be reused whenever its
range still fits (see :func:`chunk_files`). Which files fit is decided from a snapshot
of the chunk files on disk (:func:`finished_chunks`), read once when the workflow plans.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

RESULTS = "results"
MANIFEST = f"{RESULTS}/manifest.csv"
CHUNK_DIR = f"{RESULTS}/chunks"
TRIALS = f"{RESULTS}/trials.csv"
PROVENANCE = f"{RESULTS}/provenance.json"
SUMMARY = f"{RESULTS}/summary.csv"
PERFORMANCE = f"{RESULTS}/performance.csv"
EXAMPLE = f"{RESULTS}/example/trial.json"
#: Wall and CPU seconds of every fit, kept apart from trials.csv: they vary between runs.
#: Each chunk job writes its own below TIMING_DIR, named as its chunk file.
TIMING_DIR = f"{RESULTS}/timings"
TIMINGS = f"{RESULTS}/timings.csv"
TIMING_SUMMARY = f"{RESULTS}/timing_summary.csv"
#: Precision-driven stopping: one decision file per scenario and round below
#: STOPPING_DIR (``<scenario>/round-<r>.json``), and all of them as one table.
STOPPING_DIR = f"{RESULTS}/stopping"
STOPPING = f"{RESULTS}/stopping.csv"
#: Where the figures go. Which figures a study gets is decided by :mod:`simstudy.catalog`.
FIGURE_DIR = f"{RESULTS}/figures"


def figure_path(name: str) -> str:
    """The PNG file of the figure ``name``: the one place that spells out a figure's path.

    Parameters
    ----------
    name
        The figure's name, such as ``"ari_difference"``.

    Returns
    -------
    str
        ``results/figures/<name>.png``.
    """
    return f"{FIGURE_DIR}/{name}.png"


#: The pages that ``snakemake --report`` shows, by name.
REPORT_PAGES = {name: f"{RESULTS}/report/{name}.html" for name in ("summary", "config")}
#: What ``make report`` builds (not a default target: it needs ``snakemake --report``).
HTML_REPORT = f"{RESULTS}/report.html"
#: Where each rule keeps its settings as a file (see ``settings_file`` in settings.smk).
SETTINGS_DIR = f"{RESULTS}/.settings"

#: Trials per chunk below which a job's start-up (about 3 s: Python, scikit-learn and the
#: joblib workers) costs more than ~5% of the default study's work (see docs/performance.md).
MIN_RECOMMENDED_CHUNK = 500

#: Chunk jobs above which planning the DAG becomes slow (about 6 s per 1,000 jobs here).
MAX_RECOMMENDED_JOBS = 1_000

#: Chunk jobs above which a study is refused before planning: Snakemake needed about
#: 20 s and 330 MB to plan 10,000 jobs on the test machine of docs/performance.md, and 79 s and
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
        """The chunk's CSV file below ``root`` (see :func:`chunk_path`).

        Parameters
        ----------
        root
            The chunk folder.

        Returns
        -------
        str
            ``<root>/<scenario>/<group>/<start>-<stop>.csv``.
        """
        return chunk_path(self.scenario, self.group, self.start, self.stop, root)


def timing_path(chunk_file: str | os.PathLike[str]) -> str:
    """The timings file that the job of a chunk file writes beside it, below TIMING_DIR.

    Parameters
    ----------
    chunk_file
        A chunk file's path (see :func:`parse_chunk_path`).

    Returns
    -------
    str
        ``<TIMING_DIR>/<scenario>/<group>/<start>-<stop>.csv``.
    """
    return parse_chunk_path(chunk_file).path(TIMING_DIR)


def chunk_path(
    scenario: object,
    group: object,
    start: object,
    stop: object,
    root: str | os.PathLike[str] = CHUNK_DIR,
) -> str:
    """The CSV file of a chunk: the one place that spells out a chunk's path.

    Parameters
    ----------
    scenario, group, start, stop
        The chunk's scenario, method group and trial range; rule ``run_chunk``'s output
        pattern (:data:`CHUNK_FILE`) passes the wildcards ``"{scenario}"`` and so on.
    root
        The chunk folder.

    Returns
    -------
    str
        ``<root>/<scenario>/<group>/<start>-<stop>.csv``, with forward slashes.
    """
    return f"{Path(root).as_posix()}/{scenario}/{group}/{start}-{stop}.csv"


#: The output pattern of rule ``run_chunk``; the chunk's JSON record sits beside it.
CHUNK_FILE = chunk_path("{scenario}", "{group}", "{start}", "{stop}")
#: The pattern of the timings file a chunk job writes (see :func:`timing_path`).
TIMING_FILE = chunk_path("{scenario}", "{group}", "{start}", "{stop}", TIMING_DIR)
#: The pattern of a precision-driven study's decision files (see simstudy.stopping).
DECISION_FILE = f"{STOPPING_DIR}/{{scenario}}/round-{{round}}.json"

#: Separates method names in the name of a chunk group of several methods ("gmm+kmeans").
GROUP_SEPARATOR = "+"


def method_groups(
    methods: Iterable[str], seeding: str, methods_per_chunk: str = "one"
) -> list[str]:
    """Names of the method groups that run together in one chunk job, in config order.

    Under ``spawn`` seeding each method is its own group by default, so adding a method
    adds jobs and touches no existing chunk. With ``methods_per_chunk: all`` every
    method forms one group: each trial's data are drawn once for all of them, and a
    study of cheap trials has half (or less) the jobs, but an edit of one method reruns
    every method's chunks. Under ``legacy`` seeding all methods share NumPy's global
    generator in config order, so they always form one group, named ``"gmm+kmeans"``.

    Parameters
    ----------
    methods
        The study's method names, in config order.
    seeding
        The seeding scheme, ``"spawn"`` or ``"legacy"``.
    methods_per_chunk
        ``"one"`` (a group per method) or ``"all"`` (one group); legacy seeding is
        always ``"all"``.

    Returns
    -------
    list of str
        The group names; :func:`group_methods` splits one back into its methods.
    """
    names = list(methods)
    if seeding == "legacy" or methods_per_chunk == "all":
        return [GROUP_SEPARATOR.join(names)]
    return names


def group_methods(group: str) -> list[str]:
    """The method names in a method group's name, in run order.

    Parameters
    ----------
    group
        A group name such as ``"gmm"`` or ``"gmm+kmeans"``.

    Returns
    -------
    list of str
        The method names.
    """
    return group.split(GROUP_SEPARATOR)


def group_key(scenario: str, group: str) -> str:
    """How the merge names a scenario's method group.

    Parameters
    ----------
    scenario, group
        The scenario and method group names.

    Returns
    -------
    str
        ``"<scenario>/<group>"``.
    """
    return f"{scenario}/{group}"


def chunk_slots(n_trials: int, chunk_size: int) -> list[tuple[int, int]]:
    """Cut trials ``0 .. n_trials - 1`` into half-open ranges of ``chunk_size``.

    Parameters
    ----------
    n_trials, chunk_size
        The number of trials and the trials per chunk.

    Returns
    -------
    list of tuple of int
        ``(start, stop)`` ranges in order; only the last can be shorter.

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
    """The chunk size docs/performance.md recommends for ``n_trials`` trials.

    At least :data:`MIN_RECOMMENDED_CHUNK` trials, so start-up costs stay small, and large
    enough that the study has at most :data:`MAX_RECOMMENDED_JOBS` chunk jobs, where
    ``groups`` is the number of (scenario, method group) pairs.

    Parameters
    ----------
    n_trials
        The study's number of trials.
    groups
        The number of (scenario, method group) pairs.

    Returns
    -------
    int
        The recommended ``chunk_size``.
    """
    return max(MIN_RECOMMENDED_CHUNK, -(-n_trials * groups // MAX_RECOMMENDED_JOBS))


def count_chunk_jobs(n_trials: int, chunk_size: int, groups: int) -> int:
    """The number of chunk jobs of a study.

    Parameters
    ----------
    n_trials, chunk_size
        The study's number of trials and trials per chunk.
    groups
        The number of (scenario, method group) pairs.

    Returns
    -------
    int
        ``groups`` times the number of chunk slots.
    """
    return groups * -(-n_trials // chunk_size)


def parse_chunk_path(path: str | os.PathLike[str]) -> Chunk:
    """Read scenario, group and trial range back from a chunk file's path.

    Parameters
    ----------
    path
        A path ending in ``<scenario>/<group>/<start>-<stop>.csv``.

    Returns
    -------
    Chunk
        The chunk's identity.

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


#: Trial ranges of the chunk files on disk: (scenario, group) -> start -> stops.
Finished = Mapping[tuple[str, str], Mapping[int, Sequence[int]]]


def finished_chunks(
    root: str | os.PathLike[str] = CHUNK_DIR,
) -> dict[tuple[str, str], dict[int, list[int]]]:
    """Read which chunk files are on disk below ``root``: the one place planning reads it.

    Parameters
    ----------
    root
        The chunk folder, laid out as ``<scenario>/<group>/<start>-<stop>.csv``.

    Returns
    -------
    dict
        ``(scenario, group)`` -> start -> the stops of the files of that start, sorted;
        empty when ``root`` does not exist. Temporary and other files are left out.
    """
    finished: dict[tuple[str, str], dict[int, list[int]]] = {}
    root = Path(root)
    if not root.is_dir():
        return finished
    for scenario in os.scandir(root):
        if not scenario.is_dir():
            continue
        for group in os.scandir(scenario.path):
            if not group.is_dir():
                continue
            ranges: dict[int, list[int]] = {}
            for entry in os.scandir(group.path):
                match = _CHUNK_NAME.fullmatch(entry.name)
                if match:
                    ranges.setdefault(int(match["start"]), []).append(int(match["stop"]))
            if ranges:
                finished[(scenario.name, group.name)] = {
                    start: sorted(stops) for start, stops in sorted(ranges.items())
                }
    return finished


def chunk_files(
    scenarios: Iterable[str],
    groups: Iterable[str],
    n_trials: int,
    chunk_size: int,
    root: str | os.PathLike[str] = CHUNK_DIR,
    finished: Finished | None = None,
) -> list[str]:
    """Return the chunk files that together hold trials ``0 .. n_trials - 1``.

    Each slot of :func:`chunk_slots` needs the file of exactly its range, with one
    exception that makes lowering ``n_trials`` free: if the last slot is short and its
    exact file is not among ``finished``, a finished file of the same start that holds
    more trials of that chunk size (written before ``n_trials`` was lowered) is used
    instead, and the merge keeps only the trials it needs. Raising ``n_trials`` again
    finds the longer file still there, so in both directions no finished trial is run
    twice.

    Parameters
    ----------
    scenarios, groups
        The scenario and method group names, in config order.
    n_trials, chunk_size
        The study's number of trials and trials per chunk.
    root
        The folder the returned paths start with.
    finished
        The chunk files on disk, as :func:`finished_chunks` reads them; none if omitted.

    Returns
    -------
    list of str
        The paths, by scenario, then group, then trial range.
    """
    slots = chunk_slots(n_trials, chunk_size)
    last_start, last_stop = slots[-1]
    files = []
    for scenario in scenarios:
        for group in groups:
            stop = last_stop
            if last_stop - last_start < chunk_size and finished:
                existing = finished.get((scenario, group), {}).get(last_start, [])
                if last_stop not in existing:
                    longer = [s for s in existing if last_stop < s <= last_start + chunk_size]
                    stop = min(longer, default=last_stop)
            for start, slot_stop in slots[:-1]:
                files.append(Chunk(scenario, group, start, slot_stop).path(root))
            files.append(Chunk(scenario, group, last_start, stop).path(root))
    return files


def round_slots(
    n_trials: int,
    batch: int,
    trials: int,
    chunk_size: int,
    finished: Mapping[int, Sequence[int]] | None = None,
    *,
    max_trials: int | None = None,
) -> list[tuple[int, int]]:
    """Cut trials ``0 .. trials - 1`` of a precision-driven study into chunk ranges.

    The first round's ``n_trials`` trials, and each later round's ``batch``, are cut
    into ranges of ``chunk_size`` of their own, so that a new round only adds files.
    A finished file that starts where a range would start and fits in the round is
    used as it is, which keeps earlier work when ``max_trials`` is raised after it
    shortened a round, or after ``chunk_size`` changed. When ``trials`` is the cap
    ``max_trials``, so that no later round can follow, the last range may also be a
    longer finished file, as in :func:`chunk_files` (``max_trials`` was lowered); the
    ranges of earlier rounds never depend on which round is last.

    Parameters
    ----------
    n_trials
        The trials of the first round.
    batch
        The trials each later round adds.
    trials
        The trials to cover (``max_trials`` may cut the last round short).
    chunk_size
        Trials per new chunk.
    finished
        Start -> stops of the finished files of this scenario and method group
        (one entry of :func:`finished_chunks`).
    max_trials
        The study's cap; ``None`` never reuses a longer file.

    Returns
    -------
    list of tuple of int
        ``(start, stop)`` ranges in order.
    """
    finished = finished or {}
    bounds = [0, *range(n_trials, trials, batch), trials]
    slots = []
    for round_start, round_stop in itertools.pairwise(bounds):
        start = round_start
        while start < round_stop:
            existing = finished.get(start, [])
            fitting = [stop for stop in existing if stop <= round_stop]
            stop = max(fitting, default=min(start + chunk_size, round_stop))
            final = trials == max_trials and round_stop == trials
            if final and stop == trials and trials not in existing:
                longer = [s for s in existing if trials < s <= start + max(chunk_size, batch)]
                stop = min(longer, default=stop)
            slots.append((start, stop))
            start = stop
    return slots
