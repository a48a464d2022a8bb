"""One warm process per run: the jobs of a local run pay Python's imports once.

Every job of a Snakemake run is a new Python process, and each pays its imports again
before it does any work: scikit-learn for a chunk job (about 2 s), pandas and SciPy for
the summary, matplotlib and seaborn for the figures. In a local run, the workflow
therefore starts one *warm process* (:func:`serve`) as it starts planning. It imports
the study's modules once, while Snakemake plans, and listens on a private Unix socket.
A job's script calls :func:`hand_over` before its own imports; when the warm process
answers, the script sends it the job (the script file that Snakemake wrote, the working
directory, the environment and the standard streams). The warm process forks a copy of
itself, which runs the same script in the job's place, and the job's process exits with
the copy's exit status. Nothing else changes: the same script runs, as ``__main__``, on
the same files, with the same environment.

Where the warm process cannot serve, the script runs as usual in its own process: the
variable :data:`SOCKET_VARIABLE` is unset (planning commands, cluster executors), the
job runs inside a Slurm allocation (its resources are Slurm's to count), the platform
cannot fork, or the socket does not answer. ``SIMSTUDY_WARM_JOBS=0`` turns it off.

The copy joins the job's process group, so that a signal to the group reaches it and its
workers as it would reach the job's own; it is also stopped, with its workers, when the
job's process goes away. The warm process stays in Snakemake's process group, and
stops when the Snakemake process that started it does.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import signal
import socket
import struct
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Sequence

#: Environment variable that tells jobs where the run's warm process listens.
SOCKET_VARIABLE = "SIMSTUDY_WARM_SOCKET"

#: The Python installation (``sys.prefix``) of the warm process: a job run by another
#: one (``--use-conda``, a container) keeps to its own process.
PREFIX_VARIABLE = "SIMSTUDY_WARM_PREFIX"

#: Set in the forked copy that runs a job: there, :func:`hand_over` returns at once.
SERVED_VARIABLE = "SIMSTUDY_WARM_SERVED"

#: ``SIMSTUDY_WARM_JOBS=0`` makes every job run in its own process, as Snakemake starts it.
SWITCH_VARIABLE = "SIMSTUDY_WARM_JOBS"

#: When the job's own process started (seconds since the epoch), for the copy that runs it.
STARTED_VARIABLE = "SIMSTUDY_JOB_STARTED"

#: Modules every run's jobs import, in the order the jobs need them.
BASE_MODULES = (
    "snakemake.iocontainers",
    "snakemake.logging",
    "simstudy.tables",
    "simstudy.seeding",
    "simstudy.provenance",
    "simstudy.merge",
    "simstudy.chunks",
)

#: Modules of the rules that follow the trials, imported after the study's own.
LATE_MODULES = (
    "simstudy.summary",
    "simstudy.stopping",
    "simstudy.timings",
    "simstudy.report",
    "simstudy.figures",
)

_HEADER = struct.Struct("!Q")


def process_started() -> float | None:
    """When this process started, in seconds since the epoch (Linux), or None.

    Its start time since boot, from ``/proc/self/stat``, against the time since boot
    now, from ``/proc/uptime`` (both to the hundredth of a second).

    Returns
    -------
    float or None
        The start time, as :func:`time.time`; None where ``/proc`` cannot be read.
    """
    try:
        with open("/proc/self/stat", encoding="ascii") as handle:
            # Field 22, counted after the command name, which may hold spaces.
            ticks = int(handle.read().rpartition(")")[2].split()[19])
        with open("/proc/uptime", encoding="ascii") as handle:
            uptime = float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))


def job_started() -> float | None:
    """When the job's process started: the one Snakemake ran, even in a warm copy.

    Returns
    -------
    float or None
        In a warm copy, the time that :func:`hand_over` recorded in
        :data:`STARTED_VARIABLE`; otherwise :func:`process_started`.
    """
    value = os.environ.get(STARTED_VARIABLE)
    if os.environ.get(SERVED_VARIABLE) == "1" and value:
        return float(value)
    return process_started()


def enabled() -> bool:
    """Whether this platform and the environment allow jobs to be handed over.

    Returns
    -------
    bool
        True on Linux unless :data:`SWITCH_VARIABLE` is ``"0"``.
    """
    return sys.platform == "linux" and os.environ.get(SWITCH_VARIABLE, "1") != "0"


# --- The job's side -----------------------------------------------------------------


def hand_over() -> None:
    """Let the run's warm process run this job script; return only where it cannot.

    Call it at the top of a job script, before the imports the job needs. Where the warm
    process takes the job, this process waits for it and exits with its exit status.
    """
    if os.environ.get(SERVED_VARIABLE) == "1":
        return
    path = os.environ.get(SOCKET_VARIABLE)
    if not path or not enabled() or "SLURM_JOB_ID" in os.environ:
        return
    if os.environ.get(PREFIX_VARIABLE) != sys.prefix:
        return
    main = sys.modules["__main__"]
    script = getattr(main, "__real_file__", None) or getattr(main, "__file__", None)
    if script is None:
        return
    started = process_started()
    if started is not None:
        os.environ[STARTED_VARIABLE] = repr(started)
    status = _ask(path, os.path.abspath(script))
    if status is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _ask(path: str, script: str) -> int | None:
    """Send the job to the warm process at ``path``; return its exit status.

    Returns ``None`` when the warm process cannot be reached, or closes the connection
    before a copy has taken the job: the job then runs here.
    """
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(path)
    except OSError:
        return None
    request = json.dumps(
        {
            "script": script,
            "cwd": os.getcwd(),
            "env": dict(os.environ),
            "argv": sys.argv,
            "group": os.getpgrp(),
        }
    ).encode()
    try:
        socket.send_fds(connection, [_HEADER.pack(len(request))], [0, 1, 2])
        connection.sendall(request)
    except OSError:
        connection.close()
        return None
    # From here on the job is the warm process's. Its copy first says which process it
    # is, so that a SIGTERM or SIGINT sent to this process (Snakemake cancelling the job,
    # Ctrl-C) reaches the copy, which stops as the job would have; then it sends its
    # exit status.
    copy: list[int] = []
    caught: list[int] = []

    def forward(signum: int, frame: object) -> None:
        caught.append(signum)
        if copy:
            with contextlib.suppress(OSError):
                os.kill(copy[0], signum)

    # A copy in this process's group gets the group's signals itself (Ctrl-C reaches the
    # whole group): only a signal sent to this process alone is passed on, SIGTERM.

    signal.signal(signal.SIGTERM, forward)
    for line in _lines(connection):
        kind, _, value = line.partition(" ")
        if kind == "pid":
            pid, _, group = value.partition(" ")
            copy.append(int(pid))
            if group and int(group) != os.getpgrp():  # not in this group: pass Ctrl-C on
                signal.signal(signal.SIGINT, forward)
            for signum in caught:  # a signal that came before the copy said who it is
                with contextlib.suppress(OSError):
                    os.kill(copy[0], signum)
        elif kind == "exit":
            return int(value)
    if not copy:  # the warm process went away before it took the job: run it here
        return None
    print(
        "simstudy.warm: the copy of the warm process that ran this job ended without "
        "reporting a status (it was killed); the job failed",
        file=sys.stderr,
    )
    return 1


def _lines(connection: socket.socket) -> Iterator[str]:
    """Yield the lines the other end sends, until it closes the connection."""
    buffer = b""
    while True:
        try:
            data = connection.recv(256)
        except InterruptedError:
            continue
        except OSError:
            return
        if not data:
            return
        buffer += data
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.decode()


# --- The warm process -----------------------------------------------------------------


def serve(path: str, first: Sequence[str], later: Sequence[str], parent: int) -> None:
    """Import modules and run, in a forked copy, each job sent to socket ``path``.

    The ``first`` modules (the trial code and the study's own) are imported before any
    job is taken: a chunk job that came early would otherwise import them again in its
    copy, while this process imports them too. Jobs that connect meanwhile wait in the
    socket's queue. The ``later`` ones (what the rules after the trials use) are imported
    one at a time between jobs. A module that fails to import is skipped. Returns when
    process ``parent`` is gone; the socket and its folder are then removed.

    Parameters
    ----------
    path
        The Unix socket to listen on; it must not exist yet.
    first
        Modules to import before taking any job.
    later
        Modules to import between jobs, in order.
    parent
        Process id of the process that started this one (the Snakemake process); once
        this process's parent is another, it returns.
    """
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    try:
        listener.listen(128)
        listener.setblocking(False)
        for name in first:
            _import(name)
        pending = list(later)
        while os.getppid() == parent:
            _reap()
            if pending:
                _import(pending.pop(0))
                timeout = 0.0
            else:
                timeout = 0.5
            ready, _, _ = select.select([listener], [], [], timeout)
            if not ready:
                continue
            try:
                connection, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                continue
            connection.setblocking(True)
            if os.fork() == 0:
                listener.close()
                _run_job(connection)  # never returns
            connection.close()
    finally:
        listener.close()
        _remove(path)


def _remove(path: str) -> None:
    """Remove the socket at ``path`` and its private folder."""
    for remove, target in ((os.remove, path), (os.rmdir, os.path.dirname(path))):
        with contextlib.suppress(OSError):
            remove(target)


def _import(name: str) -> None:
    with contextlib.suppress(Exception):  # the job that needs it reports the failure
        importlib.import_module(name)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _receive(connection: socket.socket) -> tuple[dict, list[int]]:
    header, fds, _, _ = socket.recv_fds(connection, _HEADER.size, 3)
    (size,) = _HEADER.unpack(header)
    body = b""
    while len(body) < size:
        data = connection.recv(size - len(body))
        if not data:
            raise ConnectionError("the job went away while sending its request")
        body += data
    return json.loads(body), fds


def _run_job(connection: socket.socket) -> None:
    """In the forked copy: take over the job's streams and run its script."""
    status = 1
    finished = threading.Event()
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        request, fds = _receive(connection)
        # Join the job's process group, so that whatever stops the job's group (a kill of
        # snakemake and its jobs, Ctrl-C) stops this copy and its workers with it.
        with contextlib.suppress(OSError):
            os.setpgid(0, int(request["group"]))
        for target, fd in zip((0, 1, 2), fds, strict=True):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.environ[SERVED_VARIABLE] = "1"
        sys.argv = list(request["argv"])
        connection.sendall(f"pid {os.getpid()} {os.getpgrp()}\n".encode())
        threading.Thread(target=_stop_when_gone, args=(connection, finished), daemon=True).start()
        status = _run_script(request["script"])
    except BaseException:  # reported on the job's stderr, status 1
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        finished.set()
        try:
            connection.sendall(f"exit {status}\n".encode())
        finally:
            # A worker the job did not stop must not outlive it: it would hold the job's
            # output streams open.
            _kill_children()
            os._exit(status)


def _run_script(script: str) -> int:
    import runpy

    try:
        runpy.run_path(script, run_name="__main__")
    except SystemExit as exit_:
        code = exit_.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF
        print(code, file=sys.stderr)
        return 1
    except BaseException:  # as Python itself reports it
        traceback.print_exc()
        return 1
    return 0


def _kill_children() -> None:
    """SIGKILL every process this one started that is still running (Linux: /proc)."""
    me = str(os.getpid())
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                parent = handle.read().rpartition(")")[2].split()[1]
            if parent == me:
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, IndexError):
            continue


