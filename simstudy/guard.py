"""Notice a draw from NumPy's global random generator, and undo it.

Under ``spawn`` seeding every random number of a trial comes from the streams the study
passes in, so a method or data generator that draws from NumPy's global generator
ignores them: its numbers then depend on what ran before it in the same process, which
differs with the chunk size and the number of workers. :class:`GlobalGeneratorGuard`
looks at the generator's state before and after each step of a trial and moves it back
after a draw. What a draw means for the trial's rows (which method fails, and with
which message) is decided by :mod:`simstudy.trials`.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

#: Bytes of MT19937's state (624 32-bit words, then the position in them): NumPy's
#: global generator, unless a program replaced it with np.random.set_bit_generator.
_MT19937_STATE_BYTES = 624 * 4 + 4

# (fingerprint, full state) of the global generator as the last guarded trial of this
# process found it, with no cached normal deviate; see GlobalGeneratorGuard.
_clean_global_state: tuple[bytes | str, dict[str, Any]] | None = None


def _global_fingerprint() -> bytes | str:
    """The global generator's state, cheaply: a copy of its raw bytes (a few µs).

    ``np.random.get_state()`` converts the state into Python objects and costs some
    60-90 µs, several per trial: too much for trials of 10 ms.
    """
    bit_generator = np.random.get_bit_generator()
    if isinstance(bit_generator, np.random.MT19937):
        return ctypes.string_at(bit_generator.ctypes.state_address, _MT19937_STATE_BYTES)
    return repr(bit_generator.state)


class GlobalGeneratorGuard:
    """Notice a draw from NumPy's global generator during a trial, and undo it.

    Under ``spawn`` seeding no code may depend on the global generator, so a draw from
    it means a method (or data generator) ignores the streams the study gives it: its
    numbers then depend on what ran before it in the same process, which differs with
    the chunk size and the number of workers. Comparing the state before and after is
    the only cheap way to see that; moving the state back afterwards keeps the next
    trials of the process from inheriting the damage.
    """

    def __init__(self) -> None:
        global _clean_global_state
        fingerprint = _global_fingerprint()
        if _clean_global_state is None or _clean_global_state[0] != fingerprint:
            state = np.random.get_state(legacy=False)  # noqa: NPY002 - what is guarded
            if state["has_gauss"]:
                # A cached normal deviate is handed out without moving the generator, so
                # that one draw would go unseen. Nothing under spawn may rely on the
                # global generator, so the cache can simply be dropped.
                state = {**state, "has_gauss": 0, "gauss": 0.0}
                np.random.set_state(state)  # noqa: NPY002 - what is guarded
                fingerprint = _global_fingerprint()
            _clean_global_state = (fingerprint, state)
        self.fingerprint, self.state = _clean_global_state

    def drawn(self) -> bool:
        """Return whether the global generator moved since the trial began; undo it if so.

        Returns
        -------
        bool
            True if the generator's state changed; it is then set back to what it was.
        """
        if _global_fingerprint() == self.fingerprint:
            return False
        np.random.set_state(self.state)  # noqa: NPY002 - undoing a method's draws
        return True
