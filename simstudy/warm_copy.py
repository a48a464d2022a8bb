"""A warm job, in the copy: take on the job's process, and run its script as the job.

The warm process (:mod:`simstudy.warm_server`) forks a copy of itself for each job it
takes and calls :func:`run_job` in it. The copy reads the job that
:func:`simstudy.warm.hand_over` sent, takes on the state of the job's process (its
working folder, environment, umask, ``sys.argv`` and ``sys.path``, signal dispositions
and mask, affinity, resource limits, nice value and process group), sets afresh what
the job's own process would have read from its environment as it loaded a library (the
BLAS and OpenMP thread counts, :mod:`tempfile`'s folder, NumPy's global generator),
makes its standard streams on the job's as Python makes them at start, and runs the
script as ``__main__``, as Python runs a script file. Where it cannot give the job what
its own process would see, it closes the connection unanswered, and the job runs in its
own process. The list of what stays the warm process's is in :mod:`simstudy.warm`.
One function here runs in the warm process itself, before it forks: :func:`thread_pools`
lists the BLAS and OpenMP libraries loaded, whose thread counts each copy sets.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import os
import re
import resource
import signal
import socket
import sys
import time
import traceback
import types
import warnings
from collections.abc import Mapping, Sequence
from importlib.machinery import SourceFileLoader
from typing import Any

from simstudy.logs import set_job_started
from simstudy.warm_handover import (
    DISPOSITIONS,
    HEADER,
    PREFIX_VARIABLE,
    SOCKET_VARIABLE,
    SWITCH_VARIABLE,
    rlimits,
)

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
#: and ``SHLVL``; only :func:`~simstudy.warm.hand_over` reads the three of the warm
#: process. (Where numexpr is imported, ``NUMEXPR_NUM_THREADS`` is not one of them: it
#: read it then.)
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

#: Where a copy keeps its connection to the job's process, out of the way.
_CONNECTION_FD = 255

#: In the copy that runs a job: what the job's process sent, once the copy has taken on
#: that process (see :func:`simstudy.warm.hand_over`).
taken: dict[str, Any] | None = None


def _receive(connection: socket.socket) -> tuple[dict[str, Any], list[int]]:
    header, fds, _, _ = socket.recv_fds(connection, HEADER.size, 3)
    (size,) = HEADER.unpack(header)
    body = b""
    while len(body) < size:
        data = connection.recv(size - len(body))
        if not data:
            raise ConnectionError("the job went away while sending its request")
        body += data
    return json.loads(body), fds


class _CannotServe(Exception):
    """The copy cannot give the job what its own process would see."""


def run_job(
    connection: socket.socket, started_with: Mapping[str, Any], pools: Sequence[Any] | None
) -> None:
    """In the forked copy: take on the job's process, and run its script; never returns.

    The copy tells the job's process its own process id, runs the script, sends the
    script's exit status (1 where the copy itself failed, with the traceback on the
    job's stderr), kills the processes the script left running, and exits with that
    status. Where it cannot take on the job's process, it exits at once and leaves
    ``connection`` unanswered: the job then runs in its own process.

    Parameters
    ----------
    connection
        The connection from the job's process, which sends the job (see
        :func:`simstudy.warm.hand_over`).
    started_with
        The warm process's environment (``"env"``) and signal handlers (``"signals"``)
        as they were before it imported any module.
    pools
        The BLAS and OpenMP libraries loaded, as :func:`thread_pools` found them in the
        warm process before it forked this copy.
    """
    status = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        request, fds = _receive(connection)
        connection = _out_of_the_way(connection)
        try:
            _take_over(request, fds, started_with, pools)
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
            kill_children(os.getpid())
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


def _take_over(
    request: dict[str, Any],
    fds: list[int],
    started_with: Mapping[str, Any],
    pools: Sequence[Any] | None,
) -> None:
    """Take on the state of the job's process; raise :class:`_CannotServe` where not."""
    global taken
    env = _job_environment(request["env"], started_with["env"])
    for target, fd in zip((0, 1, 2), fds, strict=True):
        os.dup2(fd, target)
        os.close(fd)
    try:
        # Join the job's process group, so that whatever stops the job's group (a kill
        # of snakemake and its jobs, Ctrl-C) stops this copy and its workers with it.
        os.setpgid(0, int(request["group"]))
        os.sched_setaffinity(0, request["affinity"])
        for name, number in rlimits():
            if list(resource.getrlimit(number)) != request["limits"][name]:
                resource.setrlimit(number, tuple(request["limits"][name]))
        if os.getpriority(os.PRIO_PROCESS, 0) != request["nice"]:
            os.setpriority(os.PRIO_PROCESS, 0, request["nice"])
    except (OSError, ValueError, KeyError) as error:
        raise _CannotServe(error) from error
    _set_thread_pools(env, pools)
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
    taken = request


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
        if mine and current != DISPOSITIONS[name]:
            signal.signal(signum, DISPOSITIONS[name])
    signal.pthread_sigmask(signal.SIG_SETMASK, request["blocked"])


