"""Files written whole, with a record of their SHA-256, and checked against it when read.

Files are written under a temporary name and renamed into place, so a crash never leaves
a half-written file behind (:func:`atomic_write`).

Every file written so also gets a record of its SHA-256, a hidden file beside it
(``results/.trials.csv.sha256`` for ``results/trials.csv``, in the format of
``sha256sum``), written before the file is renamed into place. A rule checks the files
it reads against their records first (:func:`checked_inputs`), so a table that was
edited by hand or by another program after the workflow wrote it stops the rule, naming
the file and how to remake it, before anything is made from it. The record lives apart
from the file, so the file's bytes are exactly what the writer wrote. It guards against
accidents, not against someone who rewrites the record too.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from simstudy.tables import MANIFEST_COLUMNS, write_rows


def _process_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: Permissions of every written file: what ``open`` would give under this process's
#: umask (``tempfile.mkstemp`` alone would make results readable by their owner only).
FILE_MODE = 0o666 & ~_process_umask()


@contextmanager
def atomic_write(
    path: str | os.PathLike[str], *, binary: bool = False, record: bool = True
) -> Iterator[IO[Any]]:
    """Open a file that appears at ``path`` only once it is complete, with its record.

    The content goes to a temporary file in the same directory, which is flushed,
    synced and renamed over ``path`` when the block ends without error; on error it is
    removed and ``path`` is left as it was. Text files are UTF-8 with ``\\n`` line ends.
    Just before the rename, the SHA-256 of the new content is written (atomically too) to
    the file's record, :func:`record_path`, so that whenever the new file is in place its
    record is too. (A crash between the two leaves the old file with the new record,
    which a reader refuses, as it should: the job did not finish.)

    Parameters
    ----------
    path
        The file to write; missing parent directories are made.
    binary
        Open the file in binary mode instead of text mode.
    record
        Write the record of the file's SHA-256 (see :func:`checked_inputs`).

    Yields
    ------
    file object
        The open temporary file, with permissions :data:`FILE_MODE`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    options = {"mode": "wb"} if binary else {"mode": "w", "newline": "", "encoding": "utf-8"}
    try:
        os.chmod(descriptor, FILE_MODE)
        with os.fdopen(descriptor, **options) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if record:
            with atomic_write(record_path(path), record=False) as record_handle:
                record_handle.write(f"{file_sha256(temporary)}  {path.name}\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the SHA-256 of the file at ``path`` as 64 hex digits.

    Parameters
    ----------
    path
        The file, read in blocks of 1 MiB.

    Returns
    -------
    str
        The hex digest.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


#: Where :func:`atomic_write` keeps a file's record: ``.<name>`` plus this, beside it.
RECORD_SUFFIX = ".sha256"

#: Inputs that rules do not check against a record: the settings files, which the
#: workflow writes while it plans and no job reads, and the chunk files, which the merge
#: checks against the SHA-256 in the JSON record their job wrote beside them.
UNRECORDED_INPUTS = frozenset({"settings", "chunks"})

_RECORD_LINE = re.compile(r"(?P<digest>[0-9a-f]{64})  (?P<name>.+)\n")


class ChangedFileError(ValueError):
    """A file that the workflow wrote no longer matches the SHA-256 recorded for it."""


def record_path(path: str | os.PathLike[str]) -> Path:
    """The record of the SHA-256 that :func:`atomic_write` keeps for ``path``.

    Parameters
    ----------
    path
        A file.

    Returns
    -------
    pathlib.Path
        The hidden file ``.<name>.sha256`` in the same directory. It holds one line as
        ``sha256sum`` writes it (``<hex digest>  <name>``), so ``sha256sum -c`` run in
        that directory checks the file too.
    """
    path = Path(path)
    return path.with_name(f".{path.name}{RECORD_SUFFIX}")


def _unrecorded_change(path: str) -> str | None:
    """Why ``path`` does not match its record, or None when it does."""
    digest = file_sha256(path)  # first: a missing file is FileNotFoundError, as usual
    record = record_path(path)
    try:
        match = _RECORD_LINE.fullmatch(record.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return (
            f"{path} has no record of the SHA-256 it was written with ({record} is "
            f"missing): it was written by another program, or before the workflow kept "
            f"such records"
        )
    except (OSError, UnicodeDecodeError) as error:
        return f"{path}: its record {record} is unreadable ({type(error).__name__}: {error})"
    if match is None or match["name"] != Path(path).name:
        return f"{path}: its record {record} is not a SHA-256 record of it"
    if digest != match["digest"]:
        return (
            f"{path} changed after the workflow wrote it (edited by hand or by another "
            f"program): its SHA-256 is not the one recorded in {record}"
        )
    return None


def verify_recorded(paths: Iterable[str | os.PathLike[str]]) -> None:
    """Check that files the workflow wrote still have the SHA-256 recorded for them.

    A rule calls this (through :func:`checked_inputs`) before it reads anything, so that
    no product is made from a file changed since it was written. A file without a record
    is refused too: a rule cannot tell where it came from.

    Parameters
    ----------
    paths
        The files, each written by :func:`atomic_write` (which wrote its record).

    Raises
    ------
    ChangedFileError
        Naming every file that does not match its record, or has none, and saying how to
        make it again: remove it, then run snakemake as before.
    FileNotFoundError
        If a file does not exist.
    """
    problems = {}
    for raw in paths:
        path = os.fspath(raw)
        problem = _unrecorded_change(path)
        if problem is not None:
            problems[path] = problem
    if not problems:
        return
    it = "it" if len(problems) == 1 else "them"
    raise ChangedFileError(
        f"{'; '.join(problems.values())}. Nothing was made from {it}. To make {it} again: "
        f"rm {' '.join(shlex.quote(path) for path in problems)}, then run snakemake again "
        f"as before (with the same --configfile and --config)"
    )


def checked_inputs(
    inputs: Mapping[str, str | os.PathLike[str] | Sequence[str | os.PathLike[str]]],
    *,
    skip: Iterable[str] = UNRECORDED_INPUTS,
) -> None:
    """Check a rule's named input files against their records before the rule reads them.

    Every rule script calls this first, with ``snakemake.input``.

    Parameters
    ----------
    inputs
        Input name -> file, or list of files (Snakemake's ``snakemake.input``).
    skip
        Input names not to check (see :data:`UNRECORDED_INPUTS`).

    Raises
    ------
    ChangedFileError
        As :func:`verify_recorded`.
    """
    skipped = set(skip)
    paths: list[str | os.PathLike[str]] = []
    for name, value in inputs.items():
        if name in skipped:
            continue
        paths += [value] if isinstance(value, str | os.PathLike) else list(value)
    verify_recorded(paths)


def write_if_changed(
    path: str | os.PathLike[str], text: str, *, create_only: bool = False
) -> bool:
    """Write ``text`` to ``path`` atomically unless the file already holds exactly it.

    The file's mtime then says when its content last changed. With ``create_only``, an
    existing file is left alone even if it differs.

    Parameters
    ----------
    path
        The file to write.
    text
        The content, written as UTF-8.
    create_only
        Only write the file if it does not exist yet.

    Returns
    -------
    bool
        Whether the file was written.
    """
    path = Path(path)
    if path.is_file() and (create_only or path.read_text(encoding="utf-8") == text):
        return False
    with atomic_write(path) as handle:
        handle.write(text)
    return True


def remove_stale_temporaries(root: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files that :func:`atomic_write` left under ``root``.

    Such files exist only while a write is in progress or after the writing process was
    killed; call this when no job is running. Every file under ``root`` named like them
    (``.*.tmp``) is removed.

    Parameters
    ----------
    root
        The directory to search, recursively.

    Returns
    -------
    list of pathlib.Path
        The removed files.
    """
    removed = []
    for path in Path(root).rglob(".*.tmp"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def write_table(
    path: str | os.PathLike[str], columns: Sequence[str], rows: Iterable[Mapping[str, Any]]
) -> int:
    """Write ``rows`` to the CSV file ``path`` atomically; return the row count.

    Parameters
    ----------
    path
        The file to write (see :func:`atomic_write`).
    columns, rows
        As for :func:`write_rows`.

    Returns
    -------
    int
        The number of rows written, the header not counted.
    """
    with atomic_write(path) as handle:
        return write_rows(handle, columns, rows)


def write_manifest(path: str | os.PathLike[str], seeds: Sequence[int]) -> int:
    """Write the seed manifest: one row per trial with its index and seed.

    Parameters
    ----------
    path
        The manifest file to write (atomically).
    seeds
        The seed of each trial, in trial order.

    Returns
    -------
    int
        The number of rows written (trials).
    """
    rows = ({"trial": trial, "seed": seed} for trial, seed in enumerate(seeds))
    return write_table(path, MANIFEST_COLUMNS, rows)
