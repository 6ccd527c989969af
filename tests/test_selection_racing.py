"""Racing selection, the held-out optimised ensemble and calibrated scores, on scorers whose
answers are known (a fake with a controlled quality per template) and on a tiny causal model."""

import zlib

import numpy as np
import pytest

from promptmine.core.cache import DiskCache
from promptmine.scoring import CachedScorer, RelationFacts, Scored, calibrated, ranks
from promptmine.selection import Exhaustive, OptimizedEnsemble, Race, split_blocks

OBJECTS = [f"o{j}" for j in range(8)]


class QualityScorer:
    """Subjects are `s<i>|<gold>`; a template's quality is how far it lifts the gold object above
    deterministic noise: `good` +3, `ok` +1, `bad` -3 (wrong on almost every fact)."""

    identity = name = "quality:v1"
    lift = {"good": 3.0, "ok": 1.0, "ok2": 0.9, "bad": -3.0}

    def __init__(self):
        self.pairs = 0  # (subject, template) pairs asked for

    def score(self, template, subjects, objects):
        self.pairs += len(subjects)
        out = []
        for s in subjects:
            gold = s.split("|")[1]
            row = []
            for o in objects:
                noise = 4.0 * zlib.crc32(f"{template}/{s}/{o}".encode()) / 2**32
                row.append(-2.0 + noise + (self.lift[template.split()[0]] if o == gold else 0.0))
            out.append(row)
        return out


def facts(n, seed=0):
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, len(OBJECTS), n).tolist()
    return RelationFacts("R", [f"s{i}|{OBJECTS[g]}" for i, g in enumerate(gold)], gold, OBJECTS)


TEMPLATES = ["ok [X] [Y]", "bad [X] [Y]", "good [X] [Y]", "ok2 [X] [Y]"]


def memory_scorer(inner=None):
    return CachedScorer(inner or QualityScorer(), DiskCache(None, "scores"))


def test_race_drops_a_clearly_worse_template_early_and_keeps_the_budget():
    scorer = memory_scorer()
    result = Race(budget=600, block_size=20).run(scorer, TEMPLATES, facts(400), keep=1, seed=3)
    assert result.survivors[0].template == "good [X] [Y]"
    assert result.seen["bad [X] [Y]"] == 20  # dropped after the first block
    assert result.cost <= 600 and scorer.scorer.pairs == result.cost  # every pair counted, none twice
    # the winner got what the others did not spend: far more facts than the first block
    assert result.seen["good [X] [Y]"] >= 200 and result.facts == result.seen["good [X] [Y]"]
    assert all(len(s.ranks) == result.facts == len(s.matrix) for s in result.survivors)
    assert len(result.gold) == result.facts


def test_race_is_deterministic_in_its_seed():
    a = Race(budget=500, block_size=20).run(memory_scorer(), TEMPLATES, facts(300), seed=1)
    b = Race(budget=500, block_size=20).run(memory_scorer(), TEMPLATES, facts(300), seed=1)
    assert a.seen == b.seen and a.rounds == b.rounds and a.gold == b.gold
    assert [s.template for s in a.survivors] == [s.template for s in b.survivors]
    assert split_blocks(facts(300), 20, 1)[0].subjects != split_blocks(facts(300), 20, 2)[0].subjects


def test_race_keeps_the_top_k_and_a_winner_per_group():
    result = Race(block_size=20).run(memory_scorer(), TEMPLATES, facts(200), keep=2,
                                     groups=[["bad [X] [Y]"], ["ok [X] [Y]", "good [X] [Y]", "ok2 [X] [Y]"]])
    names = [s.template for s in result.survivors]
    assert "bad [X] [Y]" in names  # the only member of its group: that group's winner
    assert names[0] == "good [X] [Y]" and len(names) >= 3
    assert result.facts == 200  # no budget: the training facts ran out


def test_exhaustive_selection_scores_everything():
    scorer = memory_scorer()
    result = Exhaustive(block_size=30).run(scorer, TEMPLATES, facts(100))
    assert result.strategy == "exhaustive" and set(result.seen.values()) == {100}
    assert len(result.survivors) == 4 and result.cost == 400


def test_blocks_with_their_own_candidate_sets_are_padded_for_ensembles():
    f = facts(40)
    small = RelationFacts("R", f.subjects[:10], [0] * 10, [f.subjects[i].split("|")[1] for i in range(10)])
    small = RelationFacts("R", small.subjects, [list(dict.fromkeys(small.objects)).index(o) for o in small.objects],
                          list(dict.fromkeys(small.objects)))
    result = Exhaustive().run(memory_scorer(), TEMPLATES, [small, f])
    assert result.facts == 50 and all(s.matrix.shape == (50, len(OBJECTS)) for s in result.survivors)
    assert all(s.ranks == ranks(s.matrix, result.gold) for s in result.survivors)  # padding never outranks gold


