"""Every public function and class of dynsys has an Examples section, and the doctests run everywhere.

The rule: a module-level ``def`` or ``class`` whose name does not start with ``_``, in a module of dynsys
none of whose dotted name parts starts with ``_`` (``dynsys.systems``, ``dynsys.tasks.train``, the
package ``dynsys`` itself; not ``dynsys._io``), has a numpy-style ``Examples`` section with at least one
``>>>`` line.  pytest runs those examples as doctests (``--doctest-modules`` in setup.cfg, ``dynsys`` in
``testpaths``); the repository's conftest.py skips the ones that import a missing optional dependency
(torch) and draws with matplotlib's Agg backend.
"""
import ast
import doctest
import importlib.util
import os
import pkgutil
import re
from pathlib import Path
from types import ModuleType, SimpleNamespace

import dynsys

ROOT = Path(__file__).resolve().parents[1]


EXAMPLES = re.compile(r"^Examples\n-{8,}\n(?:.*\n)*?\s*>>> ", re.MULTILINE)


def public_modules() -> dict[str, Path]:
    """The source file of every public module of dynsys (the package itself included), by dotted name."""
    names = ["dynsys"] + [m.name for m in pkgutil.walk_packages(dynsys.__path__, "dynsys.")]
    public = [name for name in names if not any(part.startswith("_") for part in name.split("."))]
    return {name: Path(importlib.util.find_spec(name).origin) for name in public}


def names_without_examples(path: Path) -> list[str]:
    """The public module-level functions and classes in ``path`` whose docstring has no runnable Examples."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and not node.name.startswith("_")
        and not EXAMPLES.search((ast.get_docstring(node) or "") + "\n")
    ]


def test_every_public_function_and_class_has_examples():
    gaps = {name: names_without_examples(path) for name, path in public_modules().items()}
    gaps = {name: missing for name, missing in gaps.items() if missing}
    assert not gaps, "public names without an Examples section (with >>> lines): " + "; ".join(
        f"{name}: {', '.join(missing)}" for name, missing in sorted(gaps.items())
    )


def test_the_rule_reads_numpy_sections(tmp_path):
    source = '''
def documented():
    """Text.

    Examples
    --------
    >>> documented()
    """

def prose_only():
    """Examples
    --------
    See the README.
    """

def _private():
    pass

class Undocumented:
    def method(self):
        """Examples
        --------
        >>> 1
        1
        """
'''
    path = tmp_path / "sample.py"
    path.write_text(source, encoding="utf-8")
    assert names_without_examples(path) == ["prose_only", "Undocumented"]


# ----------------------------------------------------- the repository's conftest.py
def root_conftest() -> ModuleType:
    """The repository's conftest.py, loaded afresh (pytest has loaded it under a name of its own)."""
    spec = importlib.util.spec_from_file_location("dynsys_root_conftest", ROOT / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def doctest_item(text: str) -> SimpleNamespace:
    """What the hook reads of a pytest DoctestItem: ``dtest``, and ``add_marker``, recorded in ``markers``."""
    test = doctest.DocTestParser().get_doctest(text, {}, "example", "example.py", 0)
    item = SimpleNamespace(dtest=test, markers=[])
    item.add_marker = item.markers.append
    return item


TORCH_EXAMPLE = """
>>> import numpy as np
>>> from torch import nn
>>> nn.GRU(2, 8).hidden_size
8
"""


def test_imported_packages_are_read_from_the_code_of_the_examples():
    conftest = root_conftest()
    item = doctest_item(TORCH_EXAMPLE + ">>> import scipy.linalg as la, os\n>>> print('import torch')\nimport torch\n")
    assert conftest.imported_packages(item.dtest) == {"numpy", "torch", "scipy", "os"}


def test_doctests_that_import_a_missing_optional_dependency_are_skipped(monkeypatch):
    conftest = root_conftest()
    installed = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name in ("torch", "not_a_package") else installed(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    needs_torch = doctest_item(TORCH_EXAMPLE)
    plain = doctest_item(">>> import numpy\n")
    typo = doctest_item(">>> import not_a_package\n")  # not optional: it fails when run, it is not skipped
    not_a_doctest = SimpleNamespace(markers=[])
    not_a_doctest.add_marker = not_a_doctest.markers.append
    conftest.pytest_collection_modifyitems([needs_torch, plain, typo, not_a_doctest])
    (marker,) = needs_torch.markers
    assert marker.name == "skip" and marker.kwargs["reason"] == "needs torch, which is not installed"
    assert plain.markers == typo.markers == not_a_doctest.markers == []


def test_doctests_that_import_an_installed_optional_dependency_run(monkeypatch):
    conftest = root_conftest()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *args: object())
    item = doctest_item(TORCH_EXAMPLE)
    conftest.pytest_collection_modifyitems([item])
    assert item.markers == []


def test_matplotlib_draws_without_a_window():
    assert os.environ["MPLBACKEND"] == "Agg"


def test_the_torch_examples_import_torch():
    """An example that needs torch says so by importing it, which is what the conftest reads."""
    import dynsys.rnn

    tests = {test.name: test for test in doctest.DocTestFinder().find(dynsys.rnn)}
    assert "torch" in root_conftest().imported_packages(tests["dynsys.rnn.from_torch"])
