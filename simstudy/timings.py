"""Compute time as an outcome: the wall and CPU seconds of every method's fit.

Each chunk job writes, beside its chunk file, the seconds that building and fitting each
method took on each trial (:func:`simstudy.trials.fit_observed`). Timings depend on the
machine and on its load, so they are kept out of ``trials.csv``, which stays
byte-identical from run to run. :func:`collect_timings` gathers them into one sorted
``timings.csv``; :func:`summarize_timings` gives, per scenario and method, the median
and interquartile range of the fits that succeeded.
"""

from __future__ import annotations

import csv
import heapq
import os
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from operator import itemgetter

import numpy as np
import pandas as pd

from simstudy.integrity import atomic_write, write_table
from simstudy.layout import parse_chunk_path
from simstudy.tables import STATUS_OK, TIMING_COLUMNS

#: Columns of ``timing_summary.csv``: per scenario and method, the successful fits
#: (``n``), then the median, quartiles and interquartile range of wall and CPU seconds.
TIMING_SUMMARY_COLUMNS = (
    "scenario",
    "method",
    "n",
    *(f"{clock}_{stat}" for clock in ("wall", "cpu") for stat in ("median", "q25", "q75", "iqr")),
)


class TimingError(ValueError):
    """A timings file is unreadable or does not match its chunk."""


def collect_timings(
    paths: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    n_trials: int | Mapping[str, int],
) -> int:
    """Gather the timings files of a study's chunks into one table sorted like trials.csv.

    Parameters
    ----------
    paths
        Timings files named ``<scenario>/<group>/<start>-<stop>.csv``, as chunk jobs
        write them (:func:`simstudy.layout.timing_path`).
    output
        The CSV file to write (atomically), with the header
        :data:`~simstudy.tables.TIMING_COLUMNS`.
    n_trials
        The trials the study keeps: one number for every scenario, or scenario -> number.
        Rows of later trials (a reused longer chunk) are left out.

    Returns
    -------
    int
        The number of rows written.

    Raises
    ------
    TimingError
        If a file's header is not :data:`~simstudy.tables.TIMING_COLUMNS`, a row is
        outside its file's trial range, or a scenario has no number of trials.
    """
    files: dict[str, dict[str, list[tuple[int, str]]]] = defaultdict(lambda: defaultdict(list))
    for raw in paths:
        path = os.fspath(raw)
        chunk = parse_chunk_path(path)
        files[chunk.scenario][chunk.group].append((chunk.start, path))
    written = 0
    with atomic_write(output) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(TIMING_COLUMNS)
        for scenario in sorted(files):
            if not isinstance(n_trials, int) and scenario not in n_trials:
                raise TimingError(f"scenario {scenario!r} has timings but no number of trials")
            limit = n_trials if isinstance(n_trials, int) else n_trials[scenario]
            streams = [
                _read_group(sorted(group), limit) for _, group in sorted(files[scenario].items())
            ]
            for _, cells in heapq.merge(*streams, key=itemgetter(0)):
                writer.writerow(cells)
                written += 1
    return written


def _read_group(
    files: list[tuple[int, str]], limit: int
) -> Iterator[tuple[tuple[int, str], list[str]]]:
    for _, path in files:
        chunk = parse_chunk_path(path)
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header != list(TIMING_COLUMNS):
                raise TimingError(f"{path}: header {header!r} is not {list(TIMING_COLUMNS)!r}")
            for line, cells in enumerate(reader, start=2):
                trial = int(cells[1]) if len(cells) == len(TIMING_COLUMNS) else -1
                if not chunk.start <= trial < chunk.stop or cells[0] != chunk.scenario:
                    raise TimingError(
                        f"{path}: line {line} does not belong to this chunk: {cells!r}"
                    )
                if trial < limit:
                    yield (trial, cells[2]), cells


def summarize_timings(timings: pd.DataFrame) -> pd.DataFrame:
    """Median and interquartile range of the fit times, per scenario and method.

    Only fits that succeeded (status ``ok``) count.

    Parameters
    ----------
    timings
        The rows of ``timings.csv``.

    Returns
    -------
    DataFrame
        One row per (scenario, method), sorted, with :data:`TIMING_SUMMARY_COLUMNS`;
        quartiles are NumPy's default (linear) percentiles.
    """
    rows = []
    ok = timings[timings["status"] == STATUS_OK]
    for (scenario, method), group in ok.groupby(["scenario", "method"], sort=True):
        row = {"scenario": scenario, "method": method, "n": len(group)}
        for clock in ("wall", "cpu"):
            values = group[f"{clock}_seconds"].astype(float).to_numpy()
            q25, median, q75 = np.percentile(values, [25, 50, 75])
            row.update(
                {
                    f"{clock}_median": float(median),
                    f"{clock}_q25": float(q25),
                    f"{clock}_q75": float(q75),
                    f"{clock}_iqr": float(q75 - q25),
                }
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=list(TIMING_SUMMARY_COLUMNS))


def write_timing_summary(table: pd.DataFrame, path: str | os.PathLike[str]) -> int:
    """Write the timing summary (see :func:`summarize_timings`) atomically.

    Parameters
    ----------
    table
        The summary table.
    path
        The CSV file to write.

    Returns
    -------
    int
        The number of rows written.
    """
    records = table.astype(object).to_dict("records")
    for record in records:
        record["n"] = int(record["n"])
    return write_table(path, TIMING_SUMMARY_COLUMNS, records)
