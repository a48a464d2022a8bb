"""One warm process per run: the jobs of a local run pay Python's imports once.

Every job of a Snakemake run is a new Python process, and each pays its imports again
before it does any work: scikit-learn for a chunk job (about 2 s), pandas and SciPy for
the summary, matplotlib and seaborn for the figures. In a local run, the workflow
therefore starts one *warm process* (:func:`serve`) as it starts planning. It imports
the study's modules once, while Snakemake plans, and listens on a private Unix socket.
A job's script calls :func:`hand_over` before its own imports; when the warm process
answers, the script sends it the job: the script file that Snakemake wrote, the job's
standard streams, and the state of the job's process listed below. The warm process
forks a copy of itself, which takes on that state and runs the same script, as
``__main__``, in the job's place; the job's process waits, and exits with the copy's
exit status.

The copy takes from the job's process its working directory, environment variables,
umask, ``sys.argv``, ``sys.orig_argv`` and ``sys.executable``, ``sys.path`` (as it
stood when the script called :func:`hand_over`), the disposition of every signal and
the set of blocked ones, its CPU affinity, resource limits and nice value, and its
process group. It sets up its standard streams on the job's as Python sets them up at
start (line-buffered on a terminal), runs the script as Python runs a script file, and
ends as Python ends (it waits for the script's threads and runs the exit handlers).
What the job's own process would have read from its environment when it loaded them is
set afresh: the thread counts of the BLAS and OpenMP libraries already loaded, from
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and the like (which Snakemake sets to the
job's ``threads``), as those libraries read them; the folder of :mod:`tempfile`, from
``TMPDIR``; and NumPy's global generator, seeded afresh from the operating system.

What stays the warm process's own:

- the process: its id, its parent (the warm process), and its start;
  :func:`simstudy.logs.job_started` gives the start of the job's process instead;
- the modules already imported, with whatever their import did: their module-level
  state, variables they set in ``os.environ`` (scikit-learn's ``KMP_INIT_AT_FORK``, kept
  on top of the job's environment), signal handlers they installed;
- Python's hash seed, one for all the copies;
- one more open file: the copy's connection to the job's process, on descriptor 255
  (out of the way of the numbers the script's own files get);
- at the end, processes that the script left running are killed with the copy.

Where the copy cannot give a job what its own process would see, the job runs in its own
process instead: its environment differs from the one the warm process started with in
a variable other than :data:`PER_JOB_VARIABLES` (a module the warm process imported may
have read the variable: :mod:`simstudy.digests` takes its cache folder from
``XDG_CACHE_HOME``, matplotlib its settings from ``MPLCONFIGDIR``); a signal has a handler
other than Python's own; a BLAS or OpenMP library other than OpenBLAS (built with its
own threads) or an OpenMP runtime is loaded; or the process group, a resource limit, the
affinity or the nice value cannot be set.

Nor is the warm process used where it cannot serve, and the script runs as usual in its
own process: the variable :data:`SOCKET_VARIABLE` is unset (planning commands, cluster
executors), the job runs inside a Slurm allocation (its resources are Slurm's to count),
it runs with another Python installation, the platform cannot fork or watch a process
through a file descriptor (Linux 5.3 or later only), or the socket does not answer.
``SIMSTUDY_WARM_JOBS=0`` turns it off.

The copy joins the job's process group, so that a signal to the group reaches it and its
workers as it would reach the job's own; a SIGTERM to the job's process alone is passed
on to the copy. The copy is also stopped, with its workers, when the job's process goes
away: the warm process watches the job's process. The warm process stays in Snakemake's
process group; once the Snakemake process that started it is gone, it takes no more jobs,
and ends when the copies still running have ended.
"""

from __future__ import annotations

import builtins
import contextlib
import importlib
import io
import json
import os
import re
import resource
import select
import signal
import socket
import struct
import sys
import time
import traceback
import types
import warnings
from collections.abc import Iterator, Mapping, Sequence
from importlib.machinery import SourceFileLoader
from typing import Any

from simstudy.logs import process_started, set_job_started

#: Environment variable that tells jobs where the run's warm process listens.
SOCKET_VARIABLE = "SIMSTUDY_WARM_SOCKET"

#: The Python installation (``sys.prefix``) of the warm process: a job run by another
#: one (``--use-conda``, a container) keeps to its own process.
PREFIX_VARIABLE = "SIMSTUDY_WARM_PREFIX"

