"""The documentation's promises point at tests, files and headings that exist.

The documentation is README.md, CONTRIBUTING.md and the pages under docs/. Every
``test_file.py::test_name`` it names must be a test; every relative link and image must
point to a file that exists, and a link's ``#anchor`` to a heading of its target (the
anchor GitHub makes of it). The README stays short enough to read in ten minutes, and
``docs/outputs.md`` lists every kind of figure the catalog has.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO

#: The README a newcomer reads first; everything else lives in docs/.
README_MAX_LINES = 300

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
#: ``[text](target)`` and ``![alt](target)``, with an optional "title".
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def documents() -> list[Path]:
    """The documentation files: the README, CONTRIBUTING.md and every page in docs/."""
    return [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted(REPO.glob("docs/*.md"))]


def prose(text: str) -> str:
    """``text`` without fenced code blocks and code spans, where nothing is a link."""
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text in lower case, punctuation other than
    ``-`` and ``_`` dropped, spaces turned into ``-``."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link counts by its text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of ``path``'s headings; a repeated heading gets ``-1``, ``-2``, ..."""
    found: set[str] = set()
    for heading in _HEADING.findall(_FENCE.sub("", path.read_text(encoding="utf-8"))):
        base = anchor = slug(heading)
        n = 0
        while anchor in found:
            n += 1
            anchor = f"{base}-{n}"
        found.add(anchor)
    return found


def broken_links(path: Path) -> list[str]:
    """The relative links and images of ``path`` whose file or heading does not exist."""
    broken = []
    for target in _LINK.findall(prose(path.read_text(encoding="utf-8"))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # https:, mailto:, ...
            continue
        file, _, anchor = target.partition("#")
        where = (path.parent / file).resolve() if file else path
        if not where.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and where.suffix == ".md" and anchor not in anchors(where):
            broken.append(f"{target} (no such heading in {where.name})")
    return broken


def test_every_test_the_documentation_names_exists():
    named = set()
    for path in documents():
        named |= set(re.findall(r"`(?:tests/)?(test_\w+\.py)::(test_\w+)`", path.read_text()))
    assert len(named) > 20
    missing = []
    for file, name in sorted(named):
        path = REPO / "tests" / file
        if not path.exists() or not re.search(rf"^def {name}\(", path.read_text(), re.M):
            missing.append(f"{file}::{name}")
    assert missing == []


@pytest.mark.parametrize("path", documents(), ids=lambda path: path.name)
def test_every_relative_link_and_image_points_to_what_exists(path):
    assert broken_links(path) == []


def test_the_link_check_sees_a_broken_file_and_a_broken_anchor(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text("# A page\n\n## Choosing a chunk size\n")
    (tmp_path / "docs" / "figure.png").write_bytes(b"")
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Title\n\n"
        "[ok](docs/page.md#choosing-a-chunk-size) ![ok](docs/figure.png) [ok](#title)\n"
        "[web](https://example.org/x.md) `[code](nowhere.md)`\n"
        "```\n[in a block](nowhere.md)\n```\n"
        "[gone](docs/gone.md) ![gone](figure.png) [bad anchor](docs/page.md#chunk-size)\n"
        "[own bad anchor](#nothing)\n"
    )
    assert broken_links(readme) == [
        "docs/gone.md (no such file)",
        "figure.png (no such file)",
        "docs/page.md#chunk-size (no such heading in page.md)",
        "#nothing (no such heading in README.md)",
    ]


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        (
            "Fewer, longer Slurm jobs: groups and arrays",
            "fewer-longer-slurm-jobs-groups-and-arrays",
        ),
        ("Warm jobs: imports paid once per run", "warm-jobs-imports-paid-once-per-run"),
        ("Use `simstudy replay` (one trial)", "use-simstudy-replay-one-trial"),
        ("snake_case and A - B", "snake_case-and-a---b"),
    ],
)
def test_anchors_follow_githubs_slug_rules(heading, anchor):
    assert slug(heading) == anchor


def test_the_readme_is_at_most_300_lines():
    lines = (REPO / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail to docs/"


def test_docs_outputs_lists_every_kind_of_figure_in_the_reports_order():
    from simstudy import catalog

    table = (REPO / "docs/outputs.md").read_text().split("## Every kind of figure", 1)[1]
    listed = re.findall(r"^\| `([^`]+)\.png` \|", table, re.M)
    # The page writes a kind's {value} as <value> or <estimand>, as the kind picks them.
    listed = [re.sub(r"<(value|estimand)>", "{value}", name) for name in listed]
    assert listed == [kind.name for kind in catalog.figure_kinds()]
