"""Shared fixtures: tiny study configs and a runner for the real snakemake command."""

from __future__ import annotations

import copy
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")

#: Chunk jobs with one worker each, so that two run side by side on two cores. Starting
#: joblib workers costs seconds, far more than a tiny chunk's trials; tests that are
#: about parallel workers (determinism, pinning) use the default threads.
ONE_WORKER = ("--set-threads", "run_chunk=1")

#: What rule plot_figures draws for the default study (and any clustering study scored by
#: ``ari`` only): the figures a change must keep. The catalog (simstudy/catalog.py) is the
#: workflow's only list; a new kind of figure that such a study gets is added here too.
DEFAULT_FIGURES = (
    "example_data",
    "example_clusterings",
    "ari_difference",
    "difference_by_scenario",
    "paired_scatter",
)

#: A study small enough to run end to end in seconds: fewer points, fewer restarts.
TINY_CONFIG = {
    "seed": 20240501,
    "n_trials": 7,
    "chunk_size": 3,
    "seeding": "spawn",
    "scenarios": {
        "aniso": {
            "params": {
                "n_samples": 60,
                "centers": 3,
                "cluster_std": 2.5,
                "transformation": [[0.6, -0.6], [-0.4, 0.8]],
            }
        }
    },
    "methods": {
        "gmm": {
            "estimator": "sklearn.mixture.GaussianMixture",
            "params": {"n_components": 3, "covariance_type": "full", "n_init": 2},
            "label": "GMM",
        },
        "kmeans": {
            "estimator": "sklearn.cluster.KMeans",
            "params": {"n_clusters": 3, "n_init": 2},
            "label": "KMeans",
        },
    },
    "metrics": ["ari"],
    "comparison": ["gmm", "kmeans"],
}


@pytest.fixture
def tiny_config() -> dict:
    """A fresh copy of the tiny study config, for a test to edit."""
    return copy.deepcopy(TINY_CONFIG)


def write_config(path: Path, config: dict) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def snakemake(
    workdir: Path,
    *args: str,
    config: dict | None = None,
    check: bool = True,
    timeout: int = 900,
    env: dict[str, str] | None = None,
    own_process: bool = False,
) -> subprocess.CompletedProcess:
    """Run the real snakemake command on this repository's workflow inside ``workdir``.

    ``workdir`` is laid out as a user's checkout is: it holds ``config/config.yaml`` (a
    copy of the shipped default study) whether or not the test gives its own study.
    ``config``, if given, is written to ``workdir/study.yaml`` and passed with
    ``--configfile``; ``env`` adds environment variables. Output is captured; with
    ``check`` a non-zero exit fails the test and shows what snakemake printed. Commands
    run through this test process's :class:`SnakemakeServer`, or with ``own_process``
    as a process of their own.
    """
    default_study = workdir / "config" / "config.yaml"
    if not default_study.exists():
        default_study.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / "config" / "config.yaml", default_study)
    command = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir)]
    command += list(args)
    if config is not None:  # last: --configfile takes every value up to the next option
        command += ["--configfile", str(write_config(workdir / "study.yaml", config))]
    result = run_snakemake(command, workdir, {**os.environ, **(env or {})}, timeout, own_process)
    if check and result.returncode != 0:
        pytest.fail(
            f"snakemake failed ({result.returncode}): {' '.join(command)}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
        )
    return result


class SnakemakeServer:
    """This test process's server of snakemake commands (see tests/snakemake_server.py).

    Each command runs in a forked copy of a process that has imported Snakemake, which
    saves about a second of start-up per command; arguments, working folder and
    environment are the command's own. Tests that need the command as a process of
    their own (to kill it, or run it in the background) start the executable instead.
    """

    def __init__(self) -> None:
        # Snakemake finds executor plugins when it is imported: without PYTHONPATH, the
        # server sees only those installed in the environment (none, under .ci/run).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "snakemake_server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            bufsize=0,
        )
        self._pending = b""

    def _answer(self, timeout: float | None) -> dict | None:
        """The server's next answer line; None if none came within ``timeout`` seconds."""
        import select

        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\n" not in self._pending:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.process.stdout], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.process.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError("the snakemake server ended")
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return json.loads(line)

    def run(self, command, cwd: Path, env: dict, timeout: float):
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            out, err = Path(folder, "stdout"), Path(folder, "stderr")
            request = {"argv": command[1:], "cwd": str(cwd), "env": env}
            request.update(stdout=str(out), stderr=str(err))
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            pid = self._answer(None)["pid"]
            answer = self._answer(timeout)
            if answer is None:
                os.kill(pid, signal.SIGKILL)  # not yet reaped: the server waits for it
                self._answer(None)
                raise subprocess.TimeoutExpired(command, timeout)
            return subprocess.CompletedProcess(
                command,
                answer["returncode"],
                out.read_text(errors="replace"),
                err.read_text(errors="replace"),
            )


_server: SnakemakeServer | None = None


