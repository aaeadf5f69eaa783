"""The package's layout: the import graph of dynsys is acyclic and follows the
pipeline's stage order, and the README's Layout section names every module.

Every import counts, including those inside functions and under
``TYPE_CHECKING``: the graph is built from the source with :mod:`ast`, not
from what Python happened to import.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dynsys"

# The pipeline, earliest stage first (README, Layout).  A module may import
# modules of its own stage or of earlier ones, never of a later stage.  A
# name ending in ".*" stands for a package and all its modules.
STAGES: list[tuple[str, ...]] = [
    ("dynsys._validate", "dynsys._io", "dynsys._budget", "dynsys._threads"),  # argument checks, file IO, time budgets, BLAS threads
    ("dynsys.parse",),  # the formula language
    ("dynsys.systems",),  # System, the one currency
    ("dynsys.models", "dynsys.rnn", "dynsys.testing", "dynsys.tasks.*", "dynsys.targets"),  # sources of systems
    ("dynsys.intervals",),  # interval arithmetic: enclosures of residuals and Jacobians over boxes
    ("dynsys.simulate",),  # trajectories; advancing flows and maps
    ("dynsys.linearize", "dynsys.normal_forms"),  # eigenvalues, subspaces, labels; bifurcation coefficients
    ("dynsys.fixed_points.*", "dynsys.periodic_orbits.*", "dynsys.certificates"),  # the search for fixed points; periodic orbits
    ("dynsys.basins",),  # the attractor mapper, time scales
    ("dynsys.manifolds", "dynsys.saddles", "dynsys.continuation", "dynsys.bifurcation_diagram",  # manifolds, edge
     "dynsys.arclength", "dynsys.cycle_continuation"),  # tracking, branches of fixed points and cycles, diagrams
    ("dynsys.graph", "dynsys.graph_export"),  # transition graphs and their files
    ("dynsys.plot",),  # pictures
    ("dynsys.sweep.*",),  # sweeps over many systems (Dask)
    ("dynsys",),  # the public API (dynsys/__init__.py)
    ("dynsys.cli.*", "dynsys.__main__"),  # the dynsys command and its jobs
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def stage_of(name: str) -> int:
    for k, members in enumerate(STAGES):
        for m in members:
            if name == m or (m.endswith(".*") and (name == m[:-2] or name.startswith(m[:-1]))):
                return k
    raise KeyError(name)


def imported_modules(name: str) -> set[str]:
    """The dynsys modules that module ``name`` imports anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            submodules = {f"{source}.{a.name}" for a in node.names} & MODULES.keys()
            found.update(submodules)
            if len(submodules) < len(node.names):  # names defined in ``source`` itself
                found.add(source)
    return {m for m in found if m in MODULES and m != name}


def import_graph() -> nx.DiGraph:
    G = nx.DiGraph()
    G.add_nodes_from(MODULES)
    G.add_edges_from((a, b) for a in MODULES for b in imported_modules(a))
    return G


def test_the_import_graph_resolves_relative_and_in_function_imports():
    # dynsys/__init__.py imports the public API; the command imports the root package
    assert {"dynsys.systems", "dynsys.fixed_points", "dynsys.graph"} <= imported_modules("dynsys")
    assert "dynsys.cli" in imported_modules("dynsys.__main__")


def test_every_module_has_a_stage():
    unknown = sorted(m for m in MODULES if _has_no_stage(m))
    assert not unknown, f"add these modules to STAGES here and to the README's Layout section: {unknown}"


def _has_no_stage(name: str) -> bool:
    try:
        stage_of(name)
    except KeyError:
        return True
    return False


def test_the_import_graph_is_acyclic():
    G = import_graph()
    cycles = list(nx.simple_cycles(G))
    assert not cycles, f"import cycles: {cycles[:5]}"


def test_modules_import_only_from_their_own_or_earlier_stages():
    G = import_graph()
    late = sorted((a, b) for a, b in G.edges if stage_of(b) > stage_of(a))
    assert not late, f"imports from a later stage (module -> later module): {late}"


def _layout_section() -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(r"^## Layout\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
    assert match, "README.md has no '## Layout' section"
    return match[1]


@pytest.mark.parametrize("name", sorted(MODULES))
def test_the_readme_layout_names_every_module(name):
    path = MODULES[name].relative_to(ROOT).as_posix()
    shown = {path, path.removesuffix("/__init__.py") + "/", path.removesuffix("__init__.py")}
    section = _layout_section()
    assert any(s in section for s in shown) or any(
        f"{parent.as_posix()}/" in section for parent in MODULES[name].relative_to(ROOT).parents if parent.parts
        and parent.as_posix() != "dynsys"
    ), f"the README's Layout section does not mention {path} (nor its folder)"


def test_the_readme_layout_names_only_modules_that_exist():
    for mentioned in re.findall(r"`(dynsys/[\w/]+(?:\.py)?/?)`", _layout_section()):
        assert (ROOT / mentioned).exists(), f"the README's Layout section names {mentioned}, which does not exist"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_another_modules_private_names(name):
    path = MODULES[name]
    private = [
        f"{node.module or '.'}:{a.name}"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("dynsys"))
        for a in node.names
        if a.name.startswith("_") and not a.name.startswith("__")
    ]
    assert not private, f"{name} imports private names of other modules (make them public or move them): {private}"
