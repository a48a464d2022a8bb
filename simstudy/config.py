"""Check a study config; nothing here plans what the study runs.

:func:`check_config` runs when the Snakefile is parsed, before any job starts. The
study files are read strictly first (:mod:`simstudy.study_files`); the config's text is
checked, the schema's defaults filled in and types and bounds validated
(:mod:`simstudy.schema`). What a schema cannot say is checked here: that every
estimator and generator imports and accepts its params (:mod:`simstudy.contract`, run on
a sample trial and remembered), that the comparison and the figures name real methods
and scenarios, that labels tell entries apart, that the study is small enough to plan,
and so on. Every error names the key and the value. What a valid config runs is worked
out by :class:`simstudy.plan.StudyPlan`.

This module is where the rest of the workflow takes the config's functions from: it
also gives the reading (:func:`read_study`, :func:`read_study_file`), the schema
(:data:`SCHEMA`, :func:`load_schema`) and :class:`ConfigError`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import sys
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

from simstudy import contract
from simstudy.digests import code_digest, component_modules
from simstudy.integrity import atomic_write
from simstudy.layout import (
    GROUP_SEPARATOR,
    MAX_CHUNK_JOBS,
    MAX_RECOMMENDED_JOBS,
    count_chunk_jobs,
    method_groups,
    recommended_chunk_size,
)
from simstudy.metrics import METRICS
from simstudy.schema import apply_schema, check_text, load_schema
from simstudy.seeding import LEGACY_ROOT_SEED_LIMIT
from simstudy.spec import canonical_json
from simstudy.study_files import ConfigError

_MAX_GROUP_NAME = 200  # keeps chunk directory names well inside filesystem limits
_MAX_CHUNK_SIZE = 10_000_000  # the schema's maximum of chunk_size


def _fail(key: str, value: Any, reason: str) -> ConfigError:
    return ConfigError(f"config key {key!r} = {value!r}: {reason}")


def check_config(
    config: Mapping[str, Any],
    schema: Mapping[str, Any] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Validate a study config and return a copy with every default filled in.

    Parameters
    ----------
    config
        The config as Snakemake loaded it (config file plus ``--config`` overrides).
    schema
        The JSON schema; by default the study schema (:func:`load_schema`).
    cache_dir
        Where to remember estimator and generator checks that passed. Those checks
        import scikit-learn and draw a sample dataset (seconds); they are skipped when
        the very same scenarios and methods already passed with the same code (see
        :func:`components_fingerprint`).

    Returns
    -------
    dict
        The resolved config.

    Raises
    ------
    ConfigError
        On the first kind of problem found, naming every bad key and value of that kind.
    """
    if schema is None:
        schema = load_schema()
    check_text(config)
    resolved = copy.deepcopy(dict(config))
    _drop_found(resolved)
    apply_schema(resolved, schema)

    seed, seeding = resolved["seed"], resolved["seeding"]
    if seeding == "legacy" and seed >= LEGACY_ROOT_SEED_LIMIT:
        raise _fail("seed", seed, "seeding 'legacy' needs a seed below 2**32 (np.random.seed)")

    methods = resolved["methods"]
    for name in resolved["comparison"]:
        if name not in methods:
            raise _fail(
                "comparison",
                resolved["comparison"],
                f"{name!r} is not a method; methods are {', '.join(methods)}",
            )
    together = seeding == "legacy" or resolved["methods_per_chunk"] == "all"
    if together and len(GROUP_SEPARATOR.join(methods)) > _MAX_GROUP_NAME:
        why = "seeding 'legacy'" if seeding == "legacy" else "methods_per_chunk 'all'"
        raise _fail(
            "methods",
            list(methods),
            f"too many or too long names to run in one chunk group, as {why} does "
            f"(their names joined by {GROUP_SEPARATOR!r} name its folder, at most "
            f"{_MAX_GROUP_NAME} characters)",
        )
    _check_labels(resolved)
    _check_stopping(resolved)
    _check_job_count(resolved)
    _check_figures(resolved)
    _check_estimand_truths(resolved)

    passed = Path(cache_dir, components_fingerprint(resolved)) if cache_dir is not None else None
    _note_components(resolved, passed)
    _check_stopping_value(resolved)
    _check_estimand_values(resolved)
    return resolved


