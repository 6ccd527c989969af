"""Check the architecture contract (`[tool.importlinter]` in pyproject.toml) with import-linter.

promptmine is installed from three folders (`engine/` -> promptmine, `models/` -> promptmine.models,
`corpora/` -> promptmine.corpora), but import-linter reads a package from one folder tree. So the
installed layout is staged first: the Python files copied into a temporary `promptmine/` tree, which
`lint-imports` then analyses (it never imports the code). Exit status: lint-imports'.

    .venv/bin/python scripts/lint_imports.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def stage(dest: Path) -> Path:
    """Copy the .py files of every package-dir mapping into `dest` in the installed layout; returns
    `dest/promptmine`."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mapping = config["tool"]["setuptools"]["package-dir"]
    for package, folder in sorted(mapping.items(), key=lambda kv: kv[0].count(".")):
        target = dest.joinpath(*package.split("."))
        for src in (ROOT / folder).rglob("*.py"):
            rel = src.relative_to(ROOT / folder)
            if "__pycache__" in rel.parts:
                continue
            out = target / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, out)
    return dest / "promptmine"


def lint(staged_root: Path, *args: str) -> subprocess.CompletedProcess:
    """Run lint-imports (from this interpreter's environment) on a staged tree."""
    exe = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(staged_root)}
    return subprocess.run([str(exe), str(ROOT / "pyproject.toml"), "--no-cache", "--no-logo", *args],
                          cwd=staged_root, env=env, capture_output=True, text=True)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="promptmine-arch-") as tmp:
        stage(Path(tmp))
        result = lint(Path(tmp), *sys.argv[1:])
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
