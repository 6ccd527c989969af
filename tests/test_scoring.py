"""Metrics, caching, selection and ensemble maths on cases with known answers, and the
evaluate/select commands end to end on a tiny causal model saved to a folder."""

import json
import math

import numpy as np
import pytest

from promptmine.scoring import (
    CachedScorer, RelationFacts, Scored, combine, evaluate_blocks, evaluate_selection, micro_average, mrr, p_at_1,
    ranks, relation_facts,
)
from promptmine.core.records import Pair, Score, Selection
from promptmine.selection import learn_weights, select_optimized, select_rank, select_top1


def test_ranks_p_at_1_and_mrr():
    scores = [[3.0, 1.0, 2.0], [0.0, 5.0, 4.0], [1.0, 2.0, 3.0]]
    r = ranks(scores, [0, 2, 0])
    assert r == [1, 2, 3]
    assert p_at_1(r) == pytest.approx(1 / 3)
    assert mrr(r) == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    # ties count against the gold object: a scorer that cannot separate candidates earns nothing
    assert ranks([[-math.inf, -math.inf, -math.inf]], [1]) == [3]
    assert ranks([[2.0, 2.0]], [0]) == [2]


def test_micro_average_weights_facts_not_relations():
    a = Score(relation="A", template="t", model="m", p_at_1=1.0, mrr=1.0, n=1, ranks=[1])
    b = Score(relation="B", template="t", model="m", p_at_1=0.0, mrr=0.5, n=3, ranks=[2, 2, 2])
    p1, m, n = micro_average([a, b])
    assert (p1, n) == (0.25, 4)
    assert m == pytest.approx((1 + 0.5 * 3) / 4)


def test_combine_is_weighted_sum_with_floor():
    a = np.array([[-1.0, -2.0]])
    b = np.array([[-3.0, -math.inf]])
    out = combine([a, b], [0.25, 0.75])
    assert out[0, 0] == pytest.approx(0.25 * -1 + 0.75 * -3)
    assert np.isfinite(out).all() and out[0, 1] < -1000


def test_relation_facts_candidates_and_cap():
    pairs = [Pair(subject=s, object=o) for s, o in
             [("a", "X"), ("b", "Y"), ("c", "X"), ("d", "Z"), ("e", "Y"), ("f", "X")]]
    f = relation_facts("R", pairs)
    assert f.objects == ["X", "Y", "Z"] and f.gold == [0, 1, 0, 2, 1, 0] and f.dropped == 0
    capped = relation_facts("R", pairs, max_candidates=2)
    assert capped.objects == ["X", "Y"] and capped.dropped == 1 and "d" not in capped.subjects


class CountingScorer:
    """A deterministic scorer that records what it was asked (to check the cache)."""

    identity = "counting:v1"
    name = "counting"

    def __init__(self):
        self.calls = []

    def score(self, template, subjects, objects):
        self.calls.append((template, list(subjects), list(objects)))
        return [[-(len(s) + 10 * len(o) + len(template)) for o in objects] for s in subjects]


def test_cached_scorer_computes_each_score_once_across_instances():
    inner = CountingScorer()
    cs = CachedScorer(inner)
    m1 = cs.score("[X] in [Y]", ["ab", "c"], ["P", "QQ"])
    assert cs.computed == 4 and cs.reused == 0
    m2 = cs.score("[X] in [Y]", ["ab", "c"], ["P", "QQ"])
    assert (m1 == m2).all() and len(inner.calls) == 1 and cs.reused == 4
    # a new candidate set computes whole rows (a score depends on the candidates scored beside it)
    cs.score("[X] in [Y]", ["ab", "c"], ["QQ", "RRR"])
    assert inner.calls[-1] == ("[X] in [Y]", ["ab", "c"], ["QQ", "RRR"]) and cs.computed == 8
    # a new process (new CachedScorer on the same on-disk cache) recomputes nothing; only the subjects
    # it misses are computed
    again = CachedScorer(CountingScorer())
    again.score("[X] in [Y]", ["c", "ab"], ["P", "QQ"])
    assert again.computed == 0 and again.scorer.calls == []
    again.score("[X] in [Y]", ["c", "d"], ["P", "QQ"])
    assert again.scorer.calls == [("[X] in [Y]", ["d"], ["P", "QQ"])]