def run_snakemake(command, cwd: Path, env: dict, timeout: float, own_process: bool = False):
    """Run a snakemake command line, as :func:`subprocess.run` with output captured.

    With ``own_process``, the executable itself runs, in a process of its own.
    """
    if own_process:
        return subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env
        )
    global _server
    if _server is None or _server.process.poll() is not None:
        _server = SnakemakeServer()
    return _server.run(command, cwd, env, timeout)


def replay(workdir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m simstudy replay ARGS`` in ``workdir``; ``env`` adds variables."""
    return subprocess.run(
        [sys.executable, "-m", "simstudy", "replay", *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def planned_jobs(
    workdir: Path, *args: str, config: dict | None = None, env: dict[str, str] | None = None
) -> dict[str, int]:
    """Rule name -> number of jobs that a dry run of snakemake plans."""
    result = snakemake(workdir, "--dry-run", "--quiet", "rules", *args, config=config, env=env)
    counts: dict[str, int] = {}
    in_table = False
    for line in result.stdout.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            in_table = True
            continue
        if in_table and len(parts) == 2 and parts[1].isdigit():
            if parts[0] != "total":
                counts[parts[0]] = int(parts[1])
        elif in_table and parts and not set(line.strip()) <= {"-", " "}:
            in_table = False
    return counts


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    """Pin BLAS/OpenMP to one thread in the test process, as the workflow's workers are."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


@pytest.fixture(autouse=True)
def close_figures():
    """Close the pyplot figures a test drew: tests that catch figures before plots.save
    (which closes them) would otherwise keep dozens open in one test process."""
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


def finished_config(seeding: str) -> dict:
    """The shared finished study: 7 trials in chunks of 4; under spawn, two scenarios."""
    config = copy.deepcopy(TINY_CONFIG)
    config.update(seeding=seeding, n_trials=7, chunk_size=4)
    if seeding == "spawn":  # a second scenario, to show that edits stay within one
        config["scenarios"]["round"] = {
            "params": {"n_samples": 60, "cluster_std": 1.5, "transformation": [[1, 0], [0, 1]]}
        }
    return config


@pytest.fixture(scope="session")
def finished_study(tmp_path_factory):
    """``finished_study(seeding)``: the folder of a finished run of :func:`finished_config`.

    Each scheme runs once per test session (see :func:`run_once`). Tests must not
    change the folder; copy it with :func:`fresh_copy` first (copies keep mtimes and
    Snakemake's metadata, so a copy is up to date too).
    """

    def get(seeding: str) -> Path:
        return run_once(
            tmp_path_factory,
            f"finished-{seeding}",
            lambda workdir: snakemake(
                workdir, "--cores", "2", *ONE_WORKER, config=finished_config(seeding)
            ),
        )

    return get


def shared_folder(tmp_path_factory) -> Path:
    """The temporary folder that every test process of this session shares."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def session_lock(tmp_path_factory, name: str):
    """Hold the session-wide lock ``name``: one test process at a time gets past it."""
    with open(shared_folder(tmp_path_factory) / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def run_once(tmp_path_factory, name: str, build) -> Path:
    """The folder ``name``, made by ``build(folder)`` once per test session.

    pytest-xdist runs the tests in several processes (``make test``); the first one that
    needs the folder builds it, under a lock, and the others wait for it and use it too.
    """
    folder = shared_folder(tmp_path_factory) / name
    with session_lock(tmp_path_factory, name):
        if not (folder / ".built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    return folder


def png_pixels(path: Path):
    """Decode a PNG file: fails unless it is one, holding more than a few colours.

    Returns the pixels, rows x columns x channels, so that a test can check the size.
    """
    import matplotlib.image
    import numpy as np

    pixels = matplotlib.image.imread(path, format="png")
    channels = np.round(pixels * 255).astype(np.uint32).reshape(-1, pixels.shape[-1])
    packed = sum(channels[:, i] << (8 * i) for i in range(channels.shape[1]))
    colours = len(np.unique(packed))
    assert colours > 8, f"{path} is close to blank: {colours} colours"
    return pixels


def fresh_copy(source: Path, tmp_path: Path) -> Path:
    workdir = tmp_path / "study"
    shutil.copytree(source, workdir, symlinks=True)
    return workdir


def forget_code_digests() -> None:
    """Forget what simstudy.digests found: module files and trees are cached per process."""
    from simstudy import digests

    for function in (
        digests.installed_version,
        digests.module_file,
        digests._source_facts,
        digests._imports,
        digests.module_closure,
    ):
        function.cache_clear()


def pytest_collection_modifyitems(config, items):
    """Run the longest tests first: Slurm (one at a time), then end to end and slow, then
    the rest.

    With several test processes (``make test``), a long test that starts last keeps the
    others waiting at the end; started first, it runs while they share out the rest.
    """

    def rank(item) -> int:
        if item.get_closest_marker("slurm"):
            return 0
        return 1 if item.get_closest_marker("e2e") or item.get_closest_marker("slow") else 2

    items.sort(key=rank)
