"""Merge chunk files into one sorted, byte-stable ``trials.csv``.

The merge streams: it holds one row per method group at a time, whatever the number of
trials. It copies every cell as written by the chunk jobs, so floats keep their exact
text. It trusts nothing it reads. The chunks must cover exactly the study's scenarios,
method groups and trials; every chunk file must have the SHA-256 that its job recorded
beside it, and the record the spec of the study as configured now; every row must name
that spec, lie in its file's range and carry the manifest's seed. Any problem stops the
merge with an error that names the file and says how to redo it, and no ``trials.csv``
is written. (Snakemake then deletes the failed job's output, the previous
``trials.csv``; the workflow's error handler removes the tables and figures made from
it, so that ``results/`` never shows them as current.)
"""

from __future__ import annotations

import csv
import heapq
import json
import math
import os
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from operator import itemgetter
from pathlib import Path

from simstudy.hints import redo_command, replay_command, trial_failure
from simstudy.integrity import atomic_write, file_sha256
from simstudy.layout import Chunk, group_key, group_methods, parse_chunk_path
from simstudy.tables import (
    KEY_COLUMNS,
    STATUS_ERROR,
    STATUS_OK,
    TRAILING_COLUMNS,
    manifest_seeds,
    trial_columns,
)


class MergeError(ValueError):
    """A chunk file is missing, duplicated, truncated, unreadable or inconsistent."""


def _check_record(chunk: Chunk, path: str, spec: str) -> None:
    """Check a chunk file against the record its job wrote beside it."""
    record_path = Path(path).with_suffix(".json")
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
        recorded = (record["sha256"], record["spec"], list(record["trials"]))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise MergeError(
            f"{record_path}: the chunk record is missing, corrupt or from an older version "
            f"({type(error).__name__}: {error}). Redo the chunk: {redo_command(path)}"
        ) from None
    if recorded[0] != file_sha256(path):
        raise MergeError(
            f"{path}: the file's SHA-256 is not the one its job recorded in {record_path}: "
            f"it was changed after it was written. Redo the chunk: {redo_command(path)}"
        )
    if recorded[1] != spec or recorded[2] != [chunk.start, chunk.stop]:
        raise MergeError(
            f"{path}: its record says it holds trials {recorded[2]} of spec {recorded[1]}, "
            f"but the study needs trials {[chunk.start, chunk.stop]} of spec {spec}. Redo "
            f"the chunk: {redo_command(path)}"
        )


#: The trials a study keeps: one number for every scenario, or scenario -> number.
Kept = int | Mapping[str, int]


def _kept(n_trials: Kept, scenario: str) -> int:
    if isinstance(n_trials, int):
        return n_trials
    if scenario not in n_trials:
        raise MergeError(f"scenario {scenario!r} has chunks but no number of trials to keep")
    return n_trials[scenario]


