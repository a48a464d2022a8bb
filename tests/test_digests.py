"""Code digests: what counts as a change of the code that produces results."""

from __future__ import annotations

import importlib.metadata
import sys

import pytest

from simstudy import digests

from conftest import forget_code_digests as forget


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
