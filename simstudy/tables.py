"""The CSV tables a study writes: their columns, how their values are formatted, the seeds.

Floats are written with ``repr``, the shortest text that reads back as the same double,
so ``float(text)`` (or pandas with ``float_precision="round_trip"``) recovers every bit.
Every table is written whole, with a record of its SHA-256 beside it
(:func:`simstudy.integrity.write_table`).
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

#: Columns that identify a row of ``trials.csv``; the table is sorted by them.
KEY_COLUMNS = ("scenario", "trial", "method")

#: Columns after the metrics: the trial's seed, the digest of the spec that produced
#: the row (see ``provenance.json``), whether the trial ran, and the error if not.
PROVENANCE_COLUMNS = ("seed", "spec", "status", "error")

#: Columns after those: how many warnings the method raised while it was fitted on the
#: trial, and the first one as ``<category>: <message>`` on one line (empty if none).
WARNING_COLUMNS = ("n_warnings", "warning")

#: Everything after the metric columns of a row of ``trials.csv``.
TRAILING_COLUMNS = (*PROVENANCE_COLUMNS, *WARNING_COLUMNS)

#: Columns of a chunk's timings file and of ``timings.csv``: the wall and CPU seconds
#: that fitting one method on one trial took (see :mod:`simstudy.timings`).
TIMING_COLUMNS = ("scenario", "trial", "method", "status", "wall_seconds", "cpu_seconds")

MANIFEST_COLUMNS = ("trial", "seed")

STATUS_OK = "ok"
STATUS_ERROR = "error"


def trial_columns(metrics: Sequence[str]) -> list[str]:
    """Return the header of a chunk file or of ``trials.csv`` for ``metrics``.

    Parameters
    ----------
    metrics
        The metric names, in the study's order.

    Returns
    -------
    list of str
        :data:`KEY_COLUMNS`, then ``metrics``, then :data:`TRAILING_COLUMNS`.
    """
    return [*KEY_COLUMNS, *metrics, *TRAILING_COLUMNS]


def format_value(value: Any) -> str:
    """Format one cell: floats exactly (``repr``), missing values as empty text.

    Parameters
    ----------
    value
        The cell's value.

    Returns
    -------
    str
        ``""`` for None and for a NaN float, the shortest text that reads back as the
        same double for any other float (NumPy's floats included), ``str`` of anything
        else.
    """
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(float(value))  # not "np.float64(0.5)"
    return str(value)


def write_rows(handle: IO[str], columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> int:
    """Write a header and ``rows`` (mappings keyed by column) as CSV; return the row count.

    Parameters
    ----------
    handle
        An open text file.
    columns
        The header; each row's values are written in this order, formatted by
        :func:`format_value`.
    rows
        The rows; each must hold every column (other keys are ignored).

    Returns
    -------
    int
        The number of rows written, the header not counted.
    """
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([format_value(row[column]) for column in columns])
        count += 1
    return count


def manifest_seeds(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield a seed manifest's seeds as they are written, in trial order, one at a time.

    Parameters
    ----------
    path
        The manifest, columns :data:`MANIFEST_COLUMNS`.

    Yields
    ------
    str
        The seed of trial 0, then of trial 1, and so on.

    Raises
    ------
    ValueError
        If the header is wrong or the trials are not 0, 1, 2, ... in order.
    """
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header != list(MANIFEST_COLUMNS):
            raise ValueError(
                f"{path}: not a seed manifest: header {header!r} is not {list(MANIFEST_COLUMNS)!r}"
            )
        for index, row in enumerate(reader):
            if len(row) != 2 or row[0] != str(index):
                raise ValueError(f"{path}: line {index + 2} {row!r} is not trial {index}")
            yield row[1]


def read_manifest(path: str | os.PathLike[str]) -> list[int]:
    """Read a seed manifest and return the seeds in trial order.

    Parameters
    ----------
    path
        The manifest, as :func:`write_manifest` writes it.

    Returns
    -------
    list of int
        The seed of trial 0, then of trial 1, and so on.

    Raises
    ------
    ValueError
        From :func:`manifest_seeds`, or if a seed is not an integer.
    """
    return [int(seed) for seed in manifest_seeds(path)]


def matches_row(scores: dict[str, float] | None, row: dict[str, str] | None) -> bool | None:
    """Whether a rerun's scores (None if it failed) equal a ``trials.csv`` row.

    Scores must be equal to the last bit; a failure matches a row with status ``error``.
    Only the metrics in ``scores`` are compared; the seed and spec are not.

    Parameters
    ----------
    scores
        The rerun's scores, metric -> value, or None if the rerun failed.
    row
        The recorded row, column -> text (see :func:`recorded_row`), or None.

    Returns
    -------
    bool or None
        Whether they match; None when there is no row to compare with.
    """
    if row is None:
        return None
    if row["status"] != STATUS_OK or scores is None:
        return row["status"] != STATUS_OK and scores is None
    return all(float(row[metric]) == value for metric, value in scores.items())


def recorded_row(
    trials: str | os.PathLike[str], scenario: str, trial: int, method: str
) -> dict[str, str] | None:
    """The row of ``trials.csv`` for (scenario, trial, method), or None.

    Parameters
    ----------
    trials
        The ``trials.csv`` file, read from the start until the row is found.
    scenario, trial, method
        The row's key.

    Returns
    -------
    dict of str to str or None
        The row as text, column -> cell; None if the file or the row does not exist.
    """
    if not Path(trials).is_file():
        return None
    key = (scenario, str(trial), method)
    with open(trials, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if (row["scenario"], row["trial"], row["method"]) == key:
                return row
    return None


def kept_trials(
    n_trials: int, stopping_table: str | os.PathLike[str] | None
) -> int | dict[str, int]:
    """The trials each scenario keeps: ``n_trials``, or where ``stopping.csv`` stopped it.

    Parameters
    ----------
    n_trials
        The config's ``n_trials``.
    stopping_table
        ``stopping.csv`` of a precision-driven study (see :mod:`simstudy.stopping`),
        or ``None``.

    Returns
    -------
    int or dict
        ``n_trials`` without a table; else scenario -> the trials of its last round.
    """
    if stopping_table is None:
        return n_trials
    kept: dict[str, tuple[int, int]] = {}
    with open(stopping_table, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            round_, trials = int(row["round"]), int(row["trials"])
            if row["scenario"] not in kept or kept[row["scenario"]][0] < round_:
                kept[row["scenario"]] = (round_, trials)
    return {scenario: trials for scenario, (_, trials) in kept.items()}