def _plan(
    paths: Sequence[str | os.PathLike[str]], n_trials: Kept, specs: Mapping[str, str]
) -> dict[str, list[list[tuple[Chunk, str]]]]:
    """Group chunk files by scenario and method group, and check that they tile the trials.

    Returns, for each scenario in sorted order, one list of chunks per method group,
    ordered by trial range. The groups must be exactly those of ``specs``.
    """
    by_group: dict[tuple[str, str], list[tuple[Chunk, str]]] = defaultdict(list)
    seen: dict[str, str] = {}
    for raw in paths:
        path = os.fspath(raw)
        key = os.path.normpath(path)
        if key in seen:
            raise MergeError(f"{path}: chunk file is listed twice")
        seen[key] = path
        try:
            chunk = parse_chunk_path(path)
        except ValueError as error:
            raise MergeError(str(error)) from None
        if not os.path.isfile(path):
            raise MergeError(f"{path}: chunk file is missing")
        by_group[(chunk.scenario, chunk.group)].append((chunk, path))
    found = {group_key(*key) for key in by_group}
    if found != set(specs):
        missing, unexpected = sorted(set(specs) - found), sorted(found - set(specs))
        raise MergeError(
            f"the chunks do not hold the study as configured: scenario/method groups "
            f"without chunks: {missing or 'none'}; chunks of groups not in the study: "
            f"{unexpected or 'none'}"
        )

    plan: dict[str, list[list[tuple[Chunk, str]]]] = defaultdict(list)
    methods_seen: dict[tuple[str, str], str] = {}
    for (scenario, group), entries in sorted(by_group.items()):
        entries.sort(key=lambda entry: entry[0].start)
        expected_start = 0
        kept = _kept(n_trials, scenario)
        for chunk, path in entries:
            if expected_start >= kept:
                raise MergeError(f"{path}: chunk is not needed, trials stop at {kept}")
            if chunk.start < expected_start:
                raise MergeError(
                    f"{path}: chunk overlaps an earlier chunk of {scenario}/{group}, which "
                    f"already holds trials up to {expected_start - 1} (duplicated chunk)"
                )
            if chunk.start > expected_start:
                missing = Chunk(scenario, group, expected_start, chunk.start)
                raise MergeError(
                    f"{missing.path(Path(path).parent.parent.parent)}: trials "
                    f"{expected_start}-{chunk.start - 1} of {scenario}/{group} are missing"
                )
            expected_start = chunk.stop
        if expected_start < kept:
            directory = Path(entries[-1][1]).parent
            raise MergeError(
                f"{directory}/{expected_start}-*.csv: trials {expected_start}-{kept - 1} "
                f"of {scenario}/{group} are in no chunk file (missing chunk)"
            )
        for method in group_methods(group):
            if (scenario, method) in methods_seen:
                raise MergeError(
                    f"{entries[0][1]}: method {method!r} of scenario {scenario!r} is also in "
                    f"group {methods_seen[(scenario, method)]!r} (duplicated chunk)"
                )
            methods_seen[(scenario, method)] = group
        plan[scenario].append(entries)
    return dict(sorted(plan.items()))


def _read_chunk(
    chunk: Chunk,
    path: str,
    columns: list[str],
    n_trials: int,
    spec: str,
    method_values: Mapping[str, Sequence[str]] | None = None,
) -> Iterator[tuple[tuple[int, str], list[str]]]:
    """Yield ``((trial, method), cells)`` for the rows of one chunk file below ``n_trials``.

    The file is first checked against its record, then every row as it is read,
    including the rows past ``n_trials``.
    """
    _check_record(chunk, path, spec)
    value_columns = columns[len(KEY_COLUMNS) : -len(TRAILING_COLUMNS)]
    # Method -> the group's columns it fills (every one, unless told otherwise).
    methods = {
        method: value_columns
        if method_values is None or method not in method_values
        else [column for column in value_columns if column in method_values[method]]
        for method in group_methods(chunk.group)
    }
    expected_rows = (chunk.stop - chunk.start) * len(methods)
    try:
        text_ends_cleanly = _ends_with_newline(path)
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header != columns:
                raise MergeError(f"{path}: header {header!r} is not {columns!r}")
            previous: tuple[int, str] | None = None
            count = 0
            for cells in reader:
                count += 1
                if len(cells) != len(columns):
                    raise MergeError(
                        f"{path}: line {count + 1} has {len(cells)} fields, expected "
                        f"{len(columns)} (truncated or corrupt chunk). Redo the chunk: "
                        f"{redo_command(path)}"
                    )
                row = dict(zip(columns, cells, strict=True))
                key = _check_row(row, chunk, methods, value_columns, path, count + 1)
                if row["spec"] != spec:
                    raise MergeError(
                        f"{path}: line {count + 1} names spec {row['spec']!r}, not the study's "
                        f"{spec!r} for {chunk.scenario}/{chunk.group}. Redo the chunk: "
                        f"{redo_command(path)}"
                    )
                if previous is not None and key <= previous:
                    raise MergeError(
                        f"{path}: line {count + 1} (trial {key[0]}, method {key[1]}) is a "
                        f"duplicate or out of order"
                    )
                previous = key
                if key[0] < n_trials:
                    yield key, cells
            if count != expected_rows or not text_ends_cleanly:
                raise MergeError(
                    f"{path}: holds {count} rows, expected {expected_rows} "
                    f"({chunk.stop - chunk.start} trials x {len(methods)} methods); "
                    f"the chunk is truncated. Redo the chunk: {redo_command(path)}"
                )
    except (UnicodeDecodeError, csv.Error, OSError) as error:
        raise MergeError(f"{path}: chunk file is unreadable: {error}") from None


