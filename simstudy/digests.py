"""Fingerprint the code that produces each stage's results.

Snakemake reruns a ``script:`` job when the script file changes, but it does not see the
modules the script imports, nor the estimators and generators a study names by dotted
path. :func:`code_digest` closes that gap. The workflow passes a digest to each rule as a
param, so an edit reruns exactly the jobs whose code it changes:

- a module of this package, or of a user's own code (a module that no installed
  distribution provides, such as ``mymodule.MyClusterer`` on ``PYTHONPATH``, or a
  package installed in editable mode) counts by its syntax tree, together with every
  such module it imports, directly or not. Comments, formatting and docstrings do not
  count, nor does a package's ``__init__`` (``__version__``) unless a module takes
  something from it;
- a module of an installed distribution (scikit-learn, NumPy, ...) counts by that
  distribution's name and version, whether a study names it or tracked code imports
  it: upgrading it reruns what uses it.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path

PACKAGE = "simstudy"
PACKAGE_DIR = Path(__file__).resolve().parent

#: This user's cache of simstudy: facts about source files (see :func:`_source_facts`),
#: and the config checks that passed (see ``CHECKED_COMPONENTS`` in common.smk).
CACHE_DIR = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "simstudy"

# Import names whose distribution is named differently (saves a scan of all of them).
_DISTRIBUTIONS = {"sklearn": "scikit-learn", "yaml": "PyYAML"}


@cache
def _packages_distributions() -> Mapping[str, list[str]]:
    """Top-level module -> distributions, read once: it scans every installed one."""
    return importlib.metadata.packages_distributions()


def _beside_distributions(top: str) -> bool:
    """Whether top-level module ``top`` lies in a folder that holds installed distributions.

    A module found in a folder with no ``*.dist-info`` or ``*.egg-info`` in it (a user's
    folder on ``PYTHONPATH``, a checkout) belongs to no installed distribution, which
    this tells without a scan of every installed one (about 0.1 s, at every snakemake
    command). Any folder that has them, wherever it is (site-packages, a ``--target``
    folder, a module system's tree on ``PYTHONPATH``), is scanned as before.
    """
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    if spec is None:
        return False
    if spec.submodule_search_locations:  # a package: the folders that hold it
        folders = [Path(place).parent for place in spec.submodule_search_locations]
    elif spec.origin:  # a module file
        folders = [Path(spec.origin).parent]
    else:
        return False
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        if any(name.endswith((".dist-info", ".egg-info")) for name in names):
            return True
    return False


@cache
def installed_version(top: str) -> str | None:
    """``"name==version"`` of the distribution that provides top-level module ``top``.

    Parameters
    ----------
    top
        A top-level module name, such as ``"sklearn"``.

    Returns
    -------
    str or None
        ``"name==version"``, with the distribution's own name (``"scikit-learn==1.5.0"``).
        None when no installed distribution provides it (the standard library, a user's
        module), when it is installed in editable mode (its code can change without a
        new version), and for this package.
    """
    if top == PACKAGE or top in sys.stdlib_module_names:
        return None
    try:
        dist = importlib.metadata.distribution(_DISTRIBUTIONS.get(top, top))
    except importlib.metadata.PackageNotFoundError:
        if not _beside_distributions(top):  # a user's module: no distribution has it
            return None
        names = _packages_distributions().get(top)
        if not names:
            return None
        dist = importlib.metadata.distribution(names[0])
    direct_url = dist.read_text("direct_url.json")
    if direct_url and json.loads(direct_url).get("dir_info", {}).get("editable"):
        return None
    return f"{dist.metadata['Name']}=={dist.version}"


@cache
def module_file(module: str) -> Path | None:
    """The source file of ``module``, if it is code that this project tracks by source.

    That is this package's modules, and modules that neither the standard library nor
    a (non-editable) installed distribution provides. Finding a submodule imports its
    parent package; a top-level module is found without importing it.

    Parameters
    ----------
    module
        A dotted module name.

    Returns
    -------
    pathlib.Path or None
        The module's ``.py`` file (a package's ``__init__.py``); None when the module is
        not tracked by source, cannot be found, or is not Python source.
    """
    top = module.split(".")[0]
    if top == PACKAGE:
        relative = "__init__" if module == PACKAGE else module.removeprefix(f"{PACKAGE}.")
        path = PACKAGE_DIR / f"{relative.replace('.', '/')}.py"
        if not path.is_file():
            path = PACKAGE_DIR / relative.replace(".", "/") / "__init__.py"
        return path if path.is_file() else None
    if top in sys.stdlib_module_names or installed_version(top) is not None:
        return None
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    return Path(spec.origin)


def _without_docstrings(tree: ast.Module) -> ast.Module:
    """Remove the docstrings of ``tree``'s module, classes and functions, in place."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


#: An import statement as :func:`_source_facts` keeps it: ``(level, module, names)``;
#: level -1 marks ``import a, b``, any other level a ``from module import names``.
_Statement = tuple[int, str | None, tuple[str, ...]]

#: What the kept facts also depend on: Python's version (its syntax trees) and this
#: module's own code (how the facts are worked out), so that neither can go stale.
_FACTS_KEY = f"{sys.version}\0".encode() + hashlib.sha256(Path(__file__).read_bytes()).digest()