def _drop_found(config: dict[str, Any]) -> None:
    """Remove what the check adds to a config, so that a resolved config checks again.

    ``provenance.json`` records a resolved config, which ``simstudy replay`` checks.
    """
    config.pop("values", None)
    methods = config.get("methods")
    if isinstance(methods, dict):
        for method in methods.values():
            if isinstance(method, dict):
                method.pop("values", None)


def _check_components(resolved: dict[str, Any]) -> dict[str, Any]:
    """Check every generator, method and metric on a sample trial (seconds, at times)."""
    try:
        return contract.check_study(resolved)
    except contract.ContractError as error:
        raise _fail(error.key, error.value, str(error)) from None


def _note_components(resolved: dict[str, Any], passed: Path | None) -> None:
    """Run :func:`_check_components`, or read back its result; note it in ``resolved``.

    ``resolved`` gains the study's ``values``, and each method its ``task`` (an
    estimator) and ``values``. A check that passed is kept in ``passed``, as JSON.
    """
    found = None
    if passed is not None and passed.is_file():
        with suppress(OSError, ValueError):
            found = json.loads(passed.read_text(encoding="utf-8"))
    if not isinstance(found, dict):
        found = _check_components(resolved)
        if passed is not None:
            passed.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(passed, record=False) as handle:
                handle.write(json.dumps(found))
    resolved["values"] = found["values"]
    for name, method in resolved["methods"].items():
        if found["tasks"][name] is not None:
            method["task"] = found["tasks"][name]
        method["values"] = found["method_values"][name]


def _check_labels(resolved: dict[str, Any]) -> None:
    """Refuse two scenarios, or two methods, that figures would show under one label.

    An entry without ``label`` is shown under its key, so a label equal to another
    entry's key counts too.
    """
    for section in ("scenarios", "methods"):
        owners: dict[str, str] = {}
        for name, entry in resolved[section].items():
            label = entry.get("label") or name
            if label in owners:
                first = owners[label]
                raise ConfigError(
                    f"config keys {section}.{first} and {section}.{name} have the same label "
                    f"{label!r} ({_label_source(resolved, section, first)}; "
                    f"{_label_source(resolved, section, name)}): the figures would not tell "
                    f"them apart; give each its own label"
                )
            owners[label] = name


def _label_source(resolved: dict[str, Any], section: str, name: str) -> str:
    label = resolved[section][name].get("label")
    if label:
        return f"{section}.{name}.label = {label!r}"
    return f"{section}.{name} has no label, so its key is its label"


def _check_stopping(resolved: dict[str, Any]) -> None:
    """A precision-driven study cannot start above its cap."""
    stopping = resolved["stopping"]
    if stopping is None:
        return
    if stopping["max_trials"] < resolved["n_trials"]:
        raise _fail(
            "stopping.max_trials",
            stopping["max_trials"],
            f"must be at least n_trials ({resolved['n_trials']}), the trials of the first round",
        )


def _check_stopping_value(resolved: dict[str, Any]) -> None:
    """A precision-driven study stops on one of its named values (by default the first),
    or on a measure of one of its estimands (by default the first)."""
    stopping = resolved["stopping"]
    if stopping is None:
        return
    if "mcse" in stopping:
        estimands = resolved["estimands"]
        if not estimands:
            raise _fail("stopping.mcse", stopping["mcse"], "needs estimands: the study has none")
        if stopping["estimand"] is None:
            stopping["estimand"] = next(iter(estimands))
        elif stopping["estimand"] not in estimands:
            raise _fail(
                "stopping.estimand",
                stopping["estimand"],
                f"is not one of the study's estimands ({', '.join(estimands)})",
            )
        return
    if stopping["metric"] is None:
        stopping["metric"] = resolved["values"][0]
    elif stopping["metric"] not in resolved["values"]:
        raise _fail(
            "stopping.metric",
            stopping["metric"],
            f"is not one of the study's named values ({', '.join(resolved['values'])})",
        )


def _is_real(value: Any) -> bool:
    """Whether ``value`` is a finite real number (``True`` and ``False`` are not)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_estimand_truths(resolved: dict[str, Any]) -> None:
    """An estimand's truth is a finite number, or a real-valued param of every scenario."""
    for name, entry in resolved["estimands"].items():
        truth = entry["truth"]
        if not isinstance(truth, dict):
            if not _is_real(truth):
                raise _fail(f"estimands.{name}.truth", truth, "must be a finite number")
            continue
        param = truth["param"]
        for scenario, scenario_entry in resolved["scenarios"].items():
            params = scenario_entry["params"]
            if param not in params:
                raise _fail(
                    f"estimands.{name}.truth.param",
                    param,
                    f"scenario {scenario!r} has no such param (scenarios.{scenario}.params "
                    f"has {', '.join(map(str, params)) or 'none'}); every scenario must give "
                    f"the true value in its params",
                )
            if not _is_real(params[param]):
                raise _fail(
                    f"estimands.{name}.truth.param",
                    param,
                    f"scenarios.{scenario}.params.{param} = {params[param]!r} is not a "
                    f"finite real number, so it cannot be the true value",
                )