def _ends_with_newline(path: str) -> bool:
    with open(path, "rb") as handle:
        if handle.seek(0, os.SEEK_END) == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def _check_row(
    row: dict[str, str],
    chunk: Chunk,
    methods: Mapping[str, list[str]],
    value_columns: list[str],
    path: str,
    line: int,
) -> tuple[int, str]:
    where = f"{path}: line {line}"
    if row["scenario"] != chunk.scenario:
        raise MergeError(f"{where}: scenario {row['scenario']!r} is not {chunk.scenario!r}")
    if row["method"] not in methods:
        raise MergeError(f"{where}: method {row['method']!r} is not in group {chunk.group!r}")
    try:
        trial = int(row["trial"])
    except ValueError:
        raise MergeError(f"{where}: trial {row['trial']!r} is not an integer") from None
    if not chunk.start <= trial < chunk.stop:
        raise MergeError(
            f"{where}: trial {trial} is outside the chunk's range {chunk.start}-{chunk.stop - 1}"
        )
    status = row["status"]
    if status not in (STATUS_OK, STATUS_ERROR):
        raise MergeError(f"{where}: status {status!r} is not 'ok' or 'error'")
    filled = methods[row["method"]]
    for column in value_columns:
        text = row[column]
        if status == STATUS_OK and column in filled:
            try:
                value = float(text)
            except ValueError:
                raise MergeError(f"{where}: {column} {text!r} is not a number") from None
            if math.isnan(value):
                raise MergeError(f"{where}: {column} is NaN in a row with status 'ok'")
        elif text and status != STATUS_OK:
            raise MergeError(f"{where}: {column} {text!r} is set in a failed trial's row")
        elif text:
            raise MergeError(
                f"{where}: {column} {text!r} is set, but method {row['method']!r} does not "
                f"give {column}"
            )
    count = row["n_warnings"]
    if not (count.isascii() and count.isdigit()) or (count == "0") != (row["warning"] == ""):
        raise MergeError(
            f"{where}: n_warnings {count!r} with warning {row['warning']!r}: the count must "
            f"be a whole number, and the warning empty exactly when the count is 0"
        )
    return trial, row["method"]


def _manifest_seeds(path: str | os.PathLike[str]) -> Iterator[str]:
    """Yield the manifest's seeds as text, in trial order (see :func:`manifest_seeds`)."""
    try:
        yield from manifest_seeds(path)
    except ValueError as error:
        raise MergeError(str(error)) from None


def merged_rows(
    chunk_paths: Sequence[str | os.PathLike[str]],
    *,
    n_trials: Kept,
    values: Sequence[str],
    specs: Mapping[str, str],
    group_values: Mapping[str, Sequence[str]] | None = None,
    method_values: Mapping[str, Sequence[str]] | None = None,
) -> Iterator[tuple[str, int, str, list[str], str]]:
    """Yield the rows of chunk files in the order of ``trials.csv``, checking each file.

    Every check of :func:`merge_trials` but the manifest's is made here.

    Parameters
    ----------
    chunk_paths, values, specs, group_values, method_values
        As for :func:`merge_trials`.
    n_trials
        The trials kept: one number, or scenario -> number.

    Yields
    ------
    tuple
        ``(scenario, trial, method, cells, path)``: the row's cells as written, in the
        columns of ``trials.csv`` (a value the row's method does not give is empty), and
        the chunk file it came from; sorted by scenario, trial and method.

    Raises
    ------
    MergeError
        Naming the chunk file at fault.
    """
    columns = trial_columns(values)
    plan = _plan(chunk_paths, n_trials, specs)
    for scenario, groups in plan.items():
        kept = _kept(n_trials, scenario)
        streams = [
            _concat(group, columns, kept, specs, group_values, method_values) for group in groups
        ]
        for (trial, method), cells, path in heapq.merge(*streams, key=itemgetter(0)):
            yield scenario, trial, method, cells, path


