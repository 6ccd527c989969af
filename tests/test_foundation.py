"""Records, readers, atomic writes, cache and the CLI shell."""

import gzip
import json
import subprocess
import sys

import pytest

from promptmine.core.errors import InputError
from promptmine.core.io import atomic_write, iter_jsonl, read_pairs, read_templates, write_jsonl
from promptmine.core.records import Candidate, Template, normalize_text
from promptmine.core.cache import DiskCache, cache_key


def test_template_needs_one_x_and_one_y():
    assert Template(text="[Y] is the capital of [X] .").y_first
    for bad in ["[X] was born", "[X] and [X] in [Y]", "no slots"]:
        with pytest.raises(ValueError):
            Template(text=bad)


def test_normalisation_merges_spacing_variants():
    assert normalize_text("[X]  was born in [Y] .") == normalize_text("[X] was born in [Y].")
    assert normalize_text("[X] ( born in [Y] )") == "[X] (born in [Y])"
    assert Template(text="[X] plays [Y] music .").fill("Miles", "jazz") == "Miles plays jazz music ."


def test_read_pairs_lama_plain_and_tsv(tmp_path):
    lama = tmp_path / "p.jsonl"
    lama.write_text(json.dumps({"sub_label": "Dante", "obj_label": "Florence", "predicate_id": "P19"}) + "\n\n"
                    + json.dumps({"subject": "Bach", "object": "Eisenach"}) + "\n")
    pairs = read_pairs(lama)
    assert [(p.subject, p.object, p.relation) for p in pairs] == [("Dante", "Florence", "P19"), ("Bach", "Eisenach", None)]
    tsv = tmp_path / "p.tsv"
    tsv.write_text("# comment\nDante\tFlorence\tP19\n")
    assert read_pairs(tsv)[0].object == "Florence"


def test_bad_input_names_file_and_line(tmp_path):
    f = tmp_path / "bad.jsonl"
    f.write_text('{"subject": "a", "object": "b"}\n{"subject": "a"\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: malformed JSON"):
        read_pairs(f, strict=True)
    f.write_text('{"subject": "a", "object": "b"}\n{"subject": "a"}\n')
    with pytest.raises(InputError, match=r"bad.jsonl:2: missing field object"):
        read_pairs(f, strict=True)
    f.write_bytes(b'{"subject": "a", "object": "b"}\n\xff\xfe\n')
    skipped = []
    assert len(list(iter_jsonl(f, on_error=skipped.append))) == 1
    assert skipped[0].line == 2 and "undecodable" in str(skipped[0])
    t = tmp_path / "t.txt"
    t.write_text("[X] was born in [Y] .\n[X] died\n")
    with pytest.raises(InputError, match=r"t.txt:2: a template needs exactly one"):
        read_templates(t)


def test_gzip_jsonl(tmp_path):
    f = tmp_path / "p.jsonl.gz"
    with gzip.open(f, "wt") as g:
        g.write(json.dumps({"subject": "a", "object": "b"}) + "\n")
    assert read_pairs(f)[0].subject == "a"


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError):
        with atomic_write(out) as f:
            f.write("half")
            raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []
    write_jsonl(out, [Candidate(template="[X] in [Y]", method="middle", pairs=2)])
    assert json.loads(out.read_text()) == {"template": "[X] in [Y]", "method": "middle", "pairs": 2}


def test_disk_cache_persists(tmp_path):
    path = tmp_path / "c.sqlite"
    c = DiskCache(path, namespace="t")
    k = cache_key("model", "[X] in [Y]", ["a"])
    c.set_many({k: [1.5, -2.0]})
    c.close()
    c2 = DiskCache(path, namespace="t")
    assert c2.get_many([k, "missing"]) == {k: [1.5, -2.0]}
    assert DiskCache(path, namespace="other").get(k) is None


def test_cli_help_is_fast_and_imports_no_model_library():
    code = ("import sys, promptmine.cli as c; c.build_parser(); "
            "heavy = [m for m in ('torch', 'transformers', 'spacy', 'openai') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_atomic_write_gives_the_usual_permissions(tmp_path):
    """The temp file is private while written; the result follows the umask like any new file."""
    import os

    mask = os.umask(0o022)
    try:
        out = tmp_path / "out.jsonl"
        write_jsonl(out, [{"a": 1}])
        assert out.stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(mask)


def test_the_install_has_nothing_to_warn_about():
    """setuptools warns on every install about a TOML-table license (~50 lines): an SPDX string it is."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    meta = tomllib.loads((root / "pyproject.toml").read_text())
    assert isinstance(meta["project"]["license"], str)
    script = (root / "scripts" / "install.sh").read_text()
    assert all(line.count(" -q ") or "pip install" not in line for line in script.splitlines()
               if line.strip().startswith(("\"$VPY\"", "PYTHONWARNINGS")))
    assert "apertium-eng-cat" in script and "apertium-en-gl" in script