#: ``SIMSTUDY_WARM_JOBS=0`` makes every job run in its own process, as Snakemake starts it.
SWITCH_VARIABLE = "SIMSTUDY_WARM_JOBS"

#: The thread counts of BLAS and OpenMP libraries, which Snakemake sets to each job's
#: ``threads``.
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "GOTO_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)

#: Variables a job's environment may give otherwise than the warm process's: the copy
#: applies the thread counts to the libraries loaded, lets :mod:`tempfile` find its
#: folder afresh (Snakemake sets the four to the job's ``tmpdir``) and takes the job's
#: ``sys.path``; the shell that starts the job sets its own ``PWD``, ``OLDPWD``, ``_``
#: and ``SHLVL``; only :func:`hand_over` reads this module's. (Where numexpr is
#: imported, ``NUMEXPR_NUM_THREADS`` is not one of them: it read it then.)
PER_JOB_VARIABLES = frozenset(
    {
        *THREAD_VARIABLES,
        "TMPDIR",
        "TEMP",
        "TMP",
        "TEMPDIR",
        "PYTHONPATH",
        "PWD",
        "OLDPWD",
        "_",
        "SHLVL",
        SOCKET_VARIABLE,
        PREFIX_VARIABLE,
        SWITCH_VARIABLE,
    }
)

#: Modules every run's jobs import, in the order the jobs need them.
BASE_MODULES = (
    "threadpoolctl",
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

#: The signal dispositions a job's process may have that a copy can give itself.
_DISPOSITIONS = {
    "SIG_DFL": signal.SIG_DFL,
    "SIG_IGN": signal.SIG_IGN,
    "default_int_handler": signal.default_int_handler,
}

#: Every signal whose disposition a process can set.
_SIGNALS = tuple(s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP))

_HEADER = struct.Struct("!Q")

#: Where a copy keeps its connection to the job's process, out of the way.
_CONNECTION_FD = 255

#: In the copy that runs a job: what the job's process sent (see :func:`hand_over`).
_taken: dict[str, Any] | None = None


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
    process takes the job, this process waits for it and exits with its exit status. In
    the copy that runs the script, it returns at once, after setting ``sys.path`` to the
    job's own at this point of the script.
    """
    if _taken is not None:
        sys.path[:] = _taken["path"]
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
    status = _ask(path, _job(os.path.abspath(script)))
    if status is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


def _job(script: str) -> dict[str, Any]:
    """The job to send: its script, and the state of this process a copy takes on."""
    umask = os.umask(0o077)
    os.umask(umask)
    tempfile = sys.modules.get("tempfile")
    return {
        "script": script,
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "umask": umask,
        "argv": sys.argv,
        "orig_argv": sys.orig_argv,
        "executable": sys.executable,
        "path": sys.path,
        "signals": {int(s): _disposition(signal.getsignal(s)) for s in _SIGNALS},
        "blocked": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        "affinity": sorted(os.sched_getaffinity(0)),
        "limits": {name: resource.getrlimit(number) for name, number in _rlimits()},
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "tempdir": getattr(tempfile, "tempdir", None),
        "started": process_started(),
        "group": os.getpgrp(),
    }


def _disposition(handler: object) -> str | None:
    """The name of a signal's handler in :data:`_DISPOSITIONS`; None for any other."""
    for name, known in _DISPOSITIONS.items():
        if handler == known:
            return name
    return None


def _rlimits() -> list[tuple[str, int]]:
    return [
        (name, getattr(resource, name)) for name in dir(resource) if name.startswith("RLIMIT_")
    ]


def _ask(path: str, request: dict[str, Any]) -> int | None:
    """Send the job to the warm process at ``path``; return its exit status.

    Returns ``None`` when the warm process cannot be reached, or closes the connection
    before a copy has taken the job: the job then runs here, with the signal handlers
    it had, which then get the signals that came meanwhile.
    """
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(path)
    except OSError:
        return None
    body = json.dumps(request).encode()
    try:
        socket.send_fds(connection, [_HEADER.pack(len(body))], [0, 1, 2])
        connection.sendall(body)
    except OSError:
        connection.close()
        return None
    handlers = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    caught: list[int] = []
    try:
        status = _wait(connection, caught)
    finally:
        connection.close()
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    if status is None:  # the job runs here: the signals it got are its own to handle
        for signum in caught:
            os.kill(os.getpid(), signum)
    return status


