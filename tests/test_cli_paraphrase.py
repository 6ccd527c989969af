"""`promptmine paraphrase` (`promptmine.cli.paraphrase`): files to JSONL, stdout, bad input, a missing model."""

import json

from promptmine.cli import main

TEMPLATES = ["[X] is named after [Y] .", "The official language of [X] is [Y] .", "[X] plays in [Y] position ."]


def test_cli_file_to_jsonl(tmp_path, capsys):
    rel = tmp_path / "relations.jsonl"
    rel.write_text("\n".join(json.dumps({"relation": r, "template": t})
                             for r, t in zip(["P138", "P37"], TEMPLATES)) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["paraphrase", "--input", str(rel), "--backend", "bergamot", "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert list(rows[0])[:5] == ["source", "template", "pivot", "backend", "score"]
    assert rows[0]["pivot"] is None and rows[0]["relation"] == "P138"
    assert {r["relation"] for r in rows} == {"P138", "P37"}
    assert all(r["template"].count("[X]") == 1 for r in rows)
    assert "wrote" in capsys.readouterr().err


def test_cli_stdout_and_bad_input(tmp_path, capsys):
    assert main(["paraphrase", "[X] is named after [Y] .", "--backend", "bergamot", "--top", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["pivot"] == "pt"
    bad = tmp_path / "t.txt"
    bad.write_text("[X] was born in [Y] .\n[X] and [X] .\n")
    assert main(["paraphrase", "--input", str(bad), "--backend", "bergamot"]) == 1
    assert f"{bad}:2:" in capsys.readouterr().err
    assert main(["paraphrase", "[X] died in [Y] .", "--backend", "bergamot", "--model-dir", "x"]) == 1
    assert "does not take --model-dir" in capsys.readouterr().err
    assert main(["paraphrase", "[X] died in [Y] .", "--backend", "bergamot", "--pivots", "de"]) == 1
    assert "bergamot has no pivot de" in capsys.readouterr().err


def test_cli_missing_marian_model_says_how_to_provide_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PROMPTMINE_MODELS", str(tmp_path / "store"))
    assert main(["paraphrase", "[X] died in [Y] .", "--backend", "marian", "--pivots", "de"]) == 1
    err = capsys.readouterr().err
    assert "Helsinki-NLP/opus-mt-en-de" in err and "HF_HUB_OFFLINE" in err and "--model-dir" in err
