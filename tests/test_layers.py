"""The import contracts of pyproject.toml (docs/architecture.md): imports point down the layers
and no package's modules import in a circle. `lint-imports` keeps them on the real tree, and
breaks them on a copy with one upward import and one circle added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = [sys.executable, "-c", "from importlinter.cli import lint_imports_command as c; c()"]


def lint_imports(root, *, pythonpath) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [*LINT_IMPORTS, "--no-cache"], cwd=root, env=env, capture_output=True, text=True
    )


def test_the_tree_keeps_its_layers_and_has_no_cycles():
    result = lint_imports(ROOT, pythonpath=ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_an_upward_import_or_a_circle_breaks_the_contracts(tmp_path):
    shutil.copytree(ROOT / "src" / "bakeoff", tmp_path / "src" / "bakeoff")
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    data = tmp_path / "src" / "bakeoff" / "data"
    with open(data / "raw.py", "a") as f:  # data is below runs: an upward import
        f.write("\nfrom bakeoff.runs import train  # noqa: E402,F401\n")
    with open(data / "read_cache.py", "a") as f:  # data/base.py imports read_cache: a circle
        f.write("\nfrom bakeoff.data import base  # noqa: E402,F401\n")

    result = lint_imports(tmp_path, pythonpath=tmp_path / "src")

    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "Contracts: 0 kept, 2 broken." in out
    assert "bakeoff.data is not allowed to import bakeoff.runs" in out
    assert "bakeoff.data.raw -> bakeoff.runs.train" in out
    assert "No cycles are allowed in bakeoff.data" in out
