"""End to end on a real Slurm cluster: chunk jobs go through sbatch, one Slurm job each.

These tests need the single-node cluster that `bash .ci/slurm.sh up` starts (partition
`debug`) and the Snakemake Slurm executor plugin; they run the workflow through
`profiles/slurm-test`. Without a usable cluster they are skipped, saying why, unless
SIMSTUDY_REQUIRE_SLURM=1 is set (as `.ci/run` does): then they fail, so CI cannot pass
with them silently skipped.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, SNAKEMAKE, session_lock, snakemake, write_config

pytestmark = [pytest.mark.slurm, pytest.mark.e2e]

PROFILE = REPO / "profiles" / "slurm-test"
PARTITION = "debug"  # the partition profiles/slurm-test submits to
REQUIRE_SLURM = os.environ.get("SIMSTUDY_REQUIRE_SLURM", "") not in ("", "0")
USABLE_NODE_STATES = {"idle", "mixed", "allocated", "completing"}

#: Where `.ci/run` keeps the Slurm executor plugin, outside .venv, so that only these
#: tests' snakemake commands load it (each command imports every installed executor
#: plugin). Unset when the plugin is installed in the environment itself.
PLUGIN_PATH = os.environ.get("SIMSTUDY_SLURM_PLUGIN_PATH")

#: "Job 3 has been submitted with SLURM jobid 29 (log: .../rule_run_chunk/aniso_gmm_0_3/29.log)."
SUBMITTED = re.compile(r"submitted with SLURM jobid (\d+) \(log: \S*/rule_([A-Za-z0-9_]+)/")


def slurm_unavailable() -> str | None:
    """Why the Slurm tests cannot run on this machine, or None if they can."""
    missing = [name for name in ("sbatch", "squeue", "scancel", "sinfo") if not shutil.which(name)]
    if missing:
        return f"no Slurm client on PATH ({', '.join(missing)} not found)"
    if PLUGIN_PATH:
        if not (Path(PLUGIN_PATH) / "snakemake_executor_plugin_slurm").is_dir():
            return f"SIMSTUDY_SLURM_PLUGIN_PATH {PLUGIN_PATH} holds no Slurm executor plugin"
    elif importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return "snakemake-executor-plugin-slurm is not installed in this environment"
    try:
        answer = subprocess.run(
            ["sinfo", "--noheader", "--partition", PARTITION, "--format", "%a %T"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        return "sinfo did not answer within 30 s"
    if answer.returncode != 0:
        return f"sinfo failed: {(answer.stderr or answer.stdout).strip()}"
    states = [line.split() for line in answer.stdout.splitlines() if line.strip()]
    if not states:
        return f"the cluster has no partition {PARTITION!r}"
    if not any(avail == "up" and state in USABLE_NODE_STATES for avail, state in states):
        found = ", ".join(" ".join(pair) for pair in states)
        return f"partition {PARTITION!r} has no usable node (availability, state: {found})"
    return None


@pytest.fixture
def slurm_cluster(tmp_path_factory, monkeypatch):
    """The test cluster, for one test at a time; it has one node with two CPUs.

    Puts :data:`PLUGIN_PATH` on the test's PYTHONPATH, which sbatch passes on to the
    jobs. Skips (or, under SIMSTUDY_REQUIRE_SLURM=1, fails) unless a Slurm cluster
    answers.
    """
    reason = slurm_unavailable()
    if reason is None:
        if PLUGIN_PATH:
            paths = [PLUGIN_PATH, os.environ.get("PYTHONPATH", "")]
            monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in paths if p))
        with session_lock(tmp_path_factory, "slurm-cluster"):
            yield
        return
    if REQUIRE_SLURM:
        pytest.fail(
            f"SIMSTUDY_REQUIRE_SLURM is set but the Slurm tests cannot run: {reason}",
            pytrace=False,
        )
    pytest.skip(f"needs a running Slurm cluster (bash .ci/slurm.sh up): {reason}")


def submitted_jobs(output: str) -> dict[str, str]:
    """Slurm job id -> rule, for every job that snakemake reports it submitted."""
    return {job_id: rule for job_id, rule in SUBMITTED.findall(output)}


class Background:
    """The real snakemake command, running in the background with its output in a file.

    As a context manager it makes sure nothing outlives the test: a run still going at
    the end is interrupted like Ctrl-C (snakemake then cancels its Slurm jobs), and any
    job it submitted is cancelled.
    """

    def __init__(self, workdir: Path, *args: str, config: dict):
        workdir.mkdir(exist_ok=True)
        self.command = [
            str(SNAKEMAKE),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            *args,
            "--configfile",
            str(write_config(workdir / "study.yaml", config)),
        ]
        self.log = workdir / "snakemake.out"
        self._sink = self.log.open("w")
        self.process = subprocess.Popen(
            self.command, cwd=workdir, stdout=self._sink, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        return self.log.read_text()

    def wait(self, timeout: float = 600) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"snakemake still running after {timeout} s:\n{self.output()[-6000:]}")

    def check(self) -> None:
        """Wait for the run; fail the test, showing its output, if it failed."""
        if returncode := self.wait():
            pytest.fail(
                f"snakemake failed ({returncode}): {' '.join(self.command)}\n"
                f"{self.output()[-6000:]}"
            )

    def __enter__(self) -> Background:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._sink.close()
        if jobs := submitted_jobs(self.output()):
            subprocess.run(["scancel", *jobs], capture_output=True)


def test_every_chunk_of_every_round_runs_as_its_own_slurm_job(
    slurm_cluster, tmp_path, tiny_config, monkeypatch
):
    # A plain function beside the two estimators: every kind of method runs the same.
    tiny_config["methods"]["meanx"] = {"function": "functions_for_tests.mean"}
    paths = [str(REPO / "tests"), os.environ.get("PYTHONPATH")]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, paths)))
    # A study that stops by precision, in two rounds: the checkpoints run locally, and
    # each round's chunks as Slurm jobs. In chunks of 3, the first round (4 trials) has
    # two chunks a method, one of them a single trial; the second (3 trials) has one.
    config = {**tiny_config, "n_trials": 4, "chunk_size": 3}
    config["stopping"] = {"half_width": 1e-9, "batch": 3, "max_trials": 7}
    compared = ("results/trials.csv", "results/stopping.csv")
    cluster_dir = tmp_path / "slurm"
    cluster_dir.mkdir()
    # The local reference run overlaps the cluster run, which mostly waits on Slurm.
    with Background(tmp_path / "local", "--cores", "2", *compared, config=config) as local:
        run = snakemake(
            cluster_dir,
            "--profile",
            str(PROFILE),
            *compared,
            "results/timings.csv",
            "results/provenance.json",
            config=config,
            own_process=True,  # the Slurm plugin is found at start-up, on PYTHONPATH
        )
        local.check()
    submitted = submitted_jobs(run.stdout + run.stderr)
    records = json.loads((cluster_dir / "results" / "provenance.json").read_text())["chunks"]
    job_ids = [record["job"]["slurm_job_id"] for record in records]

    rounds = (cluster_dir / "results" / "stopping.csv").read_text().splitlines()
    assert [line.split(",")[2] for line in rounds[1:]] == ["4", "7"]
    ranges = {tuple(record["trials"]) for record in records}
    assert ranges == {(0, 3), (3, 4), (4, 7)}
    assert len(records) == len(ranges) * len(config["methods"]) == 9
    assert None not in job_ids
    assert len(set(job_ids)) == len(records), f"chunks shared Slurm jobs: {job_ids}"
    # Each id is a job this run submitted, and only chunk jobs went to Slurm.
    assert set(job_ids) == set(submitted)
    assert set(submitted.values()) == {"run_chunk"}
    # set-threads run_chunk=1 in the profile reached the job: one joblib worker each.
    assert {record["n_jobs"] for record in records} == {1}

    for name in compared:
        expected = (tmp_path / "local" / name).read_bytes()
        assert (cluster_dir / name).read_bytes() == expected
    trials = (cluster_dir / "results" / "trials.csv").read_bytes()
    assert trials.splitlines()[0].startswith(b"scenario,trial,method,ari,estimate,")


def slow_gmm_config(config: dict) -> dict:
    """Two trials, one chunk per method; the GMM chunk computes for several seconds."""
    config["n_trials"] = 2
    config["chunk_size"] = 2
    config["scenarios"]["aniso"]["params"]["n_samples"] = 3000
    config["methods"]["gmm"]["params"]["n_init"] = 15  # about 2.5 s a trial here
    return config


def chunk_job_id(output: str, chunk: Path) -> str | None:
    """The Slurm job id that snakemake reports for ``chunk``'s job, once submitted."""
    # The plugin names a job's log folder after the rule and its wildcard values.
    start, stop = chunk.stem.split("-")
    folder = f"rule_run_chunk/{chunk.parent.parent.name}_{chunk.parent.name}_{start}_{stop}/"
    for job_id in submitted_jobs(output):
        if f"{folder}{job_id}.log" in output:
            return job_id
    return None