def _wait(connection: socket.socket, caught: list[int]) -> int | None:
    """Wait for the copy that runs the job: its exit status, or None if none took it.

    The signals this process gets meanwhile are noted in ``caught``.
    """
    # From here on the job is the warm process's. Its copy first says which process it
    # is, so that a SIGTERM sent to this process (Snakemake cancelling the job) reaches
    # the copy, which stops as the job would have; then it sends its exit status. The
    # copy is in this process's group, so it gets the group's signals (Ctrl-C) itself,
    # and this process waits for it to stop.
    copy: list[int] = []

    def forward(signum: int, frame: object) -> None:
        caught.append(signum)
        if copy and signum == signal.SIGTERM:
            with contextlib.suppress(OSError):
                os.kill(copy[0], signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for line in _lines(connection):
        kind, _, value = line.partition(" ")
        if kind == "pid":
            copy.append(int(value))
            if signal.SIGTERM in caught:  # it came before the copy said who it is
                with contextlib.suppress(OSError):
                    os.kill(copy[0], signal.SIGTERM)
        elif kind == "exit":
            return int(value)
    if not copy:  # no copy took the job (the warm process went away, or declined it)
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
    one at a time between jobs. A module that fails to import is skipped. The process's
    environment and signal dispositions are noted first, before any import (see
    :func:`_take_over`). Once process ``parent`` is gone, the socket and its folder are
    removed, and it returns when the copies still running have ended.

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
    started_with = {"env": dict(os.environ), "signals": _handlers()}
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    # Each running copy's process id -> a file descriptor of its job's process (a pidfd),
    # which becomes readable when that process ends: the copy is then stopped.
    copies: dict[int, int] = {}
    try:
        listener.listen(128)
        listener.setblocking(False)
        for name in first:
            _import(name)
        pending = list(later)
        while os.getppid() == parent:
            _reap(copies)
            if pending:
                _import(pending.pop(0))
                timeout = 0.0
            else:
                timeout = 0.5
            ready, _, _ = select.select([listener, *copies.values()], [], [], timeout)
            for job in ready:
                if job is not listener:
                    _stop_copy(copies, job)
            if listener not in ready:
                continue
            try:
                connection, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                continue
            connection.setblocking(True)
            job = _watch(connection)
            if job is not None:
                copy = os.fork()
                if copy == 0:
                    listener.close()
                    for descriptor in (*copies.values(), job):
                        os.close(descriptor)
                    _run_job(connection, started_with)  # never returns
                copies[copy] = job
            connection.close()
        # The run is over: no more jobs, but the copies still running are watched to
        # their end, so that each stops if its job's process goes first.
        listener.close()
        _remove(path)
        while True:
            _reap(copies)
            if not copies:
                break
            ready, _, _ = select.select(list(copies.values()), [], [], 0.5)
            for job in ready:
                _stop_copy(copies, job)
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


def _handlers() -> dict[int, object]:
    return {int(s): signal.getsignal(s) for s in _SIGNALS}


def _watch(connection: socket.socket) -> int | None:
    """A pidfd of the job's process at the other end of ``connection``, or None.

    None where the process is gone already or the system has no pidfds (Linux before
    5.3): no copy is started, and the job runs in its own process.
    """
    credentials = connection.getsockopt(
        socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")
    )
    pid, _, _ = struct.unpack("3i", credentials)
    try:
        return os.pidfd_open(pid)
    except (OSError, AttributeError):
        return None


def _reap(copies: dict[int, int]) -> None:
    """Reap the copies that have ended, and forget them."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in copies:
            os.close(copies.pop(pid))


def _stop_copy(copies: dict[int, int], job: int) -> None:
    """Job ``job``'s process has ended: kill its copy, if still running, and its workers.

    The copy has not been reaped yet (:func:`_reap` forgets it when it is), so its
    process id is still its own.
    """
    copy = next(pid for pid, descriptor in copies.items() if descriptor == job)
    del copies[copy]
    os.close(job)
    _kill_children(copy)
    with contextlib.suppress(OSError):
        os.kill(copy, signal.SIGKILL)


def _receive(connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
    header, fds, _, _ = socket.recv_fds(connection, _HEADER.size, 3)
    (size,) = _HEADER.unpack(header)
    body = b""
    while len(body) < size:
        data = connection.recv(size - len(body))
        if not data:
            raise ConnectionError("the job went away while sending its request")
        body += data
    return json.loads(body), fds


class _CannotServe(Exception):
    """The copy cannot give the job what its own process would see."""


def _run_job(connection: socket.socket, started_with: Mapping[str, Any]) -> None:
    """In the forked copy: take on the job's process, and run its script."""
    status = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        request, fds = _receive(connection)
        connection = _out_of_the_way(connection)
        try:
            _take_over(request, fds, started_with)
        except _CannotServe:
            # The connection closes unanswered: the job runs in its own process.
            os._exit(0)
        connection.sendall(f"pid {os.getpid()}\n".encode())
        status = _run_script(request["script"])
        _end()
    except BaseException:  # reported on the job's stderr, status 1
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        try:
            connection.sendall(f"exit {status}\n".encode())
        finally:
            # A worker the job did not stop must not outlive it: it would hold the job's
            # output streams open.
            _kill_children(os.getpid())
            os._exit(status)


def _out_of_the_way(connection: socket.socket) -> socket.socket:
    """``connection`` on file descriptor :data:`_CONNECTION_FD` (or the next free one).

    The files the script opens then get the numbers they would get in the job's own
    process.
    """
    import fcntl

    try:
        moved = fcntl.fcntl(connection.fileno(), fcntl.F_DUPFD_CLOEXEC, _CONNECTION_FD)
    except OSError:
        return connection
    connection.close()
    return socket.socket(fileno=moved)


def _take_over(request: dict[str, Any], fds: list[int], started_with: Mapping[str, Any]) -> None:
    """Take on the state of the job's process; raise :class:`_CannotServe` where not."""
    global _taken
    env = _job_environment(request["env"], started_with["env"])
    for target, fd in zip((0, 1, 2), fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    try:
        # Join the job's process group, so that whatever stops the job's group (a kill
        # of snakemake and its jobs, Ctrl-C) stops this copy and its workers with it.
        os.setpgid(0, int(request["group"]))
        os.sched_setaffinity(0, request["affinity"])
        for name, number in _rlimits():
            if list(resource.getrlimit(number)) != request["limits"][name]:
                resource.setrlimit(number, tuple(request["limits"][name]))
        if os.getpriority(os.PRIO_PROCESS, 0) != request["nice"]:
            os.setpriority(os.PRIO_PROCESS, 0, request["nice"])
    except (OSError, ValueError, KeyError) as error:
        raise _CannotServe(error) from error
    _set_thread_pools(env)
    _set_signals(request, started_with["signals"])
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    sys.argv = list(request["argv"])
    sys.orig_argv = list(request["orig_argv"])
    sys.executable = request["executable"]
    import tempfile

    tempfile.tempdir = request["tempdir"]
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:  # as its import seeds it, in the job's own process
        numpy_random.seed()
    _standard_streams()
    if request["started"] is not None:
        set_job_started(request["started"])
    _taken = request


def _job_environment(job: Mapping[str, str], started: Mapping[str, str]) -> dict[str, str]:
    """The job's environment, with the changes this process's imports made to its own.

    Raises :class:`_CannotServe` if the job's differs from the one this process started
    with (``started``) in a variable outside :data:`PER_JOB_VARIABLES`.
    """
    per_job = set(PER_JOB_VARIABLES)
    if "numexpr" in sys.modules:  # read when it was imported, and not set again here
        per_job.discard("NUMEXPR_NUM_THREADS")
    differ = {name for name in job.keys() | started.keys() if job.get(name) != started.get(name)}
    if differ - per_job:
        raise _CannotServe(f"the job's environment differs in {sorted(differ - per_job)}")
    env = dict(job)
    for name in started.keys() | os.environ.keys():
        if os.environ.get(name) != started.get(name):  # set or removed by an import
            if name in os.environ:
                env[name] = os.environ[name]
            else:
                env.pop(name, None)
    return env


def _set_signals(request: dict[str, Any], started: Mapping[int, object]) -> None:
    """Give each signal the job's disposition, unless an import here set a handler.

    Also blocks the signals the job's process blocks.
    """
    wanted = {int(signum): name for signum, name in request["signals"].items()}
    if None in wanted.values():
        raise _CannotServe("a signal has a handler of the job's own")
    for signum, name in wanted.items():
        current = signal.getsignal(signum)
        mine = signum == signal.SIGTERM or current == started.get(signum)
        if mine and current != _DISPOSITIONS[name]:
            signal.signal(signum, _DISPOSITIONS[name])
    signal.pthread_sigmask(signal.SIG_SETMASK, request["blocked"])


def _set_thread_pools(env: Mapping[str, str]) -> None:
    """Give the loaded BLAS and OpenMP libraries the thread counts ``env`` gives them.

    As each reads them when it is loaded: OpenBLAS the first of ``OPENBLAS_NUM_THREADS``,
    ``GOTO_NUM_THREADS`` and ``OMP_NUM_THREADS`` that is a positive number, at most the
    number of CPUs this process may run on, and that number without one; an OpenMP
    runtime the first number of ``OMP_NUM_THREADS``, or that number of CPUs. Raises
    :class:`_CannotServe` if another library is loaded (MKL, BLIS, OpenBLAS built on
    OpenMP).
    """
    from threadpoolctl import ThreadpoolController

    cpus = len(os.sched_getaffinity(0))
    with warnings.catch_warnings():  # about OpenMP runtimes loaded side by side
        warnings.simplefilter("ignore")
        pools = ThreadpoolController().lib_controllers
    for pool in pools:
        if pool.internal_api == "openblas" and getattr(pool, "threading_layer", "") == "pthreads":
            count = _count(env, "OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")
            wanted = min(count or cpus, cpus)
        elif pool.user_api == "openmp":
            wanted = _count(env, "OMP_NUM_THREADS") or cpus
        else:
            raise _CannotServe(f"{pool.internal_api} is loaded")
        if pool.num_threads != wanted:
            pool.set_num_threads(wanted)


def _count(env: Mapping[str, str], *names: str) -> int | None:
    """The first positive number that one of variables ``names`` starts with, or None."""
    for name in names:
        number = re.match(r"\s*\+?(\d+)", env.get(name, ""))
        if number and int(number[1]) > 0:
            return int(number[1])
    return None


def _standard_streams() -> None:
    """Make sys.stdin, sys.stdout and sys.stderr anew on file descriptors 0, 1 and 2.

    As Python makes them at start: with the encoding and error handler this process's
    have; buffered, and line-buffered on a terminal (stderr always); or, if this
    process's stdout writes through (``python -u``, ``PYTHONUNBUFFERED``), unbuffered.
    """
    unbuffered = sys.__stdout__ is not None and sys.__stdout__.write_through
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        old = getattr(sys, f"__{name}__") or getattr(sys, name)
        writing = fd > 0
        buffer = open(  # noqa: SIM115 - the stream lives as long as the process
            fd,
            "wb" if writing else "rb",
            buffering=0 if writing and unbuffered else -1,
            closefd=False,
        )
        raw = buffer if writing and unbuffered else buffer.raw
        raw.name = f"<{name}>"
        stream = io.TextIOWrapper(
            buffer,
            encoding=old.encoding,
            errors=old.errors,
            newline="\n",
            line_buffering=not unbuffered and (raw.isatty() or fd == 2),
            write_through=unbuffered,
        )
        stream.mode = "w" if writing else "r"
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _run_script(script: str) -> int:
    """Run ``script`` as Python runs a script file, as ``__main__``; its exit status."""
    main = types.ModuleType("__main__")
    main.__dict__.update(
        __annotations__={},
        __builtins__=builtins,
        __file__=script,
        __cached__=None,
        __loader__=SourceFileLoader("__main__", script),
    )
    sys.modules["__main__"] = main
    try:
        with open(script, "rb") as handle:
            code = compile(handle.read(), script, "exec", dont_inherit=True)
        exec(code, main.__dict__)
    except SystemExit as exit_:
        code = exit_.code
        if code is None:
            return 0
        if isinstance(code, int):
            return code & 0xFF
        print(code, file=sys.stderr)
        return 1
    except BaseException:  # as Python itself reports it
        sys.excepthook(*sys.exc_info())
        return 1
    return 0


def _end() -> None:
    """What Python does as a process ends: wait for its threads, run the exit handlers."""
    import atexit
    import threading

    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()


def _kill_children(parent: int) -> None:
    """SIGKILL every process ``parent`` started that is still running (Linux: /proc)."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                ppid = handle.read().rpartition(")")[2].split()[1]
            if ppid == str(parent):
                os.kill(int(entry), signal.SIGKILL)
        except (OSError, IndexError):
            continue


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
    env = {**os.environ, "PYTHONPATH": python_path}
    # One BLAS/OpenMP thread in the warm process, so that no thread pool starts before a
    # fork (OpenMP's does not survive one); each copy sets the job's own counts.
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
    # does not have it there, so modules are not looked for there here either.
    if sys.path and sys.path[0] == os.getcwd():
        del sys.path[0]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve(path, first, later, int(parent))


if __name__ == "__main__":
    # Run as simstudy.warm, the module the copies' scripts import (see hand_over), rather
    # than as this __main__.
    from simstudy import warm

    warm.main(sys.argv[1:])
