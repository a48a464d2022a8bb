"""The study config's JSON schema, and what a config must be before its keys are compared.

:func:`apply_schema` reads back numbers written as text (as ``--config`` gives nested
values), fills in the schema's defaults and validates types and bounds, naming every bad
key and value; its validator counts neither ``True`` nor ``1.0`` as an integer and
matches each pattern against the whole text. :func:`check_text` refuses control
characters anywhere in a config, and whitespace around its names. What a schema cannot
say (how keys fit together) is checked in :mod:`simstudy.config`.

The schema, ``config.schema.yaml``, ships inside this package (:data:`SCHEMA`).
"""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from simstudy.study_files import ConfigError

#: The JSON schema of a study config (written as YAML), package data of simstudy.
SCHEMA = Path(__file__).resolve().parent / "config.schema.yaml"


def load_schema(path: str | os.PathLike[str] = SCHEMA) -> dict[str, Any]:
    """Read the JSON schema (written as YAML) at ``path``, by default the study schema.

    Parameters
    ----------
    path
        The schema file; :data:`SCHEMA` unless given.

    Returns
    -------
    dict
        The schema.
    """
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _is_strict_integer(_checker: Any, instance: Any) -> bool:
    # JSON Schema counts 1.0 as an integer and Python counts True as one; a seed or a
    # count given as either is a mistake worth reporting.
    return isinstance(instance, int) and not isinstance(instance, bool)


def _whole_pattern(
    validator: Any, pattern: str, instance: Any, _schema: Any
) -> Iterator[jsonschema.ValidationError]:
    # JSON Schema's patterns are searched for (jsonschema calls re.search), and Python's
    # "$" also matches before a final newline: "^[a-z]+$" would let "abc\n" through. The
    # schema's patterns are meant for the whole text, so they must match all of it.
    if validator.is_type(instance, "string") and re.fullmatch(pattern, instance) is None:
        yield jsonschema.ValidationError(
            f"{instance!r} does not match {pattern!r} (the whole text must match)"
        )


#: The schema's validator: Draft 2020-12, with strict integers and whole-text patterns.
Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    validators={"pattern": _whole_pattern},
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", _is_strict_integer
    ),
)

_INTEGER = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?", re.IGNORECASE)
# Infinity and NaN as Python ("inf") and as YAML (".inf", ".nan") spell them.
_NON_FINITE_TEXT = re.compile(r"(?P<sign>[+-]?)\.?(?P<word>inf|infinity|nan)", re.IGNORECASE)
_LITERALS = {"true": True, "false": False, "null": None, "none": None}


