"""The run's warm process (simstudy/warm.py): jobs run in it exactly as on their own.

Unit tests start a warm process by hand and hand it small scripts; the end-to-end test
runs the tiny study with and without it and compares every result file byte for byte.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from simstudy import warm_copy, warm_handover

from conftest import ONE_WORKER, REPO, finished_config, snakemake

pytestmark = pytest.mark.skipif(not warm_handover.enabled(), reason="the warm process needs Linux")

#: A job script: hands itself over, then reports where and how it ran (its process, its
#: working folder, its TMPDIR, and whether the warm process started the process).
SCRIPT = """
import os, sys, time
sys.path.insert(0, {repo!r})
from simstudy.warm import hand_over
hand_over()
parent = open(f"/proc/{{os.getppid()}}/cmdline", "rb").read().split(b"\\0")[1:3]
with open("report.txt", "w") as handle:
    handle.write(f"{{os.getpid()}} {{os.getcwd()}} {{os.environ.get('TMPDIR')}} "
                 f"{{'warm' if parent == [b'-m', b'simstudy.warm'] else 'own'}}\\n")
print("to stdout", flush=True)
print("to stderr", file=sys.stderr, flush=True)
action = sys.argv[1]
if action == "sleep":
    time.sleep(600)
elif action == "exit":
    sys.exit(3)
elif action == "raise":
    raise RuntimeError("the job's own error")
elif action == "numpy":
    import numpy
    print(numpy.random.random())
elif action == "blas":  # whether the warm process had NumPy, and OpenBLAS's threads
    loaded = "numpy" in sys.modules
    import numpy
    from threadpoolctl import threadpool_info
    counts = set(i["num_threads"] for i in threadpool_info() if i["internal_api"] == "openblas")
    print(loaded, sorted(counts))
"""


@pytest.fixture
def server(tmp_path):
    """A warm process for this test; yields its socket path."""
    yield from warm_process(tmp_path, "json")


@pytest.fixture
def numpy_server(tmp_path):
    """A warm process that imported NumPy; yields its socket path."""
    yield from warm_process(tmp_path, "numpy.random")


def environment() -> dict[str, str]:
    """This process's environment, for a warm process and its jobs alike.

    Without pytest's variable that names the test and its phase, which changes between
    the start of the warm process (a fixture) and that of a job (the test).
    """
    unset = ("SIMSTUDY_WARM", "PYTEST_CURRENT_TEST")
    return {k: v for k, v in os.environ.items() if not k.startswith(unset)}


def warm_process(tmp_path: Path, *modules: str, env: dict | None = None) -> Iterator[str]:
    """Start a warm process that imports ``modules``; yield its socket path.

    ``modules`` are those to import first and, after ``"--"``, those to import later;
    ``env`` adds to its environment.
    """
    path = str(tmp_path / "warm.sock")
    env = {**environment(), "PYTHONPATH": str(REPO), **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "simstudy.warm", path, str(os.getpid()), *modules],
        env=env,
        # A group of its own (a Ctrl-C to the tests is not for it), in their session: a
        # copy can only join a job's process group in its own session.
        process_group=0,
    )
    deadline = time.monotonic() + 30
    while not os.path.exists(path):
        assert time.monotonic() < deadline, "the warm process never opened its socket"
        assert process.poll() is None, "the warm process died at start"
        time.sleep(0.05)
    yield path
    process.terminate()
    process.wait(timeout=10)
    assert not os.path.exists(path), "the warm process left its socket behind"


def run_job(tmp_path: Path, socket: str, action: str = "", **extra_env) -> subprocess.Popen:
    """Start the job script in ``tmp_path``, pointed at the warm process at ``socket``.

    Its environment is this process's (the warm process's too), with TMPDIR (which may
    differ from job to job) set to ``tmp_path``, and ``extra_env`` (which may not).
    """
    script = tmp_path / "job.py"
    script.write_text(SCRIPT.format(repo=str(REPO)))
    env = environment()
    env.update(TMPDIR=str(tmp_path), **{warm_handover.SOCKET_VARIABLE: socket})
    env[warm_handover.PREFIX_VARIABLE] = extra_env.pop("PREFIX_FOR_TEST", sys.prefix)
    if extra_env.pop("SLURM_JOB_ID_FOR_TEST", None):
        env["SLURM_JOB_ID"] = "1"
    env.update(extra_env)
    return subprocess.Popen(
        [sys.executable, str(script), action],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def report(tmp_path: Path) -> list[str]:
    return (tmp_path / "report.txt").read_text().split()


def reported(tmp_path: Path, job: subprocess.Popen) -> list[str]:
    """The report of a job that is still running, once its whole line is written (the
    script opens the file, then writes)."""
    written = tmp_path / "report.txt"
    deadline = time.monotonic() + 30
    while not (written.exists() and written.read_text().endswith("\n")):
        assert time.monotonic() < deadline and job.poll() is None
        time.sleep(0.05)
    return report(tmp_path)


def test_a_job_runs_in_a_copy_of_the_warm_process_with_its_cwd_env_and_streams(tmp_path, server):
    job = run_job(tmp_path, server)
    out, err = job.communicate(timeout=60)
    assert job.returncode == 0, err
    pid, cwd, tmpdir, parent = report(tmp_path)
    assert int(pid) != job.pid  # ran elsewhere: in the warm process's copy
    assert (cwd, tmpdir, parent) == (str(tmp_path), str(tmp_path), "warm")
    assert out == "to stdout\n" and err == "to stderr\n"


def test_a_job_whose_environment_differs_from_the_warm_processs_runs_in_its_own(tmp_path, server):
    """A module the warm process imported may have read the variable: the job runs in
    its own process, and a SIGTERM stops it as it would stop any job of its own."""
    job = run_job(tmp_path, server, "sleep", XDG_CACHE_HOME=str(tmp_path / "cache"))
    try:
        pid, _, _, parent = reported(tmp_path, job)
        assert (int(pid), parent) == (job.pid, "own")
        job.send_signal(signal.SIGTERM)
        job.communicate(timeout=30)
        assert job.returncode == -signal.SIGTERM
    finally:
        job.kill()  # whatever ran it, it is not left sleeping
        job.communicate(timeout=30)


def test_each_copy_seeds_numpys_global_generator_afresh(tmp_path, numpy_server):
    """As NumPy's import does in a process of its own: copies do not share draws."""
    draws = []
    for name in ("first", "second"):
        folder = tmp_path / name
        folder.mkdir()
        job = run_job(folder, numpy_server, "numpy")
        out, err = job.communicate(timeout=60)
        assert job.returncode == 0, err
        assert report(folder)[3] == "warm"
        draws.append(out.splitlines()[-1])
    assert draws[0] != draws[1]


