"""The choosers (promptmine.selection.choosers): top-1, rank and optimised weights on cases with known answers."""

import numpy as np
import pytest

from promptmine.scoring import CachedScorer, RelationFacts, Scored, combine, evaluate_selection, p_at_1, ranks
from promptmine.selection import learn_weights, select_optimized, select_rank, select_top1


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