def noisy(name, n, c, gold, lift, rng):
    m = rng.normal(size=(n, c))
    m[np.arange(n), gold] += lift
    return Scored(name, m, ranks(m, gold))


def test_ensemble_learns_weights_on_enough_facts_and_falls_back_to_rank_otherwise():
    rng = np.random.default_rng(0)
    n, c = 200, 6
    gold = rng.integers(0, c, n).tolist()
    good, weak, noise = (noisy("good", n, c, gold, 3.0, rng), noisy("weak", n, c, gold, 0.5, rng),
                         noisy("noise", n, c, gold, 0.0, rng))
    sel = OptimizedEnsemble(k=2, min_dev=40, min_fit=60).fit([good, weak, noise], gold, "R", "m")
    assert sel.method == "optimized" and sel.facts == 200
    assert "60 held out" in sel.note and "140" in sel.note
    assert sel.templates[0].template == "good" and sel.templates[0].weight > 0.6
    # 80 facts cannot give 40 held out and 60 to fit: the rank ensemble, and the record says why
    few = [Scored(s.template, s.matrix[:80], s.ranks[:80]) for s in (good, weak, noise)]
    sel = OptimizedEnsemble(k=2, min_dev=40, min_fit=60).fit(few, gold[:80], "R", "m")
    assert sel.method == "rank" and [t.template for t in sel.templates] == ["good", "weak"]
    assert "instead of optimised" in sel.note and "80 training facts" in sel.note
    assert OptimizedEnsemble().fit([good], gold, "R", "m").note.endswith("one template left")


def test_held_out_split_decides_the_weights():
    """Weights early-stopped on the held-out facts: a template that only fits the training part
    (memorised noise) gets less weight than on all facts without a held-out split."""
    from promptmine.selection import learn_weights

    rng = np.random.default_rng(2)
    n, c = 200, 5
    gold = rng.integers(0, c, n)
    honest = rng.normal(size=(n, c))
    honest[np.arange(n), gold] += 1.5
    w = learn_weights([honest, rng.normal(size=(n, c))], gold.tolist(), dev_fraction=0.3, seed=0)
    assert w[0] > 0.7


@pytest.fixture
def tiny_scorer(tiny_causal_dir, tmp_path):
    from promptmine.models.score.causal import CausalScorer

    raw = CausalScorer(str(tiny_causal_dir), device="cpu", dtype="float32")
    return raw, DiskCache(tmp_path / "scores.sqlite", "scores")


def test_calibration_subtracts_the_content_free_score_and_is_cached(tiny_scorer):
    raw, cache = tiny_scorer
    base = CachedScorer(raw, cache)
    cal = calibrated(base, ["N/A"])
    template, subjects, objects = "[X] lives in [Y].", ["Alice", "Bob"], ["Paris", "Rome", "Oslo"]
    got = cal.score(template, subjects, objects)
    plain = base.score(template, subjects, objects)
    free = base.score(template, ["N/A"], objects)[0]
    assert np.allclose(got, plain - free[None, :])
    assert not np.allclose(got, plain)
    # the content-free row is a cached score like any other: a new process computes nothing
    again = calibrated(CachedScorer(raw, cache), ["N/A"])
    assert np.allclose(again.score(template, subjects, objects), got) and again.computed == 0
    # its own identity, naming the fillers; several fillers are averaged in probability
    assert cal.identity != base.identity and "N/A" in cal.identity
    two = calibrated(base, ["N/A", "something"])
    assert two.identity != cal.identity
    rows = base.score(template, ["N/A", "something"], objects)
    assert np.allclose(two.content_free(template, objects), np.log(np.exp(rows).mean(axis=0)))


def test_race_runs_on_a_tiny_causal_model_with_calibration(tiny_scorer):
    raw, cache = tiny_scorer
    cal = calibrated(CachedScorer(raw, cache))
    f = RelationFacts("R", [f"Person {i}" for i in range(24)], [i % 3 for i in range(24)], ["Paris", "Rome", "Oslo"])
    templates = ["[X] lives in [Y].", "[X] was born in [Y].", "[X] [Y]"]
    a = Race(budget=40, block_size=6).run(cal, templates, f, keep=1, seed=0)
    b = Race(budget=40, block_size=6).run(calibrated(CachedScorer(raw, cache)), templates, f, keep=1, seed=0)
    assert a.cost <= 40 and a.seen == b.seen
    assert [s.template for s in a.survivors] == [s.template for s in b.survivors]


def test_the_race_log_line_agrees_in_number(caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="promptmine"):
        Exhaustive(block_size=30).run(memory_scorer(), TEMPLATES[:1], facts(20), desc="select P19")
    line = [r.getMessage() for r in caplog.records if r.getMessage().startswith("select P19")][-1]
    assert line.startswith("select P19: 1 template, 1 left on 20 facts after 1 round (20 (fact, template) pairs")