def connected(pid: int) -> bool:
    """Whether process ``pid`` holds a connected Unix socket (as a job queued at the
    warm process's socket does, before the warm process takes it)."""
    fds = Path(f"/proc/{pid}/fd")
    links = {os.readlink(fd) for fd in fds.iterdir()}
    inodes = {link[len("socket:[") : -1] for link in links if link.startswith("socket:[")}
    lines = Path("/proc/net/unix").read_text().splitlines()[1:]
    # Columns: Num RefCount Protocol Flags Type St Inode [Path]; St 03 is connected.
    return any(f[6] in inodes and f[5] == "03" for f in (line.split() for line in lines))


def test_a_job_taken_after_a_later_import_gets_its_thread_counts_for_what_it_loaded(tmp_path):
    """The warm process lists the BLAS libraries again after an import, for the copies."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs: with one, every thread count is 1")
    shared = {"SIMSTUDY_TEST_GO": str(tmp_path / "go")}
    warm = warm_process(
        tmp_path,
        "blocking_import",
        "--",
        "json",
        "numpy",
        env={**shared, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": f"{REPO}:{REPO / 'tests'}"},
    )
    path = next(warm)
    outputs = []
    try:
        for name in ("before", "after"):
            folder = tmp_path / name
            folder.mkdir()
            job = run_job(folder, path, "blas", OPENBLAS_NUM_THREADS="2", **shared)
            if name == "before":  # queued while the warm process imports its first module
                deadline = time.monotonic() + 30
                while not connected(job.pid):
                    assert time.monotonic() < deadline and job.poll() is None
                    time.sleep(0.05)
                (tmp_path / "go").touch()
            out, err = job.communicate(timeout=60)
            assert job.returncode == 0, err
            assert report(folder)[3] == "warm"
            outputs.append(out.splitlines()[-1])
    finally:
        next(warm, None)
    # Taken before NumPy's import in the warm process, then after it: each copy gives
    # OpenBLAS the job's own count, as the job's own process would.
    assert outputs == ["False [2]", "True [2]"]


def test_where_the_blas_libraries_cannot_be_listed_the_job_runs_in_its_own_process(
    monkeypatch,
):
    """threadpoolctl failing in the warm process costs a copy, not the warm process."""
    import threadpoolctl

    def fail():
        raise OSError("cannot read the loaded libraries")

    monkeypatch.setattr(threadpoolctl, "ThreadpoolController", fail)
    assert warm_copy.thread_pools() is None
    with pytest.raises(warm_copy._CannotServe, match="could not be listed"):
        warm_copy._set_thread_pools({}, None)


def test_without_a_warm_process_the_job_runs_in_its_own_process(tmp_path):
    job = run_job(tmp_path, str(tmp_path / "no-such.sock"))
    out, err = job.communicate(timeout=60)
    assert job.returncode == 0, err
    pid, _, _, parent = report(tmp_path)
    assert int(pid) == job.pid and parent == "own"
    assert out == "to stdout\n"


def test_a_warm_process_that_closes_before_taking_the_job_lets_it_run_itself(tmp_path):
    """A warm process that goes away with the job still queued (its run ended) must not
    fail the job: no copy took it, so it runs in its own process."""
    path = str(tmp_path / "closing.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def close_at_once():
        connection, _ = listener.accept()
        connection.close()

    closer = threading.Thread(target=close_at_once, daemon=True)
    closer.start()
    job = run_job(tmp_path, path)
    _, err = job.communicate(timeout=60)
    closer.join(timeout=10)
    listener.close()
    assert job.returncode == 0, err
    pid, _, _, parent = report(tmp_path)
    assert int(pid) == job.pid and parent == "own"


def test_inside_a_slurm_allocation_the_job_runs_in_its_own_process(tmp_path, server):
    job = run_job(tmp_path, server, SLURM_JOB_ID_FOR_TEST="1")
    _, err = job.communicate(timeout=60)
    assert job.returncode == 0, err
    pid, _, _, parent = report(tmp_path)
    assert int(pid) == job.pid and parent == "own"


@pytest.mark.parametrize(
    ("action", "code", "message"), [("exit", 3, ""), ("raise", 1, "own error")]
)
def test_the_jobs_exit_status_and_traceback_come_back(tmp_path, server, action, code, message):
    job = run_job(tmp_path, server, action)
    _, err = job.communicate(timeout=60)
    assert job.returncode == code
    assert message in err
    if action == "raise":
        assert "Traceback" in err and "RuntimeError" in err


def started_copy(tmp_path: Path, server: str) -> tuple[subprocess.Popen, int]:
    """A sleeping job handed to the warm process, and the process id of its copy."""
    job = run_job(tmp_path, server, "sleep")
    return job, int(reported(tmp_path, job)[0])


def wait_until_gone(pid: int, message: str) -> None:
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and _state(pid) != "Z":
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def test_cancelling_the_job_stops_its_copy(tmp_path, server):
    job, copy = started_copy(tmp_path, server)
    job.send_signal(signal.SIGTERM)  # what Snakemake does to a job it cancels
    job.communicate(timeout=30)
    assert job.returncode != 0
    wait_until_gone(copy, "the copy outlived its cancelled job")


def test_killing_the_job_stops_its_copy(tmp_path, server):
    job, copy = started_copy(tmp_path, server)
    job.kill()
    job.communicate(timeout=30)
    wait_until_gone(copy, "the copy outlived its killed job")


def test_the_warm_process_stops_when_its_parent_does(tmp_path):
    path = str(tmp_path / "orphan.sock")
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import os, subprocess, sys, time
                child = subprocess.Popen([sys.executable, "-m", "simstudy.warm", {path!r},
                                          str(os.getpid())], start_new_session=True)
                print(child.pid, flush=True)
                time.sleep(2)
                """
            ),
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        text=True,
    )
    server_pid = int(parent.stdout.readline())
    parent.wait(timeout=30)
    wait_until_gone(server_pid, "the warm process outlived its parent")
    assert not os.path.exists(path)