def _stop_when_gone(connection: socket.socket, finished: threading.Event) -> None:
    """Kill this copy and its workers once the job's process has gone away."""
    try:
        while connection.recv(1):
            pass
    except OSError:
        pass
    if not finished.is_set():
        _kill_children()
        os.kill(os.getpid(), signal.SIGKILL)


# --- Starting and stopping it from the workflow ---------------------------------------


def start(study_modules: Sequence[str], search_path: str) -> tuple[object, str] | None:
    """Start a warm process for this run; return (its Popen, its socket path) or None.

    The socket lives in a private folder of the system's temporary directory. Jobs find
    it through :data:`SOCKET_VARIABLE`, set here in this process's environment (with
    :data:`PREFIX_VARIABLE`), which Snakemake passes on to the jobs it runs locally. The
    warm process is stopped when this process exits, or earlier by :func:`stop`.

    Parameters
    ----------
    study_modules
        The modules of the study's generators and estimators, imported after
        :data:`BASE_MODULES` and before any job is taken.
    search_path
        A folder to put first on the warm process's module search path (the checkout,
        whose ``simstudy`` Snakemake puts on every job's path).

    Returns
    -------
    tuple or None
        ``(subprocess.Popen, socket path)``, to pass to :func:`stop`; None where
        :func:`enabled` is false (nothing is started).
    """
    import atexit
    import subprocess
    import tempfile

    if not enabled():
        return None
    folder = tempfile.mkdtemp(prefix="simstudy-warm-")
    path = os.path.join(folder, "socket")
    first = [*BASE_MODULES, *study_modules]
    python_path = os.pathsep.join(filter(None, [search_path, os.environ.get("PYTHONPATH")]))
    env = {**os.environ, SERVED_VARIABLE: "0", "PYTHONPATH": python_path}
    # One BLAS/OpenMP thread in the warm process: a job's copy pins its own anyway.
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[variable] = "1"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simstudy.warm",
            path,
            str(os.getpid()),
            *first,
            "--",
            *LATE_MODULES,
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.environ[SOCKET_VARIABLE] = path
    os.environ[PREFIX_VARIABLE] = sys.prefix
    started = (process, path)
    atexit.register(stop, started)
    return started


