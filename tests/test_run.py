"""`promptmine run` end to end on the bundled sample with a tiny causal model saved to a folder
(real mining with spaCy, real Bergamot back-translation): the report, chart and records appear."""

import json

from promptmine.core.records import Candidate, Selection
from promptmine.pipeline import parse_routes, split_pairs
from promptmine.selection import ROWS, Pool
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


def test_pool_dedupes_by_the_scored_text_and_keeps_manual_first():
    # `[Y] .` and `[Y].` score differently (50 vs 60 P@1 on a test set): both stay; space runs merge
    pool = Pool("[X] was born in [Y] .", ["[X] was born in [Y].", "[X]  was born in [Y] .", "[X] , born in [Y]"],
                ["[X] was born in [Y].", "[X] is from [Y]."]).dedupe()
    assert pool.all == ["[X] was born in [Y] .", "[X] was born in [Y].", "[X] , born in [Y]", "[X] is from [Y]."]


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
    for row in ("Manual", "Mined top-1", "Paraphrased top-1", "Mined+Paraphrased top-1", "top-3 rank ensemble"):
        assert f"| {row}" in table  # `| Mined top-1 (ran for 4 of 5 relations) |` where it fell back
    report = (out / "report.md").read_text()
    # 15-22 training facts are too few to learn weights: the row is another row's numbers, so hidden
    assert "| Optimized ensemble" not in table and "Optimized ensemble is not shown: it ran for no relation" in report
    assert "## What to use" in report and "P@1 gain, points [95% CI]" in report
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


def _comparison(ranks_by_row: dict[str, dict[str, list[int]]], templates: dict[str, dict[str, str]],
                fallbacks=None):
    from promptmine.core.records import Score, Selection, WeightedTemplate
    from promptmine.selection import Comparison

    scores, sels = {}, {}
    for row in ROWS:
        scores[row], sels[row] = [], []
        for rel, ranks in ranks_by_row.get(row, ranks_by_row["Manual"]).items():
            t = templates.get(row, templates["Manual"])[rel]
            scores[row].append(Score(relation=rel, template=t, model="m", p_at_1=sum(r == 1 for r in ranks) / len(ranks),
                                     mrr=sum(1 / r for r in ranks) / len(ranks), n=len(ranks), ranks=ranks))
            sels[row].append(Selection(relation=rel, method="top1", model="m", templates=[WeightedTemplate(template=t)]))
    return Comparison(scores, sels, fallbacks=fallbacks or {})


def test_the_report_recommends_only_gains_beyond_noise_and_names_a_dominant_relation(tmp_path):
    from promptmine.report import gain_share, recommend, write_report

    manual = {"A": "[X] a [Y] .", "B": "[X] b [Y] .", "C": "[X] c [Y] ."}
    chosen = {"A": "[X] is a [Y].", "B": "[X] is b [Y].", "C": "[X] c [Y] ."}
    ranks = {"Manual": {"A": [2] * 40, "B": [1, 2] * 5, "C": [1, 2] * 5},
             "Mined+Paraphrased top-1": {"A": [1] * 30 + [2] * 10, "B": [1, 1, 2, 2, 2] * 2, "C": [1, 2] * 5}}
    templates = {"Manual": manual, "Mined+Paraphrased top-1": chosen}
    comp = _comparison(ranks, templates, {"Optimized ensemble": {r: "rank ensemble instead of optimised: 9 facts"
                                                                  for r in manual}})
    recs = {r.relation: r for r in recommend(comp)}
    assert not recs["A"].keep and recs["A"].prompt == chosen["A"] and recs["A"].low > 0 and recs["A"].n == 40
    assert recs["B"].keep and recs["B"].why.startswith("the selected prompt did not beat")  # 4/10 vs 5/10
    assert recs["C"].keep and recs["C"].why == "selection kept the manual prompt"
    assert gain_share(comp, "Mined+Paraphrased top-1") == ("A", 30, 29)
    report = write_report(tmp_path, comp, 3, title="t").read_text()
    assert "Use the selected prompt for A; keep yours for the 2 other relations." in report
    assert "A carries most of the gain of Mined+Paraphrased top-1" in report
    assert "| Optimized ensemble" not in report and "Optimized ensemble is not shown" in report
    assert "| A | `[X] is a [Y].` | `[X] is a [Y].` | +75.0 [" in report


def test_why_a_row_fell_back_is_said_once():
    from promptmine.report.relations import _reasons

    why = "rank ensemble instead of optimised: {} training facts; learning weights needs 100 (40 held out)"
    assert _reasons({"P19": why.format(15), "P36": why.format(15), "P463": why.format(22)}) == why.format("15-22")
    assert _reasons({"P19": "no mined template", "P36": "no mined template"}) == "no mined template"
    assert _reasons({"P19": "a", "P36": "b", "P37": "a"}) == "P19, P37: a; P36: b"
