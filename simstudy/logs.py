"""Logging set-up shared by the rule scripts."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def logged(path: str | os.PathLike[str], rule: str) -> Iterator[logging.Logger]:
    """Send log records (and warnings) to ``path`` and stderr while the block runs.

    An exception that escapes the block is written to the log with its traceback before
    it propagates, so the rule's log says why the job failed.
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
    try:
        yield logger
    except BaseException:
        logger.exception("rule %s failed", rule)
        raise
    finally:
        for handler in handlers:
            handler.flush()
