"""Every public function, method and class of the package has a numpydoc docstring.

A summary line; a ``Parameters`` section naming each parameter; ``Returns`` (or
``Yields``) when it gives back a value; ``Raises`` when it raises an exception itself.
Properties need only their summary. Read from the source, so nothing is imported.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from conftest import REPO

MODULES = sorted((REPO / "simstudy").rglob("*.py"))
_SECTION = re.compile(r"^(?P<name>[A-Z][a-z]+)\n-{3,}$", re.MULTILINE)


def sections(docstring: str) -> dict[str, str]:
    """Section name -> its text, for the numpydoc sections of ``docstring``."""
    found = list(_SECTION.finditer(docstring))
    return {
        match["name"]: docstring[
            match.end() : found[i + 1].start() if i + 1 < len(found) else None
        ]
        for i, match in enumerate(found)
    }


def documented_names(text: str) -> set[str]:
    """Names that a Parameters section documents (``a, b`` and ``a : type`` lines)."""
    names = set()
    for line in text.splitlines():
        if line and not line[0].isspace():
            for name in line.split(":")[0].split(","):
                names.add(name.strip().lstrip("*"))
    return names


def _own_nodes(function: ast.AST):
    """The nodes of ``function``'s own body, not of functions or classes inside it."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda
        ):
            stack.extend(ast.iter_child_nodes(node))


def problems(function: ast.FunctionDef) -> list[str]:
    docstring = ast.get_docstring(function)
    if not docstring:
        return ["no docstring"]
    found = []
    if not docstring.splitlines()[0].strip():
        found.append("no summary line")
    decorators = {getattr(d, "id", getattr(d, "attr", "")) for d in function.decorator_list}
    if decorators & {"property", "cached_property"}:
        return found
    arguments = function.args
    names = [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
    names += [a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None]
    names = [n for n in names if n not in ("self", "cls") and not n.startswith("_")]
    parts = sections(docstring)
    if names:
        missing = set(names) - documented_names(parts.get("Parameters", ""))
        if missing:
            found.append(f"Parameters does not name {sorted(missing)}")
    own = list(_own_nodes(function))
    yields = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in own)
    returns = any(isinstance(n, ast.Return) and n.value is not None for n in own)
    if yields and "Yields" not in parts:
        found.append("no Yields section")
    if returns and not yields and "Returns" not in parts:
        found.append("no Returns section")
    if any(isinstance(n, ast.Raise) and n.exc is not None for n in own) and "Raises" not in parts:
        found.append("no Raises section")
    return found


def public_definitions(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            yield node.name, node
            for member in node.body:
                if isinstance(member, ast.FunctionDef) and not member.name.startswith("_"):
                    yield f"{node.name}.{member.name}", member
        elif isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            yield node.name, node


@pytest.mark.parametrize(
    "path", MODULES, ids=lambda p: p.relative_to(REPO / "simstudy").as_posix()
)
def test_public_definitions_have_numpydoc_docstrings(path):
    found = []
    for name, node in public_definitions(path):
        if isinstance(node, ast.ClassDef):
            if not ast.get_docstring(node):
                found.append(f"{name}: no docstring")
            continue
        found += [f"{name} (line {node.lineno}): {p}" for p in problems(node)]
    assert not found, "\n".join(found)


def test_the_check_finds_what_it_looks_for():
    source = '''
def f(a, b):
    """Summary.

    Parameters
    ----------
    a
        Thing.
    """
    if a:
        raise ValueError(a)
    return b
'''
    (function,) = ast.parse(source).body
    assert problems(function) == [
        "Parameters does not name ['b']",
        "no Returns section",
        "no Raises section",
    ]