def merge_trials(
    chunk_paths: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    manifest: str | os.PathLike[str],
    n_trials: Kept,
    values: Sequence[str],
    specs: Mapping[str, str],
    group_values: Mapping[str, Sequence[str]] | None = None,
    method_values: Mapping[str, Sequence[str]] | None = None,
    on_error: str = "raise",
) -> int:
    """Merge chunk files into ``output``, sorted by scenario, trial and method.

    Parameters
    ----------
    chunk_paths
        Chunk files named ``<scenario>/<group>/<start>-<stop>.csv``, each with the JSON
        record its job wrote beside it (same name, ``.json``). Together they must hold
        trials ``0 .. n_trials - 1`` of every scenario and method group of ``specs``
        exactly once (rows at or past ``n_trials`` are checked, then left out).
    output
        Where to write the merged table; it is written only if the merge succeeds.
    manifest
        The seed manifest; every row's seed must match it.
    n_trials
        Number of trials the study keeps: one for every scenario, or scenario -> number
        (a precision-driven study, see :mod:`simstudy.stopping`).
    values
        The value columns of ``trials.csv``, in order.
    specs
        ``"<scenario>/<group>"`` (:func:`simstudy.layout.group_key`) -> the digest of
        the spec that scenario's method group runs with in the study as configured now.
    group_values
        ``"<scenario>/<group>"`` -> the value columns that group's chunk files have, in
        order (a method gives only its own values); by default every group has
        ``values``.
    method_values
        Method name -> the values it gives: a row with status ``ok`` must have a number
        in each of its method's columns and nothing in the group's other columns (a
        group of several methods, see :func:`simstudy.layout.method_groups`). By
        default every method gives every column of its group.
    on_error
        ``"raise"`` refuses chunks that recorded failed trials; ``"record"`` keeps them.

    Returns
    -------
    int
        The number of rows written.

    Raises
    ------
    MergeError
        Naming the chunk file at fault.
    """
    columns = trial_columns(values)
    status_column = columns.index("status")
    seed_column = columns.index("seed")
    rows = merged_rows(
        chunk_paths,
        n_trials=n_trials,
        values=values,
        specs=specs,
        group_values=group_values,
        method_values=method_values,
    )
    written = 0
    current = None
    with atomic_write(output) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for scenario, trial, method, cells, path in rows:
            if scenario != current:
                current = scenario
                seeds = _manifest_seeds(manifest)
                seed_trial, seed_text = -1, ""
            while seed_trial < trial:
                seed_text = next(seeds, None)
                seed_trial += 1
                if seed_text is None:
                    raise MergeError(f"{manifest}: has no seed for trial {trial}")
            if cells[seed_column] != seed_text:
                raise MergeError(
                    f"{path}: trial {trial} has seed {cells[seed_column]}, but the "
                    f"manifest {manifest} gives {seed_text}. The chunk matches the "
                    f"checksum its job recorded, so the manifest is what changed: remove "
                    f"{manifest}, then run snakemake again as before (it rebuilds it)"
                )
            if on_error == "raise" and cells[status_column] == STATUS_ERROR:
                failure = trial_failure(
                    scenario, trial, method, seed_text, cells[columns.index("error")]
                )
                raise MergeError(
                    f"{path}: {failure}. "
                    f"It was recorded under on_error: record; with on_error: raise the "
                    f"study stops here. Replay it with: "
                    f"{replay_command(scenario, trial, method)}"
                )
            writer.writerow(cells)
            written += 1
    return written


def _concat(
    group: list[tuple[Chunk, str]],
    columns: list[str],
    n_trials: int,
    specs: Mapping[str, str],
    group_values: Mapping[str, Sequence[str]] | None,
    method_values: Mapping[str, Sequence[str]] | None,
) -> Iterator[tuple[tuple[int, str], list[str], str]]:
    for chunk, path in group:
        key = group_key(chunk.scenario, chunk.group)
        own = columns if group_values is None else trial_columns(group_values[key])
        read = _read_chunk(chunk, path, own, n_trials, specs[key], method_values)
        if own == columns:
            for row_key, cells in read:
                yield row_key, cells, path
            continue
        where = [own.index(column) if column in own else None for column in columns]
        for row_key, cells in read:
            yield row_key, ["" if i is None else cells[i] for i in where], path
