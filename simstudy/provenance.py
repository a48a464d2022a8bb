"""Record what produced a study's results: versions, config, threads, machines, commit.

Each chunk job writes a record beside its rows (:func:`chunk_record`); the provenance
rule gathers them with the resolved config into ``provenance.json``
(:func:`study_record`).
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from simstudy.integrity import atomic_write, file_sha256
from simstudy.spec import canonical_json, config_digest, json_safe

#: Environment variables that set thread counts in BLAS, OpenMP and friends.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

#: Distributions whose versions can change results.
TRACKED_PACKAGES = ("numpy", "scikit-learn", "scipy", "joblib", "pandas", "threadpoolctl")


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages that can change results.

    Returns
    -------
    dict of str to str
        ``"python"`` and each of :data:`TRACKED_PACKAGES` -> its version, or
        ``"not installed"``.
    """
    versions = {"python": platform.python_version()}
    for package in TRACKED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def thread_settings() -> dict[str, str | None]:
    """The thread-count environment variables as this process sees them.

    Returns
    -------
    dict
        Each of :data:`THREAD_VARIABLES` -> its value, or None if it is not set.
    """
    return {name: os.environ.get(name) for name in THREAD_VARIABLES}


def git_commit(directory: str | os.PathLike[str] = ".") -> str | None:
    """The commit checked out in ``directory`` (with ``-dirty`` if changed), or None.

    Parameters
    ----------
    directory
        A directory inside the git checkout.

    Returns
    -------
    str or None
        What ``git describe --always --dirty --abbrev=40`` prints: the full commit hash,
        after the nearest tag's name if the history has one (``v1.0-3-g<hash>``). None if
        git is missing, fails (not a checkout) or takes over 10 seconds.
    """
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=40"],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return commit or None


def job_context() -> dict[str, Any]:
    """Where and how this job runs: host, process, Slurm job id if any, threads.

    Returns
    -------
    dict
        ``host``, ``pid``, ``slurm_job_id`` and ``slurm_array_task_id`` (None outside
        Slurm), ``python_executable`` and ``thread_settings`` (:func:`thread_settings`).
    """
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "slurm_array_task_id": os.environ.get("SLURM_ARRAY_TASK_ID"),
        "python_executable": sys.executable,
        "thread_settings": thread_settings(),
    }


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON, atomically.

    Non-finite floats are written as tagged mappings (see :func:`simstudy.spec.json_safe`).

    Parameters
    ----------
    path
        The file to write.
    data
        The JSON-serialisable value to write.
    """
    with atomic_write(path) as handle:
        json.dump(json_safe(data), handle, indent=2, sort_keys=False, allow_nan=False)
        handle.write("\n")


def chunk_record(
    spec: Any,
    start: int,
    stop: int,
    *,
    n_jobs: int,
    started: float,
    rows: int,
    rows_path: str | os.PathLike[str],
) -> dict[str, Any]:
    """What a chunk job records next to its rows: spec, range, checksum, timing, versions.

    ``sha256`` is the checksum of the chunk's CSV file at ``rows_path``; the merge
    refuses a chunk whose file no longer has it.

    Parameters
    ----------
    spec
        The chunk's :class:`~simstudy.spec.TrialSpec`.
    start, stop
        The half-open range of trials the chunk ran.
    n_jobs
        The job's threads, given to :func:`simstudy.trials.run_chunk`; the record also
        gives the number of workers that makes (no more than the trials).
    started
        When the job started its trials, as :func:`time.time`; the record is taken as
        finished now.
    rows
        The number of rows written.
    rows_path
        The chunk's CSV file, which must be complete.

    Returns
    -------
    dict
        The record, JSON-serialisable (see :func:`write_json`).
    """
    finished = time.time()
    return {
        "spec": spec.digest,
        "scenario": spec.scenario.name,
        "methods": list(spec.method_names),
        "trials": [start, stop],
        "rows": rows,
        "sha256": file_sha256(rows_path),
        "n_jobs": n_jobs,
        "workers": max(1, min(n_jobs, stop - start)),
        "inner_threads_per_worker": 1,
        "started": _timestamp(started),
        "finished": _timestamp(finished),
        "seconds": round(finished - started, 3),
        "job": job_context(),
        "versions": package_versions(),
    }


def study_record(
    config: Mapping[str, Any],
    *,
    specs: Mapping[str, Any],
    chunk_records: Sequence[str | os.PathLike[str]],
    source_dir: str | os.PathLike[str],
) -> dict[str, Any]:
    """Everything ``provenance.json`` holds about a finished study.

    Parameters
    ----------
    config
        The resolved study config.
    specs
        Spec digest -> spec, for every spec the study ran; the ``spec`` column of
        ``trials.csv`` holds these digests.
    chunk_records
        The JSON records the chunk jobs wrote.
    source_dir
        The workflow's directory, whose git commit is recorded.

    Returns
    -------
    dict
        The record: creation time, config digest and the config, seeding, versions (of
        this process, and whether all chunks had the same), thread settings, specs, git
        commit, and each chunk's record with its file name.
    """
    chunks = []
    for path in chunk_records:
        with open(path, encoding="utf-8") as handle:
            chunks.append({"file": os.fspath(path), **json.load(handle)})
    chunk_versions = {canonical_json(chunk["versions"]) for chunk in chunks}
    return {
        "created": _timestamp(time.time()),
        "config_sha256": config_digest(config),
        "seeding": config["seeding"],
        "seed": config["seed"],
        "n_trials": config["n_trials"],
        "git_commit": git_commit(source_dir),
        "versions": package_versions(),
        "chunk_versions_consistent": len(chunk_versions) <= 1,
        "threads": {
            "inner_threads_per_worker": 1,
            "n_jobs_per_chunk": sorted({chunk["n_jobs"] for chunk in chunks}),
            "environment_of_merge_job": thread_settings(),
        },
        "specs": dict(specs),
        "config": dict(config),
        "chunks": chunks,
    }


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="seconds")