def wait_until_writing(run: Background, chunk: Path, timeout: float = 240) -> str:
    """Slurm job id of ``chunk``'s job, once it is RUNNING and writing the chunk file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run.process.poll() is not None:
            pytest.fail(f"snakemake ended before {chunk.name} ran:\n{run.output()[-6000:]}")
        job_id = chunk_job_id(run.output(), chunk)
        if job_id is not None:
            state = subprocess.run(
                ["squeue", "--noheader", "--jobs", job_id, "--format", "%T"],
                capture_output=True,
                text=True,
            ).stdout.strip()
            # atomic_write's temporary file exists from the first row to the rename.
            if state == "RUNNING" and list(chunk.parent.glob(f".{chunk.name}.*.tmp")):
                return job_id
        time.sleep(0.2)
    pytest.fail(f"{chunk.name} did not run within {timeout} s:\n{run.output()[-6000:]}")


def test_a_cancelled_chunk_job_leaves_nothing_half_written_and_a_rerun_completes(
    slurm_cluster, tmp_path, tiny_config
):
    config = slow_gmm_config(tiny_config)
    cluster_dir = tmp_path / "slurm"
    chunk = cluster_dir / "results" / "chunks" / "aniso" / "gmm" / "0-2.csv"
    with Background(
        cluster_dir, "--profile", str(PROFILE), "results/trials.csv", config=config
    ) as first:
        cancelled = wait_until_writing(first, chunk)
        subprocess.run(["scancel", cancelled], check=True)
        returncode = first.wait()
    output = first.output()

    assert returncode != 0, output[-6000:]
    assert f"SLURM-job '{cancelled}' failed, SLURM status is: 'CANCELLED'" in output
    assert not chunk.exists()
    assert not chunk.with_suffix(".json").exists()
    leftovers = sorted(str(path) for path in (cluster_dir / "results").rglob(".*.tmp"))
    assert not leftovers, f"temporary files left behind by the cancelled job: {leftovers}"

    # The same command again, with no recovery flag: the failed run cleaned up after
    # itself. The local reference run overlaps it.
    with Background(
        tmp_path / "local", "--cores", "2", "results/trials.csv", config=config
    ) as local:
        snakemake(
            cluster_dir,
            "--profile",
            str(PROFILE),
            "results/trials.csv",
            config=config,
            own_process=True,
        )
        local.check()
    record = json.loads(chunk.with_suffix(".json").read_text())
    assert record["job"]["slurm_job_id"] not in (None, cancelled)
    assert not list((cluster_dir / "results").rglob(".*.tmp"))
    expected = (tmp_path / "local" / "results" / "trials.csv").read_bytes()
    assert (cluster_dir / "results" / "trials.csv").read_bytes() == expected