def _coerce(value: Any) -> Any:
    """Read numbers, booleans and null written as text, recursively.

    Snakemake parses nested ``--config`` values with YAML's base loader, which leaves
    every scalar a string: ``--config 'methods={gmm: {params: {n_init: 5}}}'`` arrives as
    ``n_init: '5'``. Parameter values are coerced back so that such overrides work.
    """
    if isinstance(value, Mapping):
        return {key: _coerce(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_coerce(item) for item in value]
    if isinstance(value, str):
        text = value.strip()
        if _INTEGER.fullmatch(text):
            return int(text)
        if _FLOAT.fullmatch(text):
            return float(text)
        if match := _NON_FINITE_TEXT.fullmatch(text):
            return float(match["sign"] + match["word"])
        if text.lower() in _LITERALS:
            return _LITERALS[text.lower()]
    return value


def _coerce_params(config: dict[str, Any]) -> None:
    for section in ("scenarios", "methods"):
        entries = config.get(section)
        if isinstance(entries, dict):
            for entry in entries.values():
                if isinstance(entry, dict) and isinstance(entry.get("params"), Mapping):
                    entry["params"] = _coerce(entry["params"])
    figures = config.get("figures")
    if isinstance(figures, dict):
        for key in ("example_trial", "dpi"):
            if key in figures:
                figures[key] = _coerce(figures[key])
    stopping = config.get("stopping")
    if isinstance(stopping, dict):
        for key in ("half_width", "mcse", "batch", "max_trials"):
            if key in stopping:
                stopping[key] = _coerce(stopping[key])
    estimands = config.get("estimands")
    if isinstance(estimands, dict):
        for entry in estimands.values():
            if isinstance(entry, dict):
                for key in ("truth", "alpha"):
                    if isinstance(entry.get(key), str):
                        entry[key] = _coerce(entry[key])


def _apply_defaults(instance: Any, schema: Mapping[str, Any]) -> None:
    """Fill in the schema's defaults for missing keys, recursively.

    Not ``snakemake.utils.validate(..., set_default=True)``: that fills defaults while it
    validates with Snakemake's own validator class, shares each default's object between
    configs, and stops at the first error, where :func:`apply_schema` validates with
    :data:`Validator` (strict integers, whole-text patterns) and names every bad key.
    """
    if not isinstance(instance, dict):
        return
    properties = schema.get("properties", {})
    for key, subschema in properties.items():
        if key not in instance and "default" in subschema:
            instance[key] = copy.deepcopy(subschema["default"])
        if key in instance:
            _apply_defaults(instance[key], subschema)
    extra = schema.get("additionalProperties")
    if isinstance(extra, Mapping):
        for key, value in instance.items():
            if key not in properties:
                _apply_defaults(value, extra)


def _key(path: Sequence[Any]) -> str:
    return ".".join(str(part) for part in path) or "(top level)"


def _describe(error: jsonschema.ValidationError, schema: Mapping[str, Any]) -> str:
    if error.validator == "oneOf" and list(error.absolute_path) == ["stopping"]:
        return (
            f"config key 'stopping' = {error.instance!r}: give exactly one of half_width "
            f"(the half-width of the compared difference's interval) or mcse (with measure "
            f"and estimand: the Monte Carlo SE of a performance measure)"
        )
    if error.validator == "oneOf" and len(error.absolute_path) == 2:
        return (
            f"config key {_key(error.absolute_path)!r} = {error.instance!r}: give exactly one "
            f"of estimator (a scikit-learn-style estimator class) or function (a function "
            f"f(data, [rng], **params) that returns named numbers)"
        )
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(error.schema.get("properties", {}))
        unknown = [key for key in error.instance if key not in known]
        messages = []
        for key in unknown:
            hint = difflib.get_close_matches(str(key), known, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            where = _key([*error.absolute_path, key])
            messages.append(
                f"unknown config key {where!r} with value {error.instance[key]!r}{suggestion}; "
                f"known keys here: {', '.join(known)}"
            )
        return "; ".join(messages)
    return f"config key {_key(error.absolute_path)!r}: {error.message}"


# Control characters (C0, DEL, C1) and Unicode's line and paragraph separators: text
# holding one would break the lines of tables and logs, or hide in a file name.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _texts(value: Any, path: tuple[Any, ...], free: bool) -> Iterator[tuple[str, str, bool, bool]]:
    """Yield ``(where, text, is_key, free)`` for every key and string below ``value``.

    ``free`` marks the values inside ``params``: free text, which may start or end with
    a space. Keys (names) are never free.
    """
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str):
                yield _key(path), key, True, False
            params = len(path) == 2 and path[0] in ("scenarios", "methods") and key == "params"
            yield from _texts(item, (*path, key), free or params)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _texts(item, (*path, index), free)
    elif isinstance(value, str):
        yield _key(path), value, False, free


def check_text(config: Mapping[str, Any]) -> None:
    """Refuse control characters in any text, and whitespace around names, labels, paths.

    Every key and every string of the config is looked at, params included: no control
    character anywhere. Outside the values of ``params`` (free text), no text may start
    or end with whitespace either: a name ``"gmm "`` looks like ``"gmm"`` but is another.

    Parameters
    ----------
    config
        The study config, as given (before defaults are filled in).

    Raises
    ------
    ConfigError
        Naming the first key whose text, or whose name, breaks either rule.
    """
    for where, text, is_key, free in _texts(config, (), False):
        shown = f"config key {where!r} " + (f"has the key {text!r}" if is_key else f"= {text!r}")
        if match := _CONTROL.search(text):
            raise ConfigError(
                f"{shown}, which holds U+{ord(match[0]):04X}, a control character or line "
                f"break; no name, label, path or value of a study config may hold one (they "
                f"would break the lines of tables and logs, or hide in file names)"
            )
        if not free and text != text.strip():
            raise ConfigError(
                f"{shown}, which starts or ends with whitespace; names, labels, dotted paths "
                f"and settings may not (only text values inside params may)"
            )


def apply_schema(config: dict[str, Any], schema: Mapping[str, Any]) -> None:
    """Fill in the schema's defaults and validate ``config`` against it, in place.

    Numbers, booleans and null that ``--config`` left as text, in params and in a few
    settings, are read back first.

    Parameters
    ----------
    config
        A copy of the study config, changed in place.
    schema
        The JSON schema (see :func:`load_schema`).

    Raises
    ------
    ConfigError
        Naming every key whose value the schema refuses, and the value.
    """
    _coerce_params(config)
    _apply_defaults(config, schema)
    errors = sorted(Validator(schema).iter_errors(config), key=lambda e: list(e.path))
    if errors:
        raise ConfigError(
            "invalid study config: " + "; ".join(_describe(e, schema) for e in errors)
        )
