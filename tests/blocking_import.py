"""A module whose import waits until the file named by ``SIMSTUDY_TEST_GO`` exists.

A test has a warm process import it first, so that a job can be queued at the warm
process's socket before the warm process takes any (tests/test_warm.py). It waits 60 s
at most.
"""

import os
import time

_deadline = time.monotonic() + 60
while not os.path.exists(os.environ["SIMSTUDY_TEST_GO"]) and time.monotonic() < _deadline:
    time.sleep(0.02)