def _check_estimand_values(resolved: dict[str, Any]) -> None:
    """An estimand, and each column it names, is one of the study's named values."""
    values = resolved["values"]
    for name, entry in resolved["estimands"].items():
        if name not in values:
            raise _fail(
                f"estimands.{name}",
                entry,
                f"{name!r} is not one of the study's named values ({', '.join(values)}); "
                f"an estimand is named by the value its methods give as the estimate",
            )
        for key, column in entry["columns"].items():
            if column not in values:
                raise _fail(
                    f"estimands.{name}.columns.{key}",
                    column,
                    f"is not one of the study's named values ({', '.join(values)})",
                )


def _check_job_count(resolved: dict[str, Any]) -> None:
    """Refuse a study with more chunk jobs than Snakemake can plan in reasonable memory.

    A precision-driven study is counted at its largest: every scenario at
    ``max_trials``, each round's batch cut into chunks of its own.
    """
    n_trials, chunk_size = resolved["n_trials"], resolved["chunk_size"]
    groups = len(resolved["scenarios"]) * len(
        method_groups(resolved["methods"], resolved["seeding"], resolved["methods_per_chunk"])
    )
    jobs = count_chunk_jobs(n_trials, chunk_size, groups)
    if jobs > MAX_CHUNK_JOBS:  # the first (or only) round alone has too many
        better = recommended_chunk_size(n_trials, groups)
        raise ConfigError(
            f"config keys 'n_trials' = {n_trials} and 'chunk_size' = {chunk_size} give "
            f"{jobs:,} chunk jobs ({groups} scenario and method group pairs), more than the "
            f"{MAX_CHUNK_JOBS:,} Snakemake can plan in reasonable time and memory; "
            f"chunk_size {better} would give {count_chunk_jobs(n_trials, better, groups):,} "
            f"(see docs/performance.md, 'Choosing a chunk size')"
        )
    stopping = resolved["stopping"]
    if stopping is not None:
        batch, max_trials = stopping["batch"], stopping["max_trials"]
        jobs = _stopping_jobs(n_trials, chunk_size, groups, batch, max_trials)
        if jobs > MAX_CHUNK_JOBS:
            raise _too_many_rounds(resolved, groups, jobs)


