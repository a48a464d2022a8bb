"""Read study files strictly, and merge them as Snakemake merges config files.

A study file is JSON or YAML. Either is read as plain data only: a key given twice in
one mapping (YAML and JSON would keep only the last value), a YAML tag (``!!python/...``)
and a value that is not plain data (a set, binary data, an unquoted date) are refused,
naming the file and the line. What the merged config may hold is checked next (see
:func:`simstudy.config.check_config`).
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import yaml
from snakemake.utils import update_config


class ConfigError(ValueError):
    """The study config is invalid; the message names the key and the bad value."""


class _StudyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing what would silently change a study file's meaning."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"{key_node.start_mark.name}, line {line}: duplicate key {key!r} (first "
                    f"given on line {seen[key]}); YAML would keep only the last value"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _refuse_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    mark = node.start_mark
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    raise ConfigError(
        f"{mark.name}, line {mark.line + 1}: YAML tags are not allowed ({tag}); a "
        f"study file holds plain values (numbers, text, true/false, null, lists, mappings)"
    )


def _refuse_type(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    mark = node.start_mark
    kind = node.tag.rpartition(":")[2]
    what = f"{node.value!r} reads as a date (quote it to make it text)"
    if kind != "timestamp":
        what = f"a YAML {kind} is not allowed"
    raise ConfigError(
        f"{mark.name}, line {mark.line + 1}: {what}; a study file holds plain values "
        f"(numbers, text, true/false, null, lists, mappings)"
    )


_StudyLoader.add_multi_constructor("tag:yaml.org,2002:python/", _refuse_tag)
_StudyLoader.add_multi_constructor("!", _refuse_tag)
for _kind in ("set", "binary", "timestamp", "omap", "pairs"):
    _StudyLoader.add_constructor(f"tag:yaml.org,2002:{_kind}", _refuse_type)


def _json_object(path: str, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for key, value in pairs:
        if key in mapping:
            raise ConfigError(f"{path}: duplicate key {key!r}; only the last value would count")
        mapping[key] = value
    return mapping


def read_study_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read one study file (YAML or JSON), strictly.

    The text is read as JSON first, as Snakemake reads config files, and as YAML if it is
    not JSON.

    Parameters
    ----------
    path
        The study file.

    Returns
    -------
    dict
        The file's top-level mapping of config keys, as written (no defaults filled in).

    Raises
    ------
    ConfigError
        If the file is missing or unreadable, is not a mapping, repeats a key in one
        mapping (YAML would keep only the last value), uses a YAML tag such as
        ``!!python/tuple``, or holds a value that is not plain data (a set, binary data,
        an unquoted date); the message names the file, the line and the key or tag.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
            try:  # JSON first, as Snakemake reads config files: JSON may hold tabs
                data = json.loads(text, object_pairs_hook=lambda p: _json_object(str(path), p))
            except json.JSONDecodeError:
                handle.seek(0)  # YAML from the file, so that messages name it
                data = yaml.load(handle, Loader=_StudyLoader)  # a SafeLoader, stricter still
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"study file {os.fspath(path)!r} cannot be read: {error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(
            f"study file {os.fspath(path)!r} is not valid YAML or JSON: {error}"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"study file {os.fspath(path)!r} must hold a mapping of config keys, "
            f"got {type(data).__name__}"
        )
    return data


def read_study(
    files: Sequence[str | os.PathLike[str]], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The raw study config: the study files merged in order, then ``overrides``.

    Parameters
    ----------
    files
        The study files: those given with ``--configfile``, or else the default
        ``config/config.yaml``. The default file is never merged with a file given on the
        command line: a study file is the whole study, and keys it leaves out take the
        schema's defaults.
    overrides
        The ``--config key=value`` overrides, applied on top.

    Returns
    -------
    dict
        The merged config, not yet checked (see :func:`check_config`).

    Raises
    ------
    ConfigError
        From :func:`read_study_file`.
    """
    # Snakemake's own merge, as it combines several --configfile files and --config: a
    # nested mapping changes only the keys it names. Copies, so nothing is shared.
    study: dict[str, Any] = {}
    for path in files:
        update_config(study, read_study_file(path))
    update_config(study, copy.deepcopy(dict(overrides or {})))
    return study
