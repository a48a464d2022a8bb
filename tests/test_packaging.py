"""pyproject.toml and environment.yml name the same runtime packages."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import REPO


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_and_pyproject_agree_on_runtime_packages():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    environment = yaml.safe_load((REPO / "environment.yml").read_text())
    from_pyproject = {_name(r) for r in pyproject["project"]["dependencies"]}
    conda = [d for d in environment["dependencies"] if isinstance(d, str)]
    from_conda = {_name(d) for d in conda} - {"python", "pip"}
    assert from_pyproject == from_conda
    assert environment["channels"] == ["conda-forge"]


def test_every_runtime_dependency_has_a_minimum_version():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    for requirement in pyproject["project"]["dependencies"]:
        assert ">=" in requirement, requirement
