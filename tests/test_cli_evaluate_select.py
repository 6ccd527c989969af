"""The evaluate and select commands end to end on a tiny causal model saved to a folder."""

import json

from promptmine.core.records import Score, Selection


def test_evaluate_and_select_commands(tmp_path, capsys, tiny_causal_dir):
    from promptmine.cli import main

    model = tiny_causal_dir
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("\n".join(json.dumps({"sub_label": s, "obj_label": o, "predicate_id": "P19"}) for s, o in [
        ("Marie Curie", "Paris"), ("Ada", "London"), ("Albert Einstein", "New York City"), ("Ada", "Rome"),
        ("Marie Curie", "London")]) + "\n")
    templates = tmp_path / "cands.jsonl"
    templates.write_text("\n".join(json.dumps({"relation": "P19", "template": t}) for t in [
        "[X] was born in [Y] .", "[Y] is the birthplace of [X] .", "[X] ( born in [Y] )"]) + "\n")
    out = tmp_path / "selected.jsonl"
    common = ["--model", str(model), "--device", "cpu"]
    assert main(["select", "--templates", str(templates), "--train", str(pairs), "--method", "rank", "--k", "2",
                 "--out", str(out), *common]) == 0
    sels = [Selection.model_validate_json(line) for line in out.read_text().splitlines()]
    assert len(sels) == 1 and sels[0].relation == "P19" and len(sels[0].templates) == 2
    capsys.readouterr()
    scores = tmp_path / "scores.jsonl"
    assert main(["evaluate", "--templates", str(out), "--pairs", str(pairs), "--out", str(scores), *common]) == 0
    table = capsys.readouterr().out
    assert "<rank ensemble of 2 templates>" in table and "micro" in table
    rec = Score.model_validate_json(scores.read_text().splitlines()[0])
    assert rec.n == 5 and len(rec.ranks) == 5 and all(1 <= r <= 4 for r in rec.ranks)
    # plain templates evaluate one row each; the second run is served from the cache
    assert main(["evaluate", "--templates", str(templates), "--pairs", str(pairs), *common]) == 0
    err = capsys.readouterr().err
    assert "0 computed" in err


def test_evaluate_reports_bad_input_with_file_and_line(tmp_path, capsys):
    from promptmine.cli import main

    bad = tmp_path / "t.txt"
    bad.write_text("[X] was born in [Y] .\n[X] has no object slot\n")
    pairs = tmp_path / "p.tsv"
    pairs.write_text("Ada\tLondon\n")
    assert main(["evaluate", "--templates", str(bad), "--pairs", str(pairs)]) == 1
    assert f"{bad}:2:" in capsys.readouterr().err
