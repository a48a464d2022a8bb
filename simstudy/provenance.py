"""Record what produced a study's results, and fingerprint the code each stage runs.

Snakemake reruns a ``script:`` job when the script file changes, but it does not see the
modules the script imports. :func:`source_digest` closes that gap: it hashes the code
of a module and of every ``simstudy`` module it imports, directly or not. The workflow
passes the digest as a rule param, so editing the trial code reruns the trials, while
editing only the plotting code reruns only the figures.
"""

from __future__ import annotations

import ast
import hashlib
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
from functools import cache
from pathlib import Path
from typing import Any

PACKAGE = "simstudy"
PACKAGE_DIR = Path(__file__).resolve().parent

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


def _module_path(module: str) -> Path:
    relative = module.removeprefix(f"{PACKAGE}.").replace(".", "/")
    path = PACKAGE_DIR / f"{relative}.py"
    if module == PACKAGE:
        path = PACKAGE_DIR / "__init__.py"
    if not path.is_file():
        raise ValueError(f"module {module!r} is not a module of the {PACKAGE} package")
    return path


@cache
def _syntax_tree(module: str) -> ast.Module:
    path = _module_path(module)
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@cache
def _code_fingerprint(module: str) -> bytes:
    """The module's syntax tree as text: what it does, without comments or layout."""
    return ast.dump(_syntax_tree(module), annotate_fields=True, include_attributes=False).encode()


@cache
def _imported_package_modules(module: str) -> frozenset[str]:
    found = set()
    for node in ast.walk(_syntax_tree(module)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name.split(".")[0] == PACKAGE:
                try:
                    _module_path(name)
                except ValueError:
                    continue  # an attribute such as simstudy.config.check_config
                found.add(name)
    return frozenset(found)


@cache
def module_closure(module: str) -> tuple[str, ...]:
    """Return ``module`` and every package module it imports, transitively, sorted."""
    seen: set[str] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending.extend(_imported_package_modules(name) - seen)
    return tuple(sorted(seen))


def source_digest(*modules: str) -> str:
    """SHA-256 (16 hex digits) of the code of ``modules`` and everything they import.

    The digest covers each module's syntax tree rather than its text, so comments and
    formatting do not count: reformatting the code or fixing a comment reruns nothing,
    while any change to what the code does (docstrings included) changes the digest.

    Parameters
    ----------
    modules
        Dotted names of ``simstudy`` modules, such as ``"simstudy.trials"``.
    """
    digest = hashlib.sha256()
    closure = sorted({name for module in modules for name in module_closure(module)})
    for name in closure:
        digest.update(name.encode())
        digest.update(b"\0")
        digest.update(_code_fingerprint(name))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def package_modules(dotted_paths: Sequence[str]) -> list[str]:
    """The ``simstudy`` modules among the modules of ``dotted_paths``.

    A study names its generators and estimators by dotted path, so the trial code never
    imports them by name; the digest of a chunk must still cover them when they live in
    this package (``simstudy.data.anisotropic_blobs`` -> ``simstudy.data``).
    """
    modules = {path.rpartition(".")[0] for path in dotted_paths}
    return sorted(m for m in modules if m == PACKAGE or m.startswith(f"{PACKAGE}."))


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages that can change results."""
    versions = {"python": platform.python_version()}
    for package in TRACKED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def thread_settings() -> dict[str, str | None]:
    """The thread-count environment variables as this process sees them."""
    return {name: os.environ.get(name) for name in THREAD_VARIABLES}


def git_commit(directory: str | os.PathLike[str] = ".") -> str | None:
    """The commit checked out in ``directory`` (with ``-dirty`` if changed), or None."""
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
    """Where and how this job runs: host, process, Slurm job id if any, threads."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
        "slurm_array_task_id": os.environ.get("SLURM_ARRAY_TASK_ID"),
        "python_executable": sys.executable,
        "thread_settings": thread_settings(),
    }


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    from simstudy.spec import json_safe
    from simstudy.tables import atomic_write

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
    """
    from simstudy.tables import file_sha256

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
    """
    from simstudy.config import config_digest

    chunks = []
    for path in chunk_records:
        with open(path, encoding="utf-8") as handle:
            chunks.append({"file": os.fspath(path), **json.load(handle)})
    chunk_versions = {canonical(chunk["versions"]) for chunk in chunks}
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


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat(timespec="seconds")
