"""No process is forked while a second thread of the forking process runs.

A fork copies only the thread that calls it: a lock another thread held at that moment
(logging's, a queue's, the allocator's) stays held in the child for good, and the child
can hang the first time it needs it. A chunk job runs a thread of its own (the chunk
monitor) and forks its workers, so the order matters: every fork first, then the thread.

Each check runs in a fresh interpreter, like a chunk job, so that threads left behind by
other tests (loky's, for one) cannot hide or fake a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from simstudy.components import DEFAULT_GENERATOR
from simstudy.parallel import CAN_FORK
from simstudy.spec import Method, Scenario, TrialSpec

from conftest import REPO, TINY_CONFIG

pytestmark = pytest.mark.skipif(not CAN_FORK, reason="workers are forked on Linux only")

# Replaces os.fork (which multiprocessing's fork start method calls) by one that notes the
# threads alive at each fork, and notes every thread started; runs the code given, and
# prints the notes as JSON.
RECORD_FORKS = """
import json, os, sys, threading

forks, started = [], []
_fork, _start = os.fork, threading.Thread.start

def noting_fork():
    forks.append([t.name for t in threading.enumerate() if t is not threading.main_thread()])
    return _fork()

def noting_start(thread):
    started.append(thread.name)
    return _start(thread)

os.fork = noting_fork
threading.Thread.start = noting_start
{body}
print("NOTES " + json.dumps({{"forks": forks, "started": started}}))
"""


def _notes_of(body: str, *args: str) -> dict[str, list]:
    """Run ``body`` in a fresh interpreter; return what it noted of its forks and threads.

    ``forks`` holds, for each fork, the threads alive besides the main one; ``started``
    the names of the threads started.
    """
    done = subprocess.run(
        [sys.executable, "-c", RECORD_FORKS.format(body=body), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "tests")},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("NOTES "))
    return json.loads(line.removeprefix("NOTES "))


def _spec() -> TrialSpec:
    return TrialSpec(
        seeding="spawn",
        seed=TINY_CONFIG["seed"],
        scenario=Scenario("aniso", DEFAULT_GENERATOR, TINY_CONFIG["scenarios"]["aniso"]["params"]),
        methods=(Method("kmeans", "sklearn.cluster.KMeans", {"n_clusters": 3, "n_init": 1}),),
        metrics=("ari",),
    )


def test_a_chunk_forks_its_workers_before_its_monitor_thread_starts(tmp_path):
    # A short interval and a time limit keep the monitor's thread busy from its start.
    body = """
from simstudy.chunks import run_chunk
from simstudy.spec import TrialSpec

spec = TrialSpec.from_json(sys.argv[1])
run_chunk(spec, 0, 6, sys.argv[2], n_jobs=2, progress_interval=0.05, time_limit=60)
"""
    notes = _notes_of(body, _spec().to_json(), str(tmp_path / "rows.csv"))
    forks = notes["forks"]
    assert len(forks) == 2  # one per worker
    assert forks == [[], []], f"threads alive besides the main one, at each fork: {forks}"
    assert "chunk-monitor" in notes["started"]  # it ran, after the forks
    assert (tmp_path / "rows.csv").read_text().count("\n") == 7  # header and six trials


def test_ordered_map_calls_on_ready_once_every_worker_is_forked():
    body = """
import multiprocessing
from simstudy.parallel import ordered_map

ready = []
results = list(
    ordered_map(
        abs,
        range(-20, 0),
        n_jobs=3,
        on_ready=lambda: ready.append(len(multiprocessing.active_children())),
    )
)
assert results == list(range(20, 0, -1)), results
assert ready == [3], ready
"""
    assert _notes_of(body)["forks"] == [[], [], []]


@pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="needs two CPUs to run on, and Linux's affinity",
)
def test_all_cpus_means_the_cpus_this_process_may_use_as_joblib_counts_them():
    # Run on one CPU of the machine's: n_jobs=-1 is then one worker, not os.cpu_count().
    code = (
        "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); "
        "from simstudy.parallel import ForkedWorkersBackend as B; "
        "b = B(); print(b.effective_n_jobs(-1), b.effective_n_jobs(-2), b.effective_n_jobs(3))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.split() == ["1", "1", "3"]
