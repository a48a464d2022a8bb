"""Logging set-up shared by the rule scripts."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

from simstudy.warm import SERVED_VARIABLE


@contextmanager
def logged(path: str | os.PathLike[str], rule: str) -> Iterator[logging.Logger]:
    """Send log records (and warnings) to ``path`` and stderr while the block runs.

    An exception that escapes the block is written to the log with its traceback before
    it propagates, so the rule's log says why the job failed. While the block runs,
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
    if os.environ.get(SERVED_VARIABLE) == "1":
        logger.info("run by the run's warm process, pid %d (see simstudy/warm.py)", os.getpid())
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
