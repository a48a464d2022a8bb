"""The parts of a checked study config that the later stages depend on.

A rule keeps the part of the config it depends on among its settings (see
``settings_file`` in ``workflow/rules/settings.smk``), so that editing the rest of the
config does not rerun it. Two parts are worked out here, from a config as
:func:`simstudy.config.check_config` returns it:

- :func:`drawing_config`, what the figures depend on: all but the keys that only set
  how chunk jobs run (:data:`RUN_ONLY_KEYS`);
- :func:`results_config`, what can change ``trials.csv`` or ``summary.csv``: that, less
  the figure settings and the labels. ``provenance.json`` and the report record it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

#: Keys that set how chunk jobs run, not what they compute: a trial that keeps within
#: its time limit gives the same result whatever the limit. Changing them reruns nothing.
RUN_ONLY_KEYS = ("trial_time_limit",)


def drawing_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of the config that the figures depend on: all but run-only keys.

    Parameters
    ----------
    config
        A resolved config.

    Returns
    -------
    dict
        A deep copy of the config without :data:`RUN_ONLY_KEYS`.
    """
    return copy.deepcopy({k: v for k, v in config.items() if k not in RUN_ONLY_KEYS})


def results_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of the config that can change ``trials.csv`` or ``summary.csv``.

    Figure settings and labels only change how results are drawn, and run-only keys
    (:data:`RUN_ONLY_KEYS`) how jobs run, so they are left out; ``provenance.json``
    records this part, and editing the rest redraws the figures (or nothing) without
    touching the record.

    Parameters
    ----------
    config
        A resolved config.

    Returns
    -------
    dict
        A deep copy of that part of the config.
    """
    kept = {k: v for k, v in drawing_config(config).items() if k != "figures"}
    for section in ("scenarios", "methods"):
        for entry in kept.get(section, {}).values():
            entry.pop("label", None)
    return kept
