"""Code digests: what counts as a change of the code that produces results."""

from __future__ import annotations

import fnmatch
import functools
import importlib.metadata
import re
import sys

import pytest

from simstudy import digests
from simstudy.plan import TRIAL_CODE

from conftest import REPO
from conftest import forget_code_digests as forget

#: Every module of the package, and whether a chunk's digest (``TRIAL_CODE`` and what it
#: imports) covers it: the code that decides a trial's rows does, and nothing else, so
#: that editing code that only runs, watches or reports on chunks reruns no chunk. A new
#: module must be added here, on the side the digest table of docs/reruns.md puts it.
CHUNK_DIGEST = {
    # The trial and its rows.
    "trials": True,  # the trial: draw the data, fit, score, record failures
    "loading": True,  # what the trial loads and imports, once per process
    "rows": True,  # its outcome as the cells of a chunk file
    "guard": True,  # NumPy's global generator under spawn seeding
    "timelimit": True,  # the time limit, which decides whether a row is an error
    "components": True,
    "functions": True,  # method functions: how they are called, what they may return
    "metrics": True,
    "seeding": True,
    "spec": True,
    "tables": True,  # format_value and trial_columns, which rows.py uses
    # Running chunks: workers, progress, the repeat check, failure reports, logs.
    "chunks": False,
    "failures": False,
    "repeat": False,
    "monitor": False,
    "parallel": False,
    "tasks": False,
    "hints": False,
    "integrity": False,  # files written whole and checked: how, not what
    "logs": False,
    "warm": False,  # the warm process, and the modules it is made of
    "warm_handover": False,
    "warm_server": False,
    "warm_copy": False,
    # A study's generators: in the digest of each spec that names one, not in TRIAL_CODE.
    "data": False,
    # The other stages, the plan and the command line.
    "merge": False,
    "summary": False,
    "performance": False,
    "stopping": False,
    "timings": False,
    "provenance": False,
    "report": False,
    "example": False,
    "figure_rules": False,
    "figure_data": False,
    "plots": False,
    "plots_examples": False,
    "plots_pairs": False,
    "plots_summaries": False,
    "plots_performance": False,
    "catalog": False,
    "plan": False,
    "study_layout": False,
    "config": False,
    "study_files": False,
    "schema": False,
    "config_slices": False,
    "contract": False,  # the checks of a study's methods on a sample trial
    "component_checks": False,  # estimators' and generators' params, before any job runs
    "layout": False,
    "digests": False,
    "cli": False,
    "replay": False,
    "__main__": False,
    "__init__": False,
}


@pytest.fixture
def fresh_digests():
    forget()
    yield
    forget()


