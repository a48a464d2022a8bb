"""Sizes a newcomer can read: no module of the library or its scripts over 500 lines, and
no function body over 60 lines (its docstring not counted) unless its docstring has a
paragraph starting "Long because" that says why."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from conftest import REPO

MAX_MODULE_LINES = 500
MAX_BODY_LINES = 60

MODULES = sorted([*(REPO / "simstudy").rglob("*.py"), *(REPO / "scripts").glob("*.py")])


def _name(path: Path) -> str:
    return str(path.relative_to(REPO))


def function_body_lengths(source: str) -> list[tuple[str, int, str]]:
    """(qualified name, body lines without the docstring, docstring) of every function."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    docstring = ast.get_docstring(child) or ""
                    body = child.body[1:] if docstring else child.body
                    lines = body[-1].end_lineno - body[0].lineno + 1 if body else 0
                    found.append((name, lines, docstring))
                visit(child, f"{name}.")

    visit(ast.parse(source), "")
    return found


def test_the_modules_are_found():
    names = {_name(p) for p in MODULES}
    assert {"simstudy/trials.py", "simstudy/plan.py", "scripts/run_chunk.py"} <= names


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_is_at_most_500_lines(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{_name(path)} has {lines} lines"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_function_bodies_are_at_most_60_lines_or_say_why(path):
    too_long = [
        f"{name} ({lines} lines)"
        for name, lines, docstring in function_body_lengths(path.read_text())
        if lines > MAX_BODY_LINES and "\nLong because" not in f"\n{docstring}"
    ]
    assert not too_long, f"{_name(path)}: {', '.join(too_long)}"


def test_the_body_count_leaves_out_the_docstring_and_counts_nested_functions():
    source = '''
def outer():
    """A docstring
    of three lines.
    """
    x = 1

    def inner():
        return 2

    return x + inner()
'''
    found = {name: lines for name, lines, _ in function_body_lengths(source)}
    assert found == {"outer": 6, "outer.inner": 1}