def _stopping_jobs(n_trials: int, chunk_size: int, groups: int, batch: int, cap: int) -> int:
    """A precision-driven study's chunk jobs at most: every scenario reaches ``cap``."""
    extra = cap - n_trials
    rounds = -(-extra // batch)
    per_round = -(-min(batch, max(extra, 1)) // chunk_size)
    return count_chunk_jobs(n_trials, chunk_size, groups) + groups * rounds * per_round


def _smallest_batch(
    n_trials: int, chunk_size: int, groups: int, cap: int, limit: int = MAX_CHUNK_JOBS
) -> int | None:
    """The smallest ``stopping.batch`` that gives at most ``limit`` chunk jobs, if any.

    Up to one chunk per round (a batch of at most ``chunk_size``), the job count falls
    as the batch grows; a larger batch cuts each round into more chunks and does not
    give fewer jobs than a batch of ``chunk_size`` (or of all the trials past the first
    round), so the search stops there.
    """

    def fits(batch: int) -> bool:
        return _stopping_jobs(n_trials, chunk_size, groups, batch, cap) <= limit

    low, high = 1, max(1, min(chunk_size, cap - n_trials))
    if not fits(high):
        return None
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if fits(middle) else (middle + 1, high)
    return low


def _batch_option(n_trials: int, chunk_size: int, groups: int, cap: int) -> str | None:
    """A ``stopping.batch`` that passes, with a larger chunk size if need be; None if none.

    It aims at the number of jobs docs/performance.md recommends, else at the limit. With a batch
    of at most the chunk size, each round is one chunk per pair, so a chunk size of
    ``groups * cap / (limit - 2 * groups)`` trials is always large enough.
    """
    for limit in (MAX_RECOMMENDED_JOBS, MAX_CHUNK_JOBS):
        if limit <= 2 * groups:
            continue
        size = max(chunk_size, -(-groups * cap // (limit - 2 * groups)))
        batch = _smallest_batch(n_trials, size, groups, cap, limit)
        if batch is not None and size <= _MAX_CHUNK_SIZE:
            count = _stopping_jobs(n_trials, size, groups, batch, cap)
            larger = f"chunk_size {size} and " if size != chunk_size else ""
            return f"{larger}stopping.batch {batch} would give {count:,}"
    return None


def _too_many_rounds(resolved: dict[str, Any], groups: int, jobs: int) -> ConfigError:
    """The refusal of a precision-driven study whose rounds give too many chunk jobs."""
    n_trials, chunk_size = resolved["n_trials"], resolved["chunk_size"]
    batch, cap = resolved["stopping"]["batch"], resolved["stopping"]["max_trials"]
    options = [_batch_option(n_trials, chunk_size, groups, cap)]
    per_round = groups * -(-batch // chunk_size)
    rounds = (MAX_CHUNK_JOBS - count_chunk_jobs(n_trials, chunk_size, groups)) // per_round
    if rounds > 0:
        fewer = n_trials + rounds * batch
        count = _stopping_jobs(n_trials, chunk_size, groups, batch, fewer)
        options.append(f"stopping.max_trials {fewer} (at most) would give {count:,}")
    options = [option for option in options if option] or ["fewer scenarios or methods"]
    trials = f"{batch} trial{'s' if batch != 1 else ''}"
    return ConfigError(
        f"config keys 'stopping.batch' = {batch} and 'stopping.max_trials' = {cap} give up "
        f"to {jobs:,} chunk jobs: {groups} scenario and method group pairs, each with up to "
        f"{-(-(cap - n_trials) // batch):,} rounds of {trials} after the first n_trials = "
        f"{n_trials}, in chunks of chunk_size = {chunk_size} at most; more than the "
        f"{MAX_CHUNK_JOBS:,} Snakemake can plan in reasonable time and memory. "
        + "; or ".join(options)
        + " (see docs/outcomes.md, 'Precision-driven studies', and docs/performance.md, "
        "'Choosing a chunk size')"
    )


def _check_figures(resolved: dict[str, Any]) -> None:
    figures = resolved["figures"]
    if figures["example_scenario"] is None:
        figures["example_scenario"] = next(iter(resolved["scenarios"]))
    elif figures["example_scenario"] not in resolved["scenarios"]:
        raise _fail(
            "figures.example_scenario",
            figures["example_scenario"],
            f"not a scenario; scenarios are {', '.join(resolved['scenarios'])}",
        )
    if figures["example_trial"] >= resolved["n_trials"]:
        raise _fail(
            "figures.example_trial",
            figures["example_trial"],
            f"must be below n_trials ({resolved['n_trials']})",
        )


#: What of a method its sample-trial check depends on.
_CHECKED_KEYS = ("estimator", "function", "task", "params")


def components_fingerprint(resolved: Mapping[str, Any]) -> str:
    """Identify the component checks of a config.

    The fingerprint covers the scenarios, methods and metrics as configured, Python's
    version and the code of every module that provides a generator, a method or a metric
    given by dotted path, with the checks' own code (see
    :func:`simstudy.digests.code_digest`): installed packages by version, this package's
    and a user's own modules by their code.

    Parameters
    ----------
    resolved
        A config with its defaults filled in, as :func:`check_config` makes it.

    Returns
    -------
    str
        The SHA-256 hex digest of those inputs.
    """
    methods = resolved["methods"]
    paths = [s["generator"] for s in resolved["scenarios"].values()] + [
        m.get("estimator") or m["function"] for m in methods.values()
    ]
    paths += [metric for metric in resolved["metrics"] if metric not in METRICS]
    checked = {
        "scenarios": {n: [s["generator"], s["params"]] for n, s in resolved["scenarios"].items()},
        "methods": {n: {k: m.get(k) for k in _CHECKED_KEYS} for n, m in methods.items()},
        "metrics": resolved["metrics"],
        "seeding": resolved["seeding"],
        "python": sys.version,
        "code": code_digest("simstudy.contract", *component_modules(paths)),
    }
    return hashlib.sha256(canonical_json(checked).encode("utf-8")).hexdigest()
