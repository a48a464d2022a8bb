"""Seeds for trials and the random streams derived from them.

Two schemes are supported.

``spawn`` (the default)
    Trial ``i`` gets a 128-bit seed drawn from ``SeedSequence(root, spawn_key=(i,))``.
    The seed depends on nothing but the root seed and the trial index, so it is the same
    whatever the chunk size, the number of workers or the executor. Inside a trial, the
    data and every method draw from their own stream, keyed by a label (``"data"`` or
    ``"method/<name>"``) rather than by position, so adding or removing a method leaves
    every other stream untouched.

``legacy``
    Replays the procedure of the blog post this project grew from: the seeds are the
    first ``n`` draws of ``randint(1e8)`` after seeding NumPy's legacy generator with the
    root seed, and each trial seeds NumPy's *global* generator with its own seed before
    drawing data and fitting methods with ``random_state=None``. This is the only code
    path in the project that touches ``np.random.seed``; see :func:`legacy_global_state`.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

SEEDING_SCHEMES = ("spawn", "legacy")

#: Seeds in legacy mode are drawn with ``randint(LEGACY_SEED_HIGH)``, as the blog did.
LEGACY_SEED_HIGH = 100_000_000

#: ``np.random.seed`` accepts only seeds below this bound.
LEGACY_ROOT_SEED_LIMIT = 2**32

_SPAWN_SEED_WORDS = 4  # 4 x 32 bits = 128-bit trial seeds

# Serialises every use of NumPy's global generator: legacy trials reseed and consume it,
# so two of them running in threads of one process at once would interleave their draws.
_GLOBAL_STATE_LOCK = threading.Lock()


def check_seeding(seeding: str) -> str:
    """Return ``seeding`` if it names a known scheme.

    Parameters
    ----------
    seeding
        The scheme's name.

    Returns
    -------
    str
        ``seeding``, unchanged.

    Raises
    ------
    ValueError
        If ``seeding`` is not one of :data:`SEEDING_SCHEMES`.
    """
    if seeding not in SEEDING_SCHEMES:
        raise ValueError(f"seeding {seeding!r} is not one of {', '.join(SEEDING_SCHEMES)}")
    return seeding


def spawn_seed(root_seed: int, trial: int) -> int:
    """Return the 128-bit seed of ``trial`` under the ``spawn`` scheme.

    Parameters
    ----------
    root_seed
        The study's root seed (a non-negative integer).
    trial
        The trial index, counted from 0.

    Returns
    -------
    int
        An integer in ``[0, 2**128)``.
    """
    words = np.random.SeedSequence(root_seed, spawn_key=(trial,)).generate_state(
        _SPAWN_SEED_WORDS, dtype=np.uint32
    )
    return int.from_bytes(words.astype("<u4").tobytes(), "little")


def legacy_seeds(root_seed: int, stop: int) -> np.ndarray:
    """Return the first ``stop`` legacy seeds: ``randint(1e8)`` draws after seeding.

    A private ``RandomState`` gives exactly the values that ``np.random.seed(root_seed)``
    followed by repeated ``np.random.randint(1e8)`` gives, without disturbing the global
    generator. Because the draws form one sequence, a longer list starts with a shorter
    one: trial ``i`` keeps its seed when the study grows.

    Parameters
    ----------
    root_seed
        The study's root seed, below :data:`LEGACY_ROOT_SEED_LIMIT`.
    stop
        How many seeds to draw: those of trials ``0 .. stop - 1``.

    Returns
    -------
    numpy.ndarray
        The seeds, integers in ``[0, LEGACY_SEED_HIGH)``, in trial order.

    Raises
    ------
    ValueError
        If ``root_seed`` is negative or not below :data:`LEGACY_ROOT_SEED_LIMIT`.
    """
    if not 0 <= root_seed < LEGACY_ROOT_SEED_LIMIT:
        raise ValueError(
            f"seed {root_seed!r} cannot be used with seeding 'legacy': "
            f"np.random.seed needs 0 <= seed < 2**32"
        )
    return np.random.RandomState(root_seed).randint(LEGACY_SEED_HIGH, size=stop)


def trial_seeds(root_seed: int, seeding: str, start: int, stop: int) -> list[int]:
    """Return the seeds of trials ``start`` to ``stop - 1`` as Python integers.

    Parameters
    ----------
    root_seed
        The study's root seed.
    seeding
        ``"spawn"`` or ``"legacy"``.
    start, stop
        The half-open range of trial indices; an empty range gives no seeds.

    Returns
    -------
    list of int
        One seed per trial, in trial order: 128-bit seeds (:func:`spawn_seed`) or legacy
        seeds (:func:`legacy_seeds`).

    Raises
    ------
    ValueError
        For an unknown scheme, a range with ``start < 0`` or ``stop < start``, or a root
        seed the scheme cannot use (negative, or for ``legacy`` not below 2**32).
    """
    check_seeding(seeding)
    if not 0 <= start <= stop:
        raise ValueError(f"trial range [{start}, {stop}) is not a valid range")
    if seeding == "spawn":
        return [spawn_seed(root_seed, i) for i in range(start, stop)]
    return [int(s) for s in legacy_seeds(root_seed, stop)[start:stop]]


def stream_key(label: str) -> tuple[int, ...]:
    """Turn a stream label into a ``spawn_key`` of four 32-bit words.

    The words come from a SHA-256 digest of the label, so a stream is identified by its
    name (``"method/gmm"``), never by its position among the other streams.

    Parameters
    ----------
    label
        The stream's label, encoded as UTF-8.

    Returns
    -------
    tuple of int
        The first 16 bytes of the digest as four little-endian 32-bit words.
    """
    digest = hashlib.sha256(label.encode("utf-8")).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def stream(trial_seed: int, label: str) -> np.random.RandomState:
    """Return the random stream ``label`` of the trial seeded with ``trial_seed``.

    scikit-learn does not accept a ``numpy.random.Generator`` as ``random_state``, so the
    stream is a ``RandomState`` driven by an ``MT19937`` bit generator that is seeded from
    the full ``SeedSequence`` (no truncation to a 32-bit seed).

    Parameters
    ----------
    trial_seed
        The trial's seed (``spawn`` scheme).
    label
        The stream's label, such as ``"data"`` or ``"method/<name>"`` (see :func:`stream_key`).

    Returns
    -------
    numpy.random.RandomState
        A new stream; the same arguments always give the same draws.
    """
    seed_sequence = np.random.SeedSequence(trial_seed, spawn_key=stream_key(label))
    return np.random.RandomState(np.random.MT19937(seed_sequence))


def data_stream(trial_seed: int) -> np.random.RandomState:
    """Return the stream that draws a trial's dataset (shared by all its methods).

    Parameters
    ----------
    trial_seed
        The trial's seed.

    Returns
    -------
    numpy.random.RandomState
        The stream labelled ``"data"`` (see :func:`stream`).
    """
    return stream(trial_seed, "data")


def method_stream(trial_seed: int, method: str) -> np.random.RandomState:
    """Return the stream that seeds method ``method`` in a trial.

    Parameters
    ----------
    trial_seed
        The trial's seed.
    method
        The method's name.

    Returns
    -------
    numpy.random.RandomState
        The stream labelled ``"method/<method>"`` (see :func:`stream`).
    """
    return stream(trial_seed, f"method/{method}")


@contextmanager
def legacy_global_state(seed: int) -> Iterator[None]:
    """Seed NumPy's global generator with ``seed`` for the duration of a legacy trial.

    This replays the blog post's procedure, whose estimators draw from the global
    generator (``random_state=None``). A lock keeps two threads of one process from
    using the global generator at the same time; worker processes each have their own.
    The lock is held while the block runs; the global generator's state is not restored
    afterwards.

    Parameters
    ----------
    seed
        The trial's legacy seed, passed to ``np.random.seed``.

    Yields
    ------
    None
        Control, once the global generator is seeded and the lock is held.
    """
    with _GLOBAL_STATE_LOCK:
        np.random.seed(seed)  # noqa: NPY002 - the legacy replay needs the global generator
        yield