def thread_pools() -> list[Any] | None:
    """The BLAS and OpenMP libraries this process has loaded, as threadpoolctl controllers.

    Finding them means reading every loaded library's name and asking each BLAS or
    OpenMP library for its controls, some 30 ms once scikit-learn's are loaded. The warm
    process therefore finds them itself, before it forks a copy, again only after a new
    import, and its copies use what it found: they have loaded the same libraries.

    Returns
    -------
    list or None
        threadpoolctl's controller of each library, for :func:`_set_thread_pools`; None
        where threadpoolctl failed (the copy then cannot serve, and the job runs in its
        own process).
    """
    from threadpoolctl import ThreadpoolController

    try:
        with warnings.catch_warnings():  # about OpenMP runtimes loaded side by side
            warnings.simplefilter("ignore")
            return ThreadpoolController().lib_controllers
    except Exception:
        return None


def _set_thread_pools(env: Mapping[str, str], pools: Sequence[Any] | None) -> None:
    """Give the loaded BLAS and OpenMP libraries ``pools`` the thread counts ``env`` gives.

    As each reads them when it is loaded: OpenBLAS the first of ``OPENBLAS_NUM_THREADS``,
    ``GOTO_NUM_THREADS`` and ``OMP_NUM_THREADS`` that is a positive number, at most the
    number of CPUs this process may run on, and that number without one; an OpenMP
    runtime the first number of ``OMP_NUM_THREADS``, or that number of CPUs. Raises
    :class:`_CannotServe` if another library is loaded (MKL, BLIS, OpenBLAS built on
    OpenMP), or if ``pools`` is None (they could not be listed).
    """
    if pools is None:
        raise _CannotServe("the loaded BLAS and OpenMP libraries could not be listed")
    cpus = len(os.sched_getaffinity(0))
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
    """Run ``script`` as Python runs a script file, as ``__main__``; its exit status.

    Not ``runpy.run_path(script, run_name="__main__")``: that gives ``__main__`` another
    ``__loader__`` (None) and ``__package__`` ("") than Python gives a script, and puts
    the warm process's own ``__main__`` back when the script returns, before the exit
    handlers the script registered have run (tests/test_warm_probe.py compares these).
    """
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
    """What Python does as a process ends: wait for its threads, run the exit handlers.

    Through two private functions, as no public call does these steps of Python's
    shutdown alone. A copy cannot end as a script's own process does, by letting
    SystemExit reach the interpreter: that would unwind the frames of the warm process's
    serving loop, which the fork copied, and the copy still has to send the job its exit
    status and kill what the script left running. So it does these two steps, then
    ``os._exit``.
    """
    import atexit
    import threading

    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()


def kill_children(parent: int) -> None:
    """SIGKILL every process ``parent`` started that is still running.

    Parameters
    ----------
    parent
        A process id.
    """
    import psutil

    try:
        children = psutil.Process(parent).children()
    except psutil.Error:
        return
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
