"""The relation report (promptmine.report.relations): recommendations, the tables and the fallback notes."""

from promptmine.selection import ROWS


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
             "Searched (all stages)": {"A": [1] * 30 + [2] * 10, "B": [1, 1, 2, 2, 2] * 2, "C": [1, 2] * 5}}
    templates = {"Manual": manual, "Searched (all stages)": chosen}
    comp = _comparison(ranks, templates, {"Optimized ensemble": {r: "rank ensemble instead of optimised: 9 facts"
                                                                  for r in manual}})
    recs = {r.relation: r for r in recommend(comp)}
    assert not recs["A"].keep and recs["A"].prompt == chosen["A"] and recs["A"].low > 0 and recs["A"].n == 40
    assert recs["B"].keep and recs["B"].why.startswith("the selected prompt did not beat")  # 4/10 vs 5/10
    assert recs["C"].keep and recs["C"].why == "selection kept the manual prompt"
    assert gain_share(comp, "Searched (all stages)") == ("A", 30, 29)
    report = write_report(tmp_path, comp, 3, title="t").read_text()
    assert "Use the selected prompt for A; keep yours for the 2 other relations." in report
    assert "A carries most of the gain of Searched (all stages)" in report
    assert "| Optimized ensemble" not in report and "Optimized ensemble is not shown" in report
    assert "| A | `[X] is a [Y].` | `[X] is a [Y].` | +75.0 [" in report


def test_why_a_row_fell_back_is_said_once():
    from promptmine.report.relations import _reasons

    why = "rank ensemble instead of optimised: {} training facts; learning weights needs 100 (40 held out)"
    assert _reasons({"P19": why.format(15), "P36": why.format(15), "P463": why.format(22)}) == why.format("15-22")
    assert _reasons({"P19": "no mined template", "P36": "no mined template"}) == "no mined template"
    assert _reasons({"P19": "a", "P36": "b", "P37": "a"}) == "P19, P37: a; P36: b"
