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


def test_the_slurm_plugin_is_only_in_the_slurm_extra_which_ci_installs():
    """make installs `.[dev]`; once installed the plugin makes every snakemake command wait
    10 s where Slurm exists without a controller, so only the cluster path installs it."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    plugin = "snakemake-executor-plugin-slurm"
    assert plugin in {_name(r) for r in extras["slurm"]}
    assert all(plugin not in _name(r) and "slurm" not in r for r in extras["dev"])
    assert "-e '.[dev]'" in (REPO / "Makefile").read_text()
    assert "-e '.[dev,slurm]'" in (REPO / ".ci/run").read_text()
