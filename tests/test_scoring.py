"""The scoring package (promptmine.scoring: metrics, facts, the score cache, evaluation) on cases
with known answers."""

import math

import numpy as np
import pytest

from promptmine.scoring import (
    CachedScorer, combine, evaluate_blocks, evaluate_selection, micro_average, mrr, p_at_1,
    ranks, relation_facts,
)
from promptmine.core.records import Pair, Score, Selection


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
