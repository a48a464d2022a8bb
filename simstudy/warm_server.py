"""The warm process: import the study's modules once, and run each job in a copy of itself.

:func:`serve` listens on the run's Unix socket. For each job that connects (see
:func:`simstudy.warm.hand_over`) it forks a copy of itself, which takes on the job's
process and runs its script (:mod:`simstudy.warm_copy`). It watches each job's process
through a pidfd: if that process ends before its copy, the copy and the processes it
started are killed. It reaps the copies that end, and stops taking jobs once the
Snakemake process that started it is gone. :mod:`simstudy.warm` starts and stops it.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import select
import signal
import socket
import struct
from collections.abc import Sequence

from simstudy.warm_copy import kill_children, run_job, thread_pools
from simstudy.warm_handover import SIGNALS


def serve(path: str, first: Sequence[str], later: Sequence[str], parent: int) -> None:
    """Import modules and run, in a forked copy, each job sent to socket ``path``.

    The ``first`` modules (the trial code and the study's own) are imported before any
    job is taken: a chunk job that came early would otherwise import them again in its
    copy, while this process imports them too. Jobs that connect meanwhile wait in the
    socket's queue. The ``later`` ones (what the rules after the trials use) are imported
    one at a time between jobs. A module that fails to import is skipped. The BLAS and
    OpenMP libraries loaded are listed here, for the copies, at the first job and at the
    first job after each later import (see :func:`simstudy.warm_copy.thread_pools`). The
    process's environment and signal dispositions are noted first, before any import (see
    :func:`simstudy.warm_copy.run_job`). Once process ``parent`` is gone, the socket and
    its folder are removed, and it returns when the copies still running have ended.

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
    pools = None  # the loaded BLAS/OpenMP libraries: listed at a job, after any import
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
                pools = None
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
                if pools is None:
                    pools = thread_pools()
                copy = os.fork()
                if copy == 0:
                    listener.close()
                    for descriptor in (*copies.values(), job):
                        os.close(descriptor)
                    run_job(connection, started_with, pools)  # never returns
                copies[copy] = job
            connection.close()
        # The run is over: no more jobs, but the copies still running are watched to
        # their end, so that each stops if its job's process goes first.
        listener.close()
        remove_socket(path)
        while True:
            _reap(copies)
            if not copies:
                break
            ready, _, _ = select.select(list(copies.values()), [], [], 0.5)
            for job in ready:
                _stop_copy(copies, job)
    finally:
        listener.close()
        remove_socket(path)


def remove_socket(path: str) -> None:
    """Remove the socket at ``path`` and its private folder, where they exist.

    Parameters
    ----------
    path
        The socket's path.
    """
    for remove, target in ((os.remove, path), (os.rmdir, os.path.dirname(path))):
        with contextlib.suppress(OSError):
            remove(target)


def _import(name: str) -> None:
    with contextlib.suppress(Exception):  # the job that needs it reports the failure
        importlib.import_module(name)


def _handlers() -> dict[int, object]:
    return {int(s): signal.getsignal(s) for s in SIGNALS}


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
    kill_children(copy)
    with contextlib.suppress(OSError):
        os.kill(copy, signal.SIGKILL)
