"""The package's import graph reads as layers in pipeline order (docs/architecture.md).

A module imports only from its own layer or a lower one, never the command line, and no
modules import each other in a loop. Lazy imports inside functions count too.
"""

from __future__ import annotations

import ast

from conftest import REPO

#: The layers of the table in docs/architecture.md, from the top down.
LAYERS = {
    "command line": {"cli", "replay", "__main__"},
    "drawing": {
        "figures",
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


def imports() -> dict[str, set[str]]:
    """Module -> the package modules it imports, anywhere in its code."""
    graph = {}
    for path in sorted((REPO / "simstudy").glob("*.py")):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "simstudy":
                    found |= {alias.name for alias in node.names}
                elif node.module.startswith("simstudy."):
                    found.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                found |= {
                    a.name.split(".")[1] for a in node.names if a.name.startswith("simstudy.")
                }
        graph[path.stem] = found - {path.stem}
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
