"""The architecture contract of issues 9 and 20, checked with import-linter (pyproject.toml
[tool.importlinter]): CLI > pipelines > adapters > kernel, an order inside the pipelines floor, no
model library in the kernel, no import of the test kit from the library, and no import cycle between
sibling modules."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "lint_imports.py"


def _lint_module():
    spec = importlib.util.spec_from_file_location("lint_imports", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_installed() -> None:
    exe = Path(sys.executable).with_name("lint-imports")
    assert exe.exists(), "lint-imports is missing: pip install -e '.[test]' (import-linter is in the test extra)"


def test_the_architecture_contract_holds():
    _check_installed()
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout and "5 kept" in result.stdout


def test_the_contract_catches_each_kind_of_violation(tmp_path):
    """The same check on a staged copy with five violations: the staging covers promptmine.models
    (from models/), and every contract is live."""
    _check_installed()
    lint = _lint_module()
    package = lint.stage(tmp_path)
    assert (package / "models" / "hosted_client.py").is_file() and (package / "core" / "cache.py").is_file()
    (package / "models" / "_upward.py").write_text("from promptmine import mining\n")
    (package / "scoring_helper.py").write_text("import promptmine.testing.tiny\n")
    (package / "cycle_a.py").write_text("import promptmine.cycle_b\n")
    (package / "cycle_b.py").write_text("import promptmine.cycle_a\n")
    (package / "scoring" / "_upward.py").write_text("from promptmine import selection\n")
    (package / "core" / "_heavy.py").write_text("import torch\n")
    result = lint.lint(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "0 kept, 5 broken" in out
    assert "promptmine.scoring._upward -> promptmine.selection" in out
    assert "promptmine.core._heavy -> torch" in out
    assert "promptmine.models._upward -> promptmine.mining" in out
    assert "promptmine.scoring_helper -> promptmine.testing.tiny" in out
    assert "cycle_a" in out and "cycle_b" in out