@cache
def _source_facts(module: str) -> tuple[str, tuple[_Statement, ...]]:
    """What a tracked module's code does, and what it imports, read from its source.

    The first is the SHA-256 of its syntax tree without docstrings: what it does,
    without comments, layout or docs. Parsing and dumping syntax trees is most of the
    cost of the digests a plan needs (about 0.7 s for this package), and both facts
    depend only on the source text, Python's version and the code of this module. So
    they are kept in ``CACHE_DIR/code``, in a file named by the hash of the three; a
    cache file that cannot be read or written is passed over.
    """
    path = module_file(module)
    source = path.read_bytes()
    key = hashlib.sha256(_FACTS_KEY + source).hexdigest()
    kept = CACHE_DIR / "code" / f"{key}.json"
    try:
        fingerprint, statements = json.loads(kept.read_text(encoding="utf-8"))
        return fingerprint, tuple((level, name, tuple(names)) for level, name, names in statements)
    except (OSError, ValueError, TypeError):
        pass
    tree = ast.parse(source, filename=str(path))
    found: list[_Statement] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.append((-1, None, tuple(alias.name for alias in node.names)))
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module, tuple(alias.name for alias in node.names)))
    dump = ast.dump(_without_docstrings(tree), annotate_fields=True, include_attributes=False)
    fingerprint = hashlib.sha256(dump.encode()).hexdigest()
    try:
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_name(f".{kept.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps([fingerprint, found]), encoding="utf-8")
        partial.replace(kept)
    except OSError:
        pass
    return fingerprint, tuple(found)


def _absolute(module: str, level: int, name: str | None) -> str | None:
    """The absolute name a (possibly relative) ``from ... import`` refers to."""
    if level == 0:
        return name
    is_package = module_file(module).name == "__init__.py"
    parts = module.split(".") if is_package else module.split(".")[:-1]
    if level - 1 > len(parts) - 1:
        return None
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, name] if name else base)


@cache
def _imports(module: str) -> tuple[frozenset[str], frozenset[str]]:
    """The tracked modules that ``module`` imports, and the installed distributions."""
    found, distributions = set(), set()
    for level, name, imported in _source_facts(module)[1]:
        if level == -1:
            names = list(imported)
        else:
            base = _absolute(module, level, name)
            if base is None:
                continue
            names = [f"{base}.{alias}" for alias in imported]
            # `from package import module` runs the package's __init__ too, but only an
            # attribute taken from it makes its code matter to the importer.
            if any(module_file(name) is None for name in names):
                names.append(base)
        # An attribute (simstudy.config.check_config) is not a module: it has no file.
        found.update(name for name in names if module_file(name) is not None)
        for name in names:
            version = installed_version(name.split(".")[0])
            if version is not None:
                distributions.add(version)
    return frozenset(found), frozenset(distributions)


@cache
def module_closure(module: str) -> tuple[str, ...]:
    """Return ``module`` and every tracked module it imports, transitively, sorted.

    Parameters
    ----------
    module
        A dotted module name that :func:`module_file` finds (a tracked module).

    Returns
    -------
    tuple of str
        The module names, ``module`` included.
    """
    seen: set[str] = set()
    pending = [module]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending.extend(_imports(name)[0] - seen)
    return tuple(sorted(seen))


def code_entries(modules: Iterable[str]) -> dict[str, str]:
    """What the digest of ``modules`` covers: module -> fingerprint, distribution -> version.

    A module that is neither tracked (:func:`module_file`) nor provided by an installed
    distribution counts as ``"missing"``, so that it changes the digest once it appears;
    that includes a module that cannot be found at all.

    Parameters
    ----------
    modules
        Dotted module names.

    Returns
    -------
    dict of str to str
        Each tracked module of the closures of ``modules`` -> the SHA-256 of its syntax
        tree (without docstrings); ``"dist:<name>"`` -> ``"name==version"`` for each
        installed distribution named or imported; an unfound module -> ``"missing"``.
    """
    entries: dict[str, str] = {}
    versions: set[str] = set()
    for module in modules:
        version = installed_version(module.split(".")[0])
        if version is not None:
            versions.add(version)
        elif module_file(module) is None:
            entries[module] = "missing"
        else:
            for name in module_closure(module):
                entries[name] = _source_facts(name)[0]
                versions.update(_imports(name)[1])
    for version in versions:
        entries[f"dist:{version.split('==')[0]}"] = version
    return entries


def code_digest(*modules: str) -> str:
    """SHA-256 (16 hex digits) of the code of ``modules`` and of what they import.

    Parameters
    ----------
    modules
        Dotted module names: this package's (``"simstudy.trials"``), a user's own, or an
        installed distribution's (``"sklearn.cluster"``); see the module docstring for
        what each contributes.

    Returns
    -------
    str
        The first 16 hex digits of the SHA-256 of :func:`code_entries`, sorted.
    """
    digest = hashlib.sha256()
    for name, fingerprint in sorted(code_entries(modules).items()):
        digest.update(f"{name}\0{fingerprint}\0".encode())
    return digest.hexdigest()[:16]


def component_modules(dotted_paths: Sequence[str]) -> list[str]:
    """The modules that hold the objects named by ``dotted_paths``, sorted.

    A study names its generators and estimators by dotted path, so no module imports
    them by name; a chunk's digest must still cover them
    (``simstudy.data.anisotropic_blobs`` -> ``simstudy.data``).

    Parameters
    ----------
    dotted_paths
        Dotted paths of objects, such as a config's ``estimator`` and ``generator`` values.

    Returns
    -------
    list of str
        Each distinct module name (the path up to its last dot), sorted.
    """
    return sorted({path.rpartition(".")[0] for path in dotted_paths})
