"""`promptmine run` end to end on the bundled sample with a tiny causal model saved to a folder
(real mining with spaCy, real Bergamot back-translation): the report, chart and records appear."""

import json

from promptmine.core.records import Candidate, Selection
from promptmine.paraphrasing import parse_routes
from promptmine.pipeline import split_pairs
from promptmine.selection import ROWS
from promptmine.core.records import Pair


def test_split_pairs_is_per_relation_seeded_and_disjoint():
    pairs = [Pair(subject=f"s{i}", object="o", relation=r) for r in ("A", "B") for i in range(9)] + \
        [Pair(subject="lonely", object="o", relation="C")]
    train, test = split_pairs(pairs, 0.5, seed=3)
    assert split_pairs(pairs, 0.5, seed=3) == (train, test)
    assert not set(train) & set(test) and len(train) + len(test) == len(pairs)
    for r in ("A", "B"):
        assert sum(p.relation == r for p in test) in (4, 5)
    assert [p.subject for p in train if p.relation == "C"] == ["lonely"]  # one pair: training only
    assert split_pairs(pairs, 0.5, seed=4) != (train, test)


def test_parse_routes():
    assert parse_routes("bergamot:pt,apertium:es,bergamot:de") == [("bergamot", ["pt", "de"]), ("apertium", ["es"])]
    assert parse_routes("none") == []


def test_run_on_the_bundled_sample_writes_report_and_chart(tmp_path, capsys, tiny_causal_dir):
    from promptmine.cli import main

    model = tiny_causal_dir
    out = tmp_path / "report"
    assert main(["run", "--out", str(out), "--model", str(model), "--device", "cpu", "--dtype", "float32",
                 "--pivots", "bergamot:pt", "--mined", "4", "--paraphrased", "3"]) == 0
    table = capsys.readouterr().out
    for row in ("Manual", "Mined top-1", "Paraphrased top-1", "Mined+Paraphrased top-1", "top-3 rank ensemble",
                "Searched (template only)", "Searched (all stages)"):
        assert f"| {row}" in table  # `| Mined top-1 (ran for 4 of 5 relations) |` where it fell back
    report = (out / "report.md").read_text()
    # 15-22 training facts are too few to learn weights: the row is another row's numbers, so hidden
    assert "| Optimized ensemble" not in table and "Optimized ensemble is not shown: it ran for no relation" in report
    assert "## What to use" in report and "P@1 gain, points [95% CI]" in report
    assert "Kept the manual prompt (no choice clearly better on the training facts" in report
    dropped = [json.loads(line) for line in (out / "dropped.jsonl").read_text().splitlines()]
    if "Dropped before selection as broken" in report:  # the parse-based fluency check's, beside hygiene's
        assert any(d["reason"].startswith("fluency") for d in dropped)
    assert "No mined template for P19" not in report  # its mined `[Y].` differs from the manual `[Y] .`
    assert "## P@1 per relation" in report and "P19" in report
    assert (out / "accuracy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sels = [json.loads(line) for line in (out / "selections.jsonl").read_text().splitlines()]
    assert len(sels) == 5 * len(ROWS)  # five sample relations
    for s in sels:
        Selection.model_validate(s)
        assert abs(sum(t["weight"] for t in s["templates"]) - 1.0) < 1e-6
    cands = [Candidate.model_validate_json(line) for line in (out / "candidates.jsonl").read_text().splitlines()]
    assert {c.method for c in cands} >= {"paraphrase"} and any(c.method in ("middle", "dependency") for c in cands)
    scores = [json.loads(line) for line in (out / "scores.jsonl").read_text().splitlines()]
    manual = [s for s in scores if s["row"] == "Manual"]
    assert sum(s["n"] for s in manual) > 50  # about half of the 165 sample pairs are test facts
    # what the report says to use, applied by predict to the test subjects over the same candidates:
    # each subject's top object is the one scores.jsonl records for the recommended row (up to ties)
    from promptmine.core.io import read_pairs
    from promptmine.corpora import CORPORA_DIR

    recommended = [Selection.model_validate_json(line) for line in (out / "recommended.jsonl").read_text().splitlines()]
    assert len(recommended) == 5 and all(s.note.startswith("recommended: ") for s in recommended)
    pairs = [p for p in read_pairs(CORPORA_DIR / "sample_pairs.jsonl") if p.relation in {s["relation"] for s in sels}]
    _, test = split_pairs(pairs, 0.5, seed=0)
    test_file = tmp_path / "test.jsonl"
    test_file.write_text("".join(json.dumps(p.model_dump()) + "\n" for p in test))
    subjects = tmp_path / "subjects.jsonl"
    subjects.write_text("".join(json.dumps({"subject": p.subject, "relation": p.relation}) + "\n" for p in test))
    capsys.readouterr()
    assert main(["predict", "--prompt", str(out / "recommended.jsonl"), "--input", str(subjects), "--pairs",
                 str(test_file), "--top-k", "1000", "--model", str(model), "--device", "cpu", "--dtype", "float32",
                 "-o", str(tmp_path / "answers.jsonl"), "--no-cache"]) == 0
    assert "this prompt was chosen for" not in capsys.readouterr().err  # the run's own scorer
    answers = [json.loads(line) for line in (tmp_path / "answers.jsonl").read_text().splitlines()]
    expect = {}
    for s in recommended:
        score = next(x for x in scores if x["relation"] == s.relation and x["row"] == s.row)
        expect.update({(s.relation, f["subject"]): f["prediction"] for f in score["facts"]})
    assert len(answers) == len(test) and [a["id"] for a in answers] == list(range(len(test)))
    assert all(len(a["predictions"]) == len({p.object for p in test if p.relation == a["relation"]}) for a in answers)
    for a in answers:  # the tiny tokenizer ties many objects: the recorded prediction is one of the top ones
        top = {p["object"]: p["score"] for p in a["predictions"]}
        assert top[expect[(a["relation"], a["subject"])]] == a["predictions"][0]["score"]
