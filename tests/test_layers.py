"""The package's import graph reads as layers in pipeline order (docs/architecture.md).

A module imports only from its own layer or a lower one, never the command line, and no
modules import each other in a loop. Lazy imports inside functions count too.

The modules of the ``simstudy/figures`` package (named ``figures.<module>`` here) are one
exception, by design: the catalog, of the plan layer, imports them by listing the
package, so at module level they import nothing above the plan layer; their ``draw``
imports the drawing layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

#: The layers of the table in docs/architecture.md, from the top down.
LAYERS = {
    "command line": {"cli", "replay", "__main__"},
    "drawing": {
        "figure_rules",
        "figures",
        *(f"figures.{path.stem}" for path in (REPO / "simstudy/figures").glob("[!_]*.py")),
        "figure_data",
        "plots",
        "plots_examples",
        "plots_pairs",
        "plots_summaries",
        "plots_performance",
        "example",
    },
    "stages": {
        "trials",
        "loading",
        "rows",
        "chunks",
        "failures",
        "repeat",
        "monitor",
        "merge",
        "summary",
        "performance",
        "stopping",
        "timings",
        "provenance",
        "report",
    },
    "plan": {
        "plan",
        "study_layout",
        "catalog",
        "config",
        "study_files",
        "schema",
        "config_slices",
        "contract",
        "component_checks",
    },
    "foundations": {
        "layout",
        "spec",
        "seeding",
        "tables",
        "integrity",
        "digests",
        "components",
        "functions",
        "metrics",
        "data",
        "parallel",
        "tasks",
        "guard",
        "timelimit",
        "warm",
        "warm_handover",
        "warm_server",
        "warm_copy",
        "logs",
        "hints",
        "__init__",
    },
}
#: The warm process and the modules it is made of (docs/architecture.md, "Warm jobs").
#: Only a job script's first line knows of it: no other module of the package imports it.
WARM = {"warm", "warm_handover", "warm_server", "warm_copy"}
RANK = {
    module: rank for rank, modules in enumerate(reversed(LAYERS.values())) for module in modules
}


def module_name(path: Path) -> str:
    """A module's name here: ``trials``, ``figures`` (the package) or ``figures.zip``."""
    inner = path.relative_to(REPO / "simstudy").with_suffix("").parts
    return ".".join(inner[:-1] if inner[-1] == "__init__" and len(inner) > 1 else inner)


def imported(node: ast.AST) -> set[str]:
    """The package modules that an import statement names, as :func:`module_name` does."""
    if isinstance(node, ast.Import):
        dotted = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("simstudy"):
        dotted = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    else:
        return set()
    found = {".".join(name.split(".")[1:]) for name in dotted if name.startswith("simstudy.")}
    return {name for name in found if name in RANK}


def imports() -> dict[str, set[str]]:
    """Module -> the package modules it imports, anywhere in its code."""
    graph = {}
    for path in sorted((REPO / "simstudy").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found = set().union(*map(imported, ast.walk(tree)))
        graph[module_name(path)] = found - {module_name(path)}
    return graph


def test_every_module_has_a_layer():
    assert set(imports()) == set(RANK)


def test_no_module_imports_from_a_higher_layer():
    upward = [
        f"{module} ({RANK[module]}) imports {target} ({RANK[target]})"
        for module, targets in imports().items()
        for target in targets
        if RANK[target] > RANK[module]
    ]
    assert not upward, upward


def test_only_the_warm_process_imports_its_own_modules():
    outside = [
        f"{module} imports {sorted(targets & WARM)}"
        for module, targets in imports().items()
        if module not in WARM and targets & WARM
    ]
    assert not outside, outside


def test_no_modules_import_each_other_in_a_loop():
    graph = imports()
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        assert module not in path, " -> ".join([*path, module])
        if module in done:
            return
        for target in graph[module]:
            visit(target, [*path, module])
        done.add(module)

    for module in graph:
        visit(module, [])


def test_the_figure_modules_import_nothing_above_the_plan_at_module_level():
    """The catalog imports them while the workflow plans (simstudy/catalog.py)."""
    above = []
    for path in sorted((REPO / "simstudy/figures").glob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            above += [
                f"{module_name(path)} imports {target}"
                for target in imported(node)
                if RANK[target] > RANK["catalog"]
            ]
    assert not above, above
