"""A warm job, the job's side: send the job to the run's warm process, and wait for it.

A job's script calls :func:`simstudy.warm.hand_over` before its own imports;
:mod:`simstudy.warm` tells the whole story. Where a warm process listens, the job's
process connects to it and sends the job (:func:`send_job`): the script file, its
standard streams and the state of the process that a copy takes on
(:func:`job_request`). It then waits for the copy that runs the script
(:mod:`simstudy.warm_copy`), passing a SIGTERM on to it, and gets its exit status. If no
copy takes the job, it gets None, and the job runs in its own process, as it would
have without a warm process.

What both ends of the connection know is defined here too: the variables that point
jobs to the warm process (and :func:`enabled`, which reads the switch), the signal
dispositions a copy can give itself, the resource limits, and the header of a request.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import struct
import sys
from collections.abc import Iterator
from typing import Any

from simstudy.logs import process_started

#: Environment variable that tells jobs where the run's warm process listens.
SOCKET_VARIABLE = "SIMSTUDY_WARM_SOCKET"

#: The Python installation (``sys.prefix``) of the warm process: a job run by another
#: one (``--use-conda``, a container) keeps to its own process.
PREFIX_VARIABLE = "SIMSTUDY_WARM_PREFIX"

#: ``SIMSTUDY_WARM_JOBS=0`` makes every job run in its own process, as Snakemake starts it.
SWITCH_VARIABLE = "SIMSTUDY_WARM_JOBS"

#: The signal dispositions a job's process may have that a copy can give itself.
DISPOSITIONS = {
    "SIG_DFL": signal.SIG_DFL,
    "SIG_IGN": signal.SIG_IGN,
    "default_int_handler": signal.default_int_handler,
}

#: Every signal whose disposition a process can set.
SIGNALS = tuple(s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP))

#: The size of a request's JSON body, sent ahead of it with the job's standard streams.
HEADER = struct.Struct("!Q")


def enabled() -> bool:
    """Whether this platform and the environment allow jobs to be handed over.

    Returns
    -------
    bool
        True on Linux unless :data:`SWITCH_VARIABLE` is ``"0"``.
    """
    return sys.platform == "linux" and os.environ.get(SWITCH_VARIABLE, "1") != "0"


def job_request(script: str) -> dict[str, Any]:
    """The job to send: its script, and the state of this process that a copy takes on.

    Parameters
    ----------
    script
        The absolute path of the job's script file.

    Returns
    -------
    dict
        What :func:`send_job` sends, as JSON.
    """
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
        "signals": {int(s): _disposition(signal.getsignal(s)) for s in SIGNALS},
        "blocked": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
        "affinity": sorted(os.sched_getaffinity(0)),
        "limits": {name: resource.getrlimit(number) for name, number in rlimits()},
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "tempdir": getattr(tempfile, "tempdir", None),
        "started": process_started(),
        "group": os.getpgrp(),
    }


def _disposition(handler: object) -> str | None:
    """The name of a signal's handler in :data:`DISPOSITIONS`; None for any other."""
    for name, known in DISPOSITIONS.items():
        if handler == known:
            return name
    return None


def rlimits() -> list[tuple[str, int]]:
    """The resource limits a process has, which a copy takes on from the job's.

    Returns
    -------
    list of (str, int)
        Each ``RLIMIT_`` name of :mod:`resource`, and its number.
    """
    return [
        (name, getattr(resource, name)) for name in dir(resource) if name.startswith("RLIMIT_")
    ]


def send_job(path: str, request: dict[str, Any]) -> int | None:
    """Send the job to the warm process at ``path``; return its exit status.

    Returns ``None`` when the warm process cannot be reached, or closes the connection
    before a copy has taken the job: the job then runs here, with the signal handlers
    it had, which then get the signals that came meanwhile.

    Parameters
    ----------
    path
        The warm process's socket.
    request
        The job, as :func:`job_request` gives it.

    Returns
    -------
    int or None
        The exit status of the copy that ran the job; None where no copy took it.
    """
    try:
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.connect(path)
    except OSError:
        return None
    body = json.dumps(request).encode()
    try:
        socket.send_fds(connection, [HEADER.pack(len(body))], [0, 1, 2])
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
