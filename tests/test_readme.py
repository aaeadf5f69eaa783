"""The README's Python example and the scripts in examples/ run as written."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=300)


BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_readme_has_python_examples():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.splitlines()[0][:40])
def test_readme_python_example_runs(tmp_path, block):
    proc = run_python(block, tmp_path)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("script", sorted((ROOT / "examples").glob("*.py")), ids=lambda p: p.name)
def test_example_runs(tmp_path, script):
    """Each example runs with its small settings and writes the files it names ("x.png", "y.npz") to --out."""
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for name in set(re.findall(r'"([\w-]+\.(?:png|npz))"', script.read_text())):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, f"{script.name} did not write {name}"