@pytest.fixture
def user_package(tmp_path, monkeypatch, fresh_digests):
    """A user's own package on sys.path: a module that imports a sibling relatively."""
    package = tmp_path / "userpkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text("def scale(x):\n    return 2 * x\n")
    (package / "methods.py").write_text(
        "import numpy as np\n\nfrom . import helpers\n\n\nclass Mine:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield package
    for name in [m for m in sys.modules if m.startswith("userpkg")]:
        del sys.modules[name]


def digest_after(edit, package) -> str:
    edit(package)
    forget()
    return digests.code_digest("userpkg.methods")


def test_a_users_module_counts_with_what_it_imports_by_source(user_package):
    entries = digests.code_entries(["userpkg.methods"])
    assert {"userpkg.methods", "userpkg.helpers"} <= set(entries)
    assert entries["dist:numpy"] == f"numpy=={importlib.metadata.version('numpy')}"
    before = digests.code_digest("userpkg.methods")

    def comment(package):
        path = package / "helpers.py"
        path.write_text("# only a comment\n" + path.read_text())

    assert digest_after(comment, user_package) == before

    def change(package):
        path = package / "helpers.py"
        path.write_text(path.read_text().replace("2 * x", "3 * x"))

    assert digest_after(change, user_package) != before


def test_an_installed_package_counts_by_its_version(fresh_digests):
    version = importlib.metadata.version("scikit-learn")
    assert digests.code_entries(["sklearn.cluster"]) == {
        "dist:scikit-learn": f"scikit-learn=={version}"
    }


def test_this_packages_modules_count_by_source_and_init_only_when_used(fresh_digests):
    entries = digests.code_entries(["simstudy.trials"])
    assert {"simstudy.trials", "simstudy.seeding", "simstudy.components"} <= set(entries)
    assert "simstudy" not in entries, "`from simstudy import module` does not run __init__ code"


def test_a_module_that_does_not_exist_yet_counts_as_missing(fresh_digests):
    assert digests.code_entries(["no_such_module_here"]) == {"no_such_module_here": "missing"}


def test_source_facts_kept_on_disk_give_the_same_digests_and_follow_edits(
    user_package, tmp_path, monkeypatch
):
    monkeypatch.setattr(digests, "CACHE_DIR", tmp_path / "cache")
    fresh = digests.code_digest("userpkg.methods")
    kept = sorted((tmp_path / "cache" / "code").glob("*.json"))
    assert len(kept) == 2  # methods.py and helpers.py
    forget()
    with monkeypatch.context() as patch:  # read back from the cache: nothing is parsed
        patch.setattr(digests.ast, "parse", lambda *a, **k: pytest.fail("parsed again"))
        assert digests.code_digest("userpkg.methods") == fresh

    for path in kept:
        path.write_text("not json")  # a damaged cache file is passed over
    forget()
    assert digests.code_digest("userpkg.methods") == fresh

    def change(package):
        path = package / "helpers.py"
        path.write_text(path.read_text().replace("2 * x", "3 * x"))

    changed = digest_after(change, user_package)  # a new source, a new cache file
    assert changed != fresh
    monkeypatch.setattr(digests, "CACHE_DIR", tmp_path / "unwritable")
    (tmp_path / "unwritable").write_text("a file, not a folder")
    forget()
    assert digests.code_digest("userpkg.methods") == changed  # worked out without it


def chunk_digest_coverage() -> dict[str, bool]:
    """Each module of the package -> whether the digest of ``TRIAL_CODE`` covers it."""
    covered = set(digests.code_entries(TRIAL_CODE))
    return {
        path.stem: (digests.PACKAGE if path.stem == "__init__" else f"simstudy.{path.stem}")
        in covered
        for path in sorted((REPO / "simstudy").glob("*.py"))
    }


def import_chain(target: str) -> str:
    """How ``TRIAL_CODE`` reaches ``simstudy.<target>``: the imports, one after another."""
    paths = {module: [module] for module in TRIAL_CODE}
    pending = list(TRIAL_CODE)
    while pending:
        module = pending.pop(0)
        if module == f"simstudy.{target}":
            return " -> ".join(paths[module])
        for imported in sorted(digests._imports(module)[0] - paths.keys()):
            paths[imported] = [*paths[module], imported]
            pending.append(imported)
    return "not imported"


def test_the_chunk_digest_covers_the_code_that_decides_rows_and_nothing_else(fresh_digests):
    coverage = chunk_digest_coverage()
    unlisted, gone = coverage.keys() - CHUNK_DIGEST.keys(), CHUNK_DIGEST.keys() - coverage.keys()
    assert not unlisted and not gone, f"CHUNK_DIGEST: add {sorted(unlisted)}, drop {sorted(gone)}"
    wrong = [
        f"{module}: covered ({import_chain(module)})"
        if covered
        else f"{module}: not covered, though it decides rows"
        for module, covered in coverage.items()
        if covered != CHUNK_DIGEST[module]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_digest_table_of_the_docs_says_what_the_chunk_digest_covers():
    """The `run_chunk` row of docs/reruns.md names the modules CHUNK_DIGEST marks covered,
    and every module it says is not covered is marked so."""
    table = (REPO / "docs" / "reruns.md").read_text(encoding="utf-8")
    row = next(line for line in table.splitlines() if line.startswith("| `run_chunk`"))
    covered_text, _, not_covered_text = row.partition("Not the code")
    named = set(re.findall(r"`(?:simstudy\.)?(\w+)(?:\.py)?`", covered_text))
    named -= {"run_chunk", "run_example"}
    assert named == {module for module, covered in CHUNK_DIGEST.items() if covered}
    patterns = re.findall(r"`(\w+\*?)\.py`", not_covered_text)
    assert patterns, row
    for pattern in patterns:
        matching = [m for m in CHUNK_DIGEST if fnmatch.fnmatch(m, pattern)]
        assert matching and not any(CHUNK_DIGEST[m] for m in matching), pattern


@pytest.mark.parametrize("orchestration", ["hints", "parallel", "chunks"])
def test_the_check_fails_when_the_trial_code_imports_orchestration(
    orchestration, tmp_path, monkeypatch, fresh_digests
):
    """The check above sees an import of orchestration code, as an edit would add it."""
    edited = tmp_path / "trials.py"
    source = (digests.PACKAGE_DIR / "trials.py").read_text(encoding="utf-8")
    anchor = "from simstudy.guard import"
    assert anchor in source
    edited.write_text(
        source.replace(anchor, f"from simstudy import {orchestration}\n{anchor}", 1),
        encoding="utf-8",
    )
    real = digests.module_file

    @functools.cache
    def module_file(module: str):
        return edited if module == "simstudy.trials" else real(module)

    monkeypatch.setattr(digests, "module_file", module_file)
    monkeypatch.setattr(digests, "CACHE_DIR", tmp_path / "cache")
    coverage = chunk_digest_coverage()
    assert coverage[orchestration] and coverage != CHUNK_DIGEST
    assert import_chain(orchestration) == f"simstudy.trials -> simstudy.{orchestration}"


def test_a_users_module_is_known_as_none_without_scanning_every_distribution(
    tmp_path, monkeypatch
):
    (tmp_path / "my_study_module.py").write_text("x = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    def scan():
        raise AssertionError("every installed distribution was scanned")

    monkeypatch.setattr(digests, "_packages_distributions", scan)
    assert digests.installed_version.__wrapped__("my_study_module") is None
    version = digests.installed_version.__wrapped__("sklearn")
    assert version is not None and version.startswith("scikit-learn==")


def test_a_distribution_installed_outside_site_packages_keeps_its_version(tmp_path, monkeypatch):
    # As pip install --target or a module system lays it out: a folder on the path with
    # the package and its .dist-info, under a distribution name unlike the import name.
    (tmp_path / "odd_import_name").mkdir()
    (tmp_path / "odd_import_name" / "__init__.py").write_text("x = 1\n")
    info = tmp_path / "odd_distribution-2.5.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: odd-distribution\nVersion: 2.5\n")
    (info / "top_level.txt").write_text("odd_import_name\n")
    (info / "RECORD").write_text("odd_import_name/__init__.py,,\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    digests._packages_distributions.cache_clear()
    try:
        version = digests.installed_version.__wrapped__("odd_import_name")
    finally:
        digests._packages_distributions.cache_clear()
    assert version == "odd-distribution==2.5"