def stop(started: tuple[object, str] | None) -> None:
    """Stop a warm process that :func:`start` started, and remove its socket.

    The variables that point jobs to it are removed from this process's environment
    first, whatever ``started`` is.

    Parameters
    ----------
    started
        What :func:`start` returned; None stops nothing.
    """
    os.environ.pop(SOCKET_VARIABLE, None)
    os.environ.pop(PREFIX_VARIABLE, None)
    if started is None:
        return
    process, path = started
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except Exception:  # it stops by itself once its parent has gone
            process.kill()
    _remove(path)


def main(argv: Sequence[str]) -> None:
    """``python -m simstudy.warm SOCKET PARENT_PID FIRST... [-- LATER...]``: :func:`serve`.

    SIGTERM makes the process exit (status 0), removing its socket.

    Parameters
    ----------
    argv
        The arguments after the module name: the socket path, the parent's process id,
        the modules to import first, and, after ``--``, those to import later.
    """
    path, parent, *modules = argv
    split = modules.index("--") if "--" in modules else len(modules)
    first, later = modules[:split], modules[split + 1 :]
    # `python -m` put the working directory first on the search path; a job's script
    # does not have it there, so neither does the process that runs it in its place.
    if sys.path and sys.path[0] == os.getcwd():
        del sys.path[0]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve(path, first, later, int(parent))


if __name__ == "__main__":
    main(sys.argv[1:])