def scored(name, matrix, gold):
    return Scored(name, np.array(matrix, dtype=float), ranks(matrix, gold))


def test_top1_and_rank_selection_follow_training_accuracy():
    gold = [0, 1]
    good = scored("good", [[0, -5], [-5, 0]], gold)  # both right
    half = scored("half", [[0, -5], [0, -5]], gold)  # one right
    bad = scored("bad", [[-5, 0], [0, -5]], gold)  # none right
    sel = select_top1([bad, half, good], "R", "m")
    assert [t.template for t in sel.templates] == ["good"] and sel.method == "top1"
    sel = select_rank([bad, half, good], "R", "m", k=2)
    assert [t.template for t in sel.templates] == ["good", "half"]
    assert [t.weight for t in sel.templates] == [0.5, 0.5]


def test_optimised_weights_favour_the_informative_template():
    rng = np.random.default_rng(0)
    n, c = 60, 5
    gold = rng.integers(0, c, n)
    informative = rng.normal(size=(n, c))
    informative[np.arange(n), gold] += 3.0  # gold clearly ahead
    noise = rng.normal(size=(n, c)) * 3.0
    w = learn_weights([noise, informative], gold.tolist(), dev_fraction=0.2, seed=0)
    assert sum(w) == pytest.approx(1.0)
    assert w[1] > 0.8
    # identical templates: the gradient is symmetric, the weights stay equal
    w = learn_weights([informative, informative], gold.tolist())
    assert w[0] == pytest.approx(0.5, abs=1e-6)


def test_optimised_selection_and_its_evaluation():
    rng = np.random.default_rng(1)
    n, c = 40, 4
    gold = rng.integers(0, c, n).tolist()
    good = rng.normal(size=(n, c))
    good[np.arange(n), gold] += 4.0
    noise = rng.normal(size=(n, c)) * 4.0
    facts = RelationFacts("R", [f"s{i}" for i in range(n)], gold, [f"o{j}" for j in range(c)])
    sel = select_optimized([scored("noise", noise, gold), scored("good", good, gold)], gold, "R", "m")
    assert sel.templates[0].template == "good" and sel.templates[0].weight > 0.8

    class Fixed:
        identity, name = "fixed", "fixed"

        def score(self, template, subjects, objects):
            return ({"good": good, "noise": noise}[template]).tolist()

    s = evaluate_selection(CachedScorer(Fixed()), sel, facts)
    expected = ranks(combine([{"good": good, "noise": noise}[t.template] for t in sel.templates],
                             [t.weight for t in sel.templates]), gold)
    assert s.ranks == expected and s.p_at_1 == p_at_1(expected) and s.n == n
    assert s.template.startswith("<optimized ensemble")


def test_evaluating_blocks_ranks_each_over_its_own_candidates():
    """A benchmark's many small test samples: each block is ranked over its own objects and the
    ranks of all blocks merge into one Score (not one block ranked over every object)."""

    class ByLength:  # prefers the longest object name, whatever the subject
        identity, name = "bylength", "bylength"

        def score(self, template, subjects, objects):
            return [[float(len(o)) for o in objects] for _ in subjects]

    pairs = [Pair(subject=s, object=o, relation="R") for s, o in [("a", "Rome"), ("b", "Oslo"), ("c", "Berlin"),
                                                                  ("d", "Ghent")]]
    blocks = [relation_facts("R", pairs[:2]), relation_facts("R", pairs[2:])]
    sel = Selection(relation="R", method="manual", model="", templates=[{"template": "[X] in [Y] ."}])
    s = evaluate_blocks(CachedScorer(ByLength()), sel, blocks)
    # block 1 (Rome, Oslo): a tie, which counts against the gold (ranks 2, 2); block 2: Berlin first
    assert s.ranks == [2, 2, 1, 2] and s.n == 4 and s.p_at_1 == 0.25
    assert [f.prediction for f in s.facts] == ["Oslo", "Rome", "Berlin", "Berlin"]  # a tie goes to the other
    one = evaluate_selection(CachedScorer(ByLength()), sel, relation_facts("R", pairs))
    assert one.ranks == [4, 4, 1, 2]  # one block: Rome and Oslo also lose to Berlin and Ghent


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
