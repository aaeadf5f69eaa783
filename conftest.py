"""Settings for every test pytest collects from the repository: tests/ and the doctests of dynsys/.

pytest finds this file because the rootdir is the repository (setup.cfg holds the pytest settings), so
``python -m pytest``, ``python -m pytest dynsys/rnn.py`` and ``python -m pytest --doctest-modules dynsys``
all load it.  It lies outside the package, so ``pip install .`` neither installs nor needs it.

- matplotlib draws with the Agg backend (``MPLBACKEND=Agg``, set before anything imports matplotlib):
  plotting examples and tests never open a window, with or without a display.
- Optional dependencies: a doctest whose code imports one of ``OPTIONAL_DEPENDENCIES`` (``import torch``,
  ``from torch import nn``) is skipped, with the reason, when that package is not installed, and runs when it
  is.  The docstring stays what a reader would type (no ``# doctest: +SKIP``, no ``pytest.importorskip``);
  the example must import the package itself, as every example that uses torch has to anyway.  Only the
  declared optional packages are treated so: a misspelt or missing required import still fails.
- Temporary files: a doctest's ``tempfile.mkdtemp()`` and ``tempfile.TemporaryDirectory()`` land in a folder of
  pytest's ``tmp_path_factory`` (removed with pytest's old runs), so the examples leave nothing in /tmp.
"""
from __future__ import annotations

import ast
import doctest
import importlib.util
import os
import tempfile
from typing import Any

import pytest

os.environ["MPLBACKEND"] = "Agg"

OPTIONAL_DEPENDENCIES = ("torch",)
"""Packages that dynsys uses when they are installed (``pip install torch``) and does without otherwise."""


def imported_packages(test: doctest.DocTest) -> set[str]:
    """The top-level packages that the code of ``test``'s examples imports (``import a.b``, ``from a import b``)."""
    names: set[str] = set()
    for example in test.examples:
        try:
            tree = ast.parse(example.source)
        except SyntaxError:  # doctest reports it when the example runs
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.partition(".")[0])
    return names


def missing_optional_dependencies(test: doctest.DocTest) -> list[str]:
    """The optional packages that ``test`` imports and that are not installed, sorted."""
    wanted = imported_packages(test) & set(OPTIONAL_DEPENDENCIES)
    return sorted(name for name in wanted if importlib.util.find_spec(name) is None)


def pytest_collection_modifyitems(items: list[Any]) -> None:
    """Mark the doctests that need a missing optional dependency as skipped."""
    for item in items:
        test = getattr(item, "dtest", None)  # a doctest item (pytest's DoctestItem) holds its doctest.DocTest
        if not isinstance(test, doctest.DocTest):
            continue
        missing = missing_optional_dependencies(test)
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"needs {', '.join(missing)}, which is not installed"))


@pytest.fixture(autouse=True)
def doctest_temporary_folder(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point ``tempfile`` at a pytest temporary folder while a doctest runs (see the module docstring)."""
    if isinstance(getattr(request.node, "dtest", None), doctest.DocTest):
        folder = request.getfixturevalue("tmp_path_factory").mktemp("doctest")
        monkeypatch.setattr(tempfile, "tempdir", str(folder))
