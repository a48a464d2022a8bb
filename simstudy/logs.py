"""Logging set-up shared by the rule scripts, and when the job started."""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: When the job started, where the process that runs it started later (see
#: :func:`set_job_started`); empty otherwise.
_JOB_STARTED: list[float] = []


@contextmanager
def logged(path: str | os.PathLike[str], rule: str) -> Iterator[logging.Logger]:
    """Send log records (and warnings) to ``path`` and stderr while the block runs.

    An exception that escapes the block is written to the log with its traceback before
    it propagates, so the rule's log says why the job failed. The log's first line names
    the process that runs the job and the one that started it. While the block runs,
    SIGTERM raises :class:`SystemExit`, so that the block unwinds (atomic writes remove
    their temporary files); the previous SIGTERM handler is restored afterwards. The
    logging configuration set here (level INFO, handlers replaced) is not undone.

    Parameters
    ----------
    path
        The rule's log file; it is overwritten.
    rule
        The rule's name, used as the logger's name and in the failure message.

    Yields
    ------
    logging.Logger
        The logger named ``rule``.
    """
    handlers: list[logging.Handler] = [
        logging.FileHandler(path, mode="w"),
        logging.StreamHandler(),
    ]
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    logger = logging.getLogger(rule)
    logger.info("running in process %d, started by %s", os.getpid(), _parent())
    # Slurm's scancel and time limit stop a job with SIGTERM, whose default action ends
    # the process at once. Raised as an exception, it unwinds the block instead, so
    # atomic writes remove their temporary files and the log says why the job stopped.
    previous = signal.signal(signal.SIGTERM, _raise_on_sigterm)
    try:
        yield logger
    except BaseException:
        logger.exception("rule %s failed", rule)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        for handler in handlers:
            handler.flush()


def _raise_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by {signal.Signals(signum).name}")


def _parent() -> str:
    """This process's parent: its id and, where /proc tells, what it runs.

    The program's name and, after it, a module run with ``-m`` or the name of the
    script it runs: ``python -m simstudy.warm``, ``python snakemake``.
    """
    import psutil

    parent = os.getppid()
    try:
        words = psutil.Process(parent).cmdline()
    except psutil.Error:
        return f"process {parent}"
    command = os.path.basename(words[0])
    if words[1:2] == ["-m"] and len(words) > 2:
        command += f" -m {words[2]}"
    elif len(words) > 1 and words[1] and not words[1].startswith("-"):
        command += f" {os.path.basename(words[1])}"
    return f"process {parent} ({command})"


def process_started() -> float | None:
    """When this process started, in seconds since the epoch (Linux), or None.

    Its start time since boot, from ``/proc/self/stat``, against the time since boot
    now, from ``/proc/uptime`` (both to the hundredth of a second). Not psutil's
    ``create_time``, which counts from the boot time in whole seconds (``btime`` in
    ``/proc/stat``) and can be off by up to a second; a job's start is logged and
    compared to the hundredth.

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


def set_job_started(started: float) -> None:
    """Record that the job this process runs started at ``started``, before this process.

    For a process that takes over a job another process started (and that waits for
    it): :func:`job_started` then answers the other process's start.

    Parameters
    ----------
    started
        Seconds since the epoch, as :func:`time.time`.
    """
    _JOB_STARTED[:] = [started]


def job_started() -> float | None:
    """When the job this process runs started, in seconds since the epoch, or None.

    Returns
    -------
    float or None
        What :func:`set_job_started` recorded, if anything; otherwise when this process
        started (:func:`process_started`).
    """
    return _JOB_STARTED[0] if _JOB_STARTED else process_started()
