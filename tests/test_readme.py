"""The README's promises point at tests that exist."""

from __future__ import annotations

import re

from conftest import REPO


def test_every_test_the_readme_names_exists():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(test_\w+\.py)::(test_\w+)`", readme))
    assert len(named) > 20
    missing = []
    for file, name in sorted(named):
        path = REPO / "tests" / file
        if not path.exists() or not re.search(rf"^def {name}\(", path.read_text(), re.M):
            missing.append(f"{file}::{name}")
    assert missing == []
