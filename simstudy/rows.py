"""A trial's rows: its outcome as the cells of a chunk file.

:func:`outcome_rows` turns what a trial produced (:class:`simstudy.trials.TrialOutcome`)
into one row per method, a failure as an error row; :class:`RowWriter` writes rows as a
chunk file holds them. With :mod:`simstudy.trials`, this is the code a chunk's digest
covers: what it does decides the bytes of the chunk files. Whether a failure is
recorded or stops the chunk (``on_error``) is :func:`simstudy.failures.trial_rows`' job.
"""

from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import IO, Any

from simstudy.spec import TrialSpec
from simstudy.tables import (
    STATUS_ERROR,
    STATUS_OK,
    TIMING_COLUMNS,
    format_value,
    trial_columns,
)
from simstudy.trials import TrialOutcome

#: A memory address in a message (``0x7f...``), which differs from process to process.
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{6,}")

# The last spec whose digest :func:`spec_digest` worked out, and that digest. A spec is
# frozen and every trial of a chunk has the same one; its digest hashes its canonical
# JSON text, which costs some 40 µs: as much as a cheap trial's own work.
_last_digest: tuple[TrialSpec, str] | None = None


def spec_digest(spec: TrialSpec) -> str:
    """Return ``spec.digest``, worked out once for the same spec object in a row.

    Parameters
    ----------
    spec
        The spec.

    Returns
    -------
    str
        Its digest (see :attr:`simstudy.spec.TrialSpec.digest`).
    """
    global _last_digest
    if _last_digest is None or _last_digest[0] is not spec:
        _last_digest = (spec, spec.digest)
    return _last_digest[1]


def hide_addresses(text: str) -> str:
    """Write every memory address in ``text`` as ``0x...``.

    Parameters
    ----------
    text
        A message, such as a warning's or an error's.

    Returns
    -------
    str
        ``text`` with each ``0x`` and 6 or more hex digits replaced by ``0x...``.
    """
    return _ADDRESS.sub("0x...", text)


def outcome_rows(spec: TrialSpec, outcome: TrialOutcome) -> list[dict[str, Any]]:
    """Turn a trial's outcome into table rows, one per method, sorted by method name.

    A method that failed gets a row with status ``error``, empty metrics and the last
    line of its error.

    Parameters
    ----------
    spec
        The spec the trial ran; its digest goes in every row.
    outcome
        What the trial produced (see :func:`simstudy.trials.run_trial`).

    Returns
    -------
    list of dict
        Column -> value, for the columns of :func:`simstudy.tables.trial_columns` and
        :data:`~simstudy.tables.TIMING_COLUMNS`.
    """
    rows = []
    for method in sorted(spec.method_names):
        error = outcome.errors.get(method)
        row: dict[str, Any] = {
            "scenario": spec.scenario.name,
            "trial": outcome.trial,
            "method": method,
            "seed": outcome.seed,
            "spec": spec_digest(spec),
            "status": STATUS_ERROR if error else STATUS_OK,
            "error": _one_line(error) if error else "",
            **warning_cells(outcome.warnings.get(method, [])),
            **timing_cells(outcome.timings.get(method)),
        }
        scores = outcome.scores.get(method, {})
        row.update({name: scores.get(name) for name in spec.values})
        rows.append(row)
    return rows


def warning_cells(caught: Sequence[warnings.WarningMessage]) -> dict[str, Any]:
    """The warning columns of a row: how many warnings, and the first on one line.

    Parameters
    ----------
    caught
        The warnings a method raised on a trial, in order.

    Returns
    -------
    dict
        ``n_warnings`` (int) and ``warning``: ``"<category>: <message>"`` of the first
        one with its whitespace collapsed to single spaces and any memory address
        written ``0x...``, or ``""`` if there was none.
    """
    if not caught:
        return {"n_warnings": 0, "warning": ""}
    first = caught[0]
    text = " ".join(f"{first.category.__name__}: {first.message}".split())
    return {"n_warnings": len(caught), "warning": hide_addresses(text)}


def timing_cells(timing: tuple[float, float] | None) -> dict[str, float | None]:
    """The timing columns of a row (:data:`~simstudy.tables.TIMING_COLUMNS`).

    Parameters
    ----------
    timing
        Wall and CPU seconds of the method's fit, or ``None`` if it was not fitted.

    Returns
    -------
    dict
        ``wall_seconds`` and ``cpu_seconds``, ``None`` (an empty cell) when not fitted.
    """
    wall, cpu = timing if timing is not None else (None, None)
    return {"wall_seconds": wall, "cpu_seconds": cpu}


def _one_line(formatted_traceback: str) -> str:
    """The last line of a traceback: the exception type and message."""
    lines = [line for line in formatted_traceback.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "unknown error"


def row_cells(row: Mapping[str, Any], columns: Sequence[str]) -> list[str]:
    """The cells of a row as a chunk file holds them, in the order of ``columns``.

    Parameters
    ----------
    row
        Column -> value, as :func:`outcome_rows` makes it.
    columns
        The columns to take, in order.

    Returns
    -------
    list of str
        Each value formatted by :func:`simstudy.tables.format_value`.
    """
    return [format_value(row[column]) for column in columns]


class RowWriter:
    """Write rows to an open CSV file as a chunk file holds them: a header, then the rows.

    Parameters
    ----------
    handle
        The open text file; the header is written at once.
    columns
        The columns to write, in order (see :meth:`results` and :meth:`timings`).
    """

    def __init__(self, handle: IO[str], columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self._writer = csv.writer(handle, lineterminator="\n")
        self._writer.writerow(self.columns)

    @classmethod
    def results(cls, handle: IO[str], spec: TrialSpec) -> RowWriter:
        """A writer of a chunk file: the columns of :func:`simstudy.tables.trial_columns`.

        Parameters
        ----------
        handle
            The open text file.
        spec
            The spec of the chunk's trials; its metrics are columns.

        Returns
        -------
        RowWriter
            The writer, with the header written.
        """
        return cls(handle, trial_columns(spec.values))

    @classmethod
    def timings(cls, handle: IO[str]) -> RowWriter:
        """A writer of a chunk's timing file: the :data:`~simstudy.tables.TIMING_COLUMNS`.

        Parameters
        ----------
        handle
            The open text file.

        Returns
        -------
        RowWriter
            The writer, with the header written.
        """
        return cls(handle, TIMING_COLUMNS)

    def write(self, row: Mapping[str, Any]) -> None:
        """Write one row: its cells (see :func:`row_cells`) on one line.

        Parameters
        ----------
        row
            Column -> value; it must hold every column of the writer.
        """
        self._writer.writerow(row_cells(row, self.columns))
