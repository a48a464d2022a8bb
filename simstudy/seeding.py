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

import functools
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

# The constants of NumPy's numpy.random.SeedSequence, whose mixing
# :func:`spawn_seeds` repeats for many trials at once.
_POOL_SIZE = 4
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R = np.uint32(0xCA01F9DD), np.uint32(0x4973F715)
_XSHIFT = 16
_MASK32 = 0xFFFFFFFF

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


def _uint32_words(value: int) -> list[int]:
    """A non-negative integer as NumPy's SeedSequence reads it: 32-bit words, low first."""
    if value < 0:
        raise ValueError(f"seed {value!r} must be a non-negative integer")
    words = [value & _MASK32]
    while value := value >> 32:
        words.append(value & _MASK32)
    return words


class _Hasher:
    """SeedSequence's ``hashmix``: its constant advances with every call, whatever the data."""

    def __init__(self) -> None:
        self.constant = _INIT_A

    def __call__(self, value: np.ndarray) -> np.ndarray:
        value = value ^ np.uint32(self.constant)
        self.constant = (self.constant * _MULT_A) & _MASK32
        value = value * np.uint32(self.constant)
        return value ^ (value >> _XSHIFT)


def _mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    result = _MIX_MULT_L * x - _MIX_MULT_R * y
    return result ^ (result >> _XSHIFT)


def _spawn_states(root_seed: int, trials: np.ndarray) -> list[np.ndarray]:
    """``SeedSequence(root_seed, spawn_key=(t,)).generate_state(4)`` for every ``t``.

    NumPy's mixing, on arrays: uint32 arithmetic wraps as its C code does. The root's
    words (padded with zeros to the pool size, as NumPy does when there is a spawn key)
    come first and are the same for every trial; the trial's word (``trials`` must be
    below 2**32) comes last. Returns the four state words, one array each.
    """
    root = _uint32_words(root_seed)
    root += [0] * (_POOL_SIZE - len(root))
    entropy = [np.array([word], dtype=np.uint32) for word in root]
    entropy.append(trials.astype(np.uint32))
    hashmix = _Hasher()
    pool = [hashmix(word) for word in entropy[:_POOL_SIZE]]
    for source in range(_POOL_SIZE):
        for target in range(_POOL_SIZE):
            if source != target:
                pool[target] = _mix(pool[target], hashmix(pool[source]))
    for word in entropy[_POOL_SIZE:]:
        for target in range(_POOL_SIZE):
            pool[target] = _mix(pool[target], hashmix(word))
    constant, state = _INIT_B, []
    for word in pool:  # generate_state(4, uint32): one output word per pool word
        word = word ^ np.uint32(constant)
        constant = (constant * _MULT_B) & _MASK32
        word = word * np.uint32(constant)
        state.append(word ^ (word >> _XSHIFT))
    return state


def spawn_seeds(root_seed: int, start: int, stop: int) -> list[int]:
    """Return the ``spawn`` seeds of trials ``start`` to ``stop - 1``, computed together.

    Each seed equals :func:`spawn_seed` of its trial, to the bit; the mixing of NumPy's
    ``SeedSequence`` runs on arrays of trials instead of once per trial, so that the
    seeds of millions of trials take seconds. Trials from 2**32 on (never reached: a
    study has at most 10**8) are computed one by one with NumPy's ``SeedSequence``.

    Parameters
    ----------
    root_seed
        The study's root seed (a non-negative integer).
    start, stop
        The half-open range of trial indices, ``0 <= start <= stop``.

    Returns
    -------
    list of int
        One 128-bit seed per trial, in trial order.
    """
    fast_stop = min(stop, 2**32)
    seeds: list[int] = []
    if start < fast_stop:
        words = _spawn_states(root_seed, np.arange(start, fast_stop, dtype=np.uint64))
        low = words[0].astype(np.uint64) | (words[1].astype(np.uint64) << np.uint64(32))
        high = words[2].astype(np.uint64) | (words[3].astype(np.uint64) << np.uint64(32))
        seeds = [(h << 64) | lo for h, lo in zip(high.tolist(), low.tolist(), strict=True)]
    seeds += [spawn_seed(root_seed, i) for i in range(max(start, fast_stop), stop)]
    return seeds


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
        One seed per trial, in trial order: 128-bit seeds (:func:`spawn_seeds`, equal to
        :func:`spawn_seed` of each trial) or legacy seeds (:func:`legacy_seeds`).

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
        return spawn_seeds(root_seed, start, stop)
    return [int(s) for s in legacy_seeds(root_seed, stop)[start:stop]]


@functools.lru_cache(maxsize=1024)  # a few labels per study, asked for by every trial
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


def stream_of_kind(trial_seed: int, label: str, kind: str | None):
    """Return stream ``label`` of a trial as the kind a function's parameter asks for.

    Following Scientific Python's SPEC 7, a function that names its stream ``rng`` gets
    a ``numpy.random.Generator`` (PCG64); one that names it ``random_state`` gets the
    ``RandomState`` of :func:`stream`. Both are seeded from the same ``SeedSequence``
    (the trial seed and the label), so a stream never depends on anything else.

    Parameters
    ----------
    trial_seed
        The trial's seed (``spawn`` scheme).
    label
        The stream's label (see :func:`stream_key`).
    kind
        ``"rng"``, ``"random_state"`` or None (the function takes no stream).

    Returns
    -------
    numpy.random.Generator or numpy.random.RandomState or None
        A new stream, or None for a function without one.
    """
    if kind == "rng":
        seed_sequence = np.random.SeedSequence(trial_seed, spawn_key=stream_key(label))
        return np.random.Generator(np.random.PCG64(seed_sequence))
    return stream(trial_seed, label) if kind == "random_state" else None


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