def test_after_its_run_the_warm_process_still_stops_a_copy_whose_job_is_killed(tmp_path):
    """The copy of a job still running when the run's snakemake went away is stopped
    when the job's process goes; the warm process then ends too."""
    path = str(tmp_path / "warm.sock")
    parent = subprocess.Popen(  # the run's snakemake: it ends when its input closes
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import os, subprocess, sys
                child = subprocess.Popen([sys.executable, "-m", "simstudy.warm", {path!r},
                                          str(os.getpid()), "json"], process_group=0)
                print(child.pid, flush=True)
                sys.stdin.read()
                """
            ),
        ],
        env={**environment(), "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    server_pid = int(parent.stdout.readline())
    deadline = time.monotonic() + 30
    while not os.path.exists(path):
        assert time.monotonic() < deadline, "the warm process never opened its socket"
        time.sleep(0.05)
    job, copy = started_copy(tmp_path, path)
    try:
        parent.stdin.close()
        parent.wait(timeout=30)
        deadline = time.monotonic() + 10
        while os.path.exists(path):  # it takes no more jobs
            assert time.monotonic() < deadline, "the warm process kept its socket"
            time.sleep(0.05)
        assert _state(copy) not in ("Z", "gone")  # the job goes on meanwhile
    finally:
        job.kill()
        job.wait(timeout=30)
    wait_until_gone(copy, "the copy outlived its killed job")
    wait_until_gone(server_pid, "the warm process outlived its run and its copies")


def _orphaned_warm_processes(grace: float = 5.0) -> list[str]:
    """Warm processes (and their copies) whose snakemake is gone, after ``grace`` seconds.

    Each one's command line is ``python -m simstudy.warm SOCKET PARENT ...``; other
    runs may be going on at the same time (tests run side by side), so only a warm
    process whose PARENT no longer exists is one that outlived its run.
    """
    deadline = time.monotonic() + grace
    while True:
        found = subprocess.run(["pgrep", "-a", "-f", "simstudy[.]warm"], capture_output=True)
        orphans = []
        for line in found.stdout.decode().splitlines():
            words = line.split()
            if "simstudy.warm" in words and len(words) > words.index("simstudy.warm") + 2:
                parent = words[words.index("simstudy.warm") + 2]
                if parent.isdigit() and not Path(f"/proc/{parent}").exists():
                    orphans.append(line)
        if not orphans or time.monotonic() > deadline:
            return orphans
        time.sleep(0.2)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return "gone"


@pytest.mark.e2e
def test_a_run_with_warm_jobs_writes_the_same_bytes_as_one_without(finished_study, tmp_path):
    """Every job of a local run goes to the warm process, and changes no byte of output."""
    outputs = {}
    cold = tmp_path / "cold"
    targets = ("results/trials.csv", "results/summary.csv", "results/example/trial.json")
    snakemake(
        cold,
        *targets,
        "--cores",
        "2",
        *ONE_WORKER,
        config=finished_config("legacy"),
        env={warm_handover.SWITCH_VARIABLE: "0"},
    )
    # The shared finished study is the same study, run with the warm process.
    for mode, workdir in (("warm", finished_study("legacy")), ("cold", cold)):
        logs = sorted((workdir / "results/logs").rglob("*.log"))
        served = [log for log in logs if "-m simstudy.warm)" in log.read_text()]
        assert len(logs) >= 6  # manifest, two chunks, merge, summary, example, ...
        assert served == (logs if mode == "warm" else []), [str(p) for p in served]
        chunk_log = (workdir / "results/logs/run_chunk/aniso/gmm+kmeans/0-4.log").read_text()
        assert re.search(r"first trial done \d+\.\d\d s after the job started", chunk_log)
        outputs[mode] = {
            path.relative_to(workdir): path.read_bytes()
            for name in ("manifest.csv", "trials.csv", "summary.csv", "example/trial.json")
            for path in [workdir / "results" / name]
        }
    # Every warm process ended with its run (it is a child of snakemake only).
    assert _orphaned_warm_processes() == []
    assert outputs["warm"] == outputs["cold"]


def test_sigterm_ends_the_warm_process_at_once_without_pythons_shutdown(tmp_path):
    """A run waits for its warm process to end (warm.stop); ending as Python ends, which
    frees every imported module's objects and runs the exit handlers, took half a second
    with scikit-learn loaded. Here a module's exit handler would take a minute."""
    marker = tmp_path / "imported"
    slow = f"import atexit, time\natexit.register(time.sleep, 60)\nopen({str(marker)!r}, 'w')\n"
    (tmp_path / "slow_to_end.py").write_text(slow)
    path = str(tmp_path / "warm.sock")
    process = subprocess.Popen(
        [sys.executable, "-m", "simstudy.warm", path, str(os.getpid()), "slow_to_end"],
        env={**environment(), "PYTHONPATH": os.pathsep.join([str(REPO), str(tmp_path)])},
    )
    deadline = time.monotonic() + 30
    while not marker.exists():  # its exit handler is registered
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    process.terminate()
    assert process.wait(timeout=20) == 0
    assert not os.path.exists(path)


def test_a_warm_process_that_cannot_serve_says_why_and_exits_1(tmp_path):
    path = str(tmp_path / "no such folder" / "warm.sock")
    result = subprocess.run(
        [sys.executable, "-m", "simstudy.warm", path, str(os.getpid())],
        env={**environment(), "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "FileNotFoundError" in result.stderr


def test_kill_children_kills_what_a_process_started_and_only_that():
    # In a process of its own: it starts two sleepers, kills its own children, and
    # reports which are gone; a sleeper started by the test process itself stays.
    code = (
        "import os, subprocess, sys, time\n"
        "from simstudy.warm_copy import kill_children\n"
        "children = [subprocess.Popen(['sleep', '30']) for _ in range(2)]\n"
        "kill_children(os.getpid())\n"
        "print([child.wait(timeout=10) for child in children])\n"
    )
    bystander = subprocess.Popen(["sleep", "30"])
    try:
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
        )
        assert result.stdout.split() == ["[-9,", "-9]"]
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
