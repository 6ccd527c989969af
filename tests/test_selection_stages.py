"""The relation search (promptmine.selection.stages): the paired bound that keeps the incumbent, the
race's protected incumbent, each stage's candidates, the fluency check, and a search on a tiny model."""

import pytest
from test_selection_racing import QualityScorer, facts

from promptmine.core.records import Template
from promptmine.scoring import CachedScorer, RelationFacts
from promptmine.selection import Exhaustive, Race, split_blocks
from promptmine.selection.racing import advantage
from promptmine.selection.stages import (
    RelationVariant, SearchSettings, decide, demo_variants, fluency, format_variants, reserve_demos, screen,
    search_after_wording,
)


def test_the_advantage_is_paired_and_its_bound_needs_a_consistent_edge():
    assert advantage([1] * 10, [2] * 10, z=1.645, metric="rr") == (0.5, 0.5)
    mean, lower = advantage([1, 2] * 10, [2, 1] * 10, z=1.645, metric="rr")
    assert mean == 0 and lower < 0  # wins and losses that cancel: no evidence
    mean, lower = advantage([1] * 3 + [2] * 17, [2] * 20, z=1.645, metric="hit1")
    assert mean == pytest.approx(0.15) and 0 < lower < mean
    assert advantage([1], [2], z=1.645, metric="rr")[1] == float("-inf")  # one fact proves nothing


def test_a_protected_incumbent_stays_in_the_race_and_is_replaced_only_when_clearly_beaten():
    f = facts(96)
    race = Race(budget=400, block_size=16)
    kept = race.run(QualityScorer(), ["good a", "ok b", "bad c"], f, keep=1, protect=["bad c"])
    assert "bad c" in {s.template for s in kept.survivors}  # the worst, yet never dropped
    result = race.run(QualityScorer(), ["ok manual", "ok2 close", "good clear"], f, keep=1, protect=["ok manual"])
    out = decide("wording", result, "ok manual", 2, z=1.645, metric="rr")
    assert out.replaced and out.after == "good clear" and out.lower > 0 and out.facts == result.facts
    everything = Exhaustive(block_size=16).run(QualityScorer(), ["ok manual", "ok2 close"], f, keep=1)
    close = decide("wording", everything, "ok manual", 1, z=1.645, metric="rr")
    assert close.challenger == "ok2 close" and not close.replaced and close.after == "ok manual"  # a small edge (or a loss) keeps the incumbent
    assert "kept the incumbent" in close.describe()


def test_format_variants_change_the_final_full_stop_only():
    assert dict(format_variants("[X] was born in [Y] .")) == {
        "[X] was born in [Y].": "final '.' attached", "[X] was born in [Y]": "no final punctuation"}
    assert [t for t, _ in format_variants("[X] speaks [Y]")] == ["[X] speaks [Y] .", "[X] speaks [Y]."]


def test_demonstrations_come_from_facts_the_race_never_scores():
    blocks = [RelationFacts("P1", [f"s{i}" for i in range(a, a + 10)], [i % 4 for i in range(10)],
                            ["Paris", "Rome", "Oslo", "Bern"]) for a in (0, 10, 20)]
    blocks[0].subjects[3] = "s25"  # the same subject as a reserved fact: out of the race too
    pool, rest = reserve_demos(blocks, 6)
    assert sorted(s for s, _ in pool) == ["s23", "s24", "s25", "s27", "s28", "s29"]  # the latest 2 per object
    raced = {s for b in rest for s in b.subjects}
    assert not raced & {s for s, _ in pool} and len(raced) == 23
    prompt = RelationVariant("[X] lives in [Y] .")
    variants = demo_variants(prompt, pool, SearchSettings(), seed=0, relation="P1")
    shots = [(len(p.demos), p.sep) for p, _ in variants]
    assert shots == [(1, "\n"), (3, "\n"), (5, "\n"), (3, "\n"), (3, " ")]
    for p, _ in variants:
        assert len({s for s, _ in p.demos}) == len(p.demos) and set(p.demos) <= set(pool)
        Template(text=p.text)  # one [X] and one [Y]: the query's own
        assert p.text.endswith(p.sep + "[X] lives in [Y] .")
    three = next(p for p, _ in variants if len(p.demos) == 3)
    assert len({o for _, o in three.demos}) == 3  # distinct objects while the pool has them
    assert variants == demo_variants(prompt, pool, SearchSettings(), seed=0, relation="P1")  # seeded


def test_the_fluency_check_drops_what_does_not_read_as_a_sentence():
    manual = "[X] consists of [Y] ."
    assert fluency("[Y] silver and [X].", manual) == "fluency: no verb"
    assert fluency("Music of [Y] of games of [X].", manual) == "fluency: no verb"
    assert fluency("Born in [Y] [X] was.", "[X] was born in [Y] .") == "fluency: ends on an auxiliary"
    for fine in ("[X] is made up of [Y].", "[X] speaks [Y].", "[X] , located in [Y] ."):
        assert fluency(fine, manual) is None
    assert fluency("[X] , [Y] .", "[X] ( [Y] )") is None  # no verb, but neither has the manual
    dropped = screen("[X] is a member of [Y] .", ["[X] did not rejoin [Y].", "[X] joined [Y] .",
                                                   "[Y] silver and [X].", "[X] is a member of [Y] ."])
    assert dropped == {"[X] did not rejoin [Y].": "negation", "[Y] silver and [X].": "fluency: no verb"}


def test_a_search_on_a_tiny_model_goes_through_every_stage(tiny_causal_dir):
    from promptmine.models.score.causal import CausalScorer

    scorer = CachedScorer(CausalScorer(str(tiny_causal_dir), device="cpu", dtype="float32"), False)
    objects = ["Paris", "London", "Rome", "New York"]
    people = ["Marie Curie", "Albert Einstein", "Ada", "Marie", "Albert", "Curie", "Einstein", "Ada Curie",
              "Ada Einstein", "Albert Curie", "Marie Einstein", "Paris Ada"]
    whole = RelationFacts("P19", people, [i % 4 for i in range(len(people))], objects)
    pool, rest = reserve_demos([whole], 3)
    blocks = split_blocks(rest[0], 3, seed=0)
    settings = SearchSettings(shots=(1, 2), draws=1)
    found = search_after_wording(scorer, "P19", RelationVariant("[X] was born in [Y] ."), blocks, pool,
                                 Race(budget=60, block_size=3), settings, seed=0, demos=True)
    assert [st.stage for st in found.stages] == ["format", "demos", "calibration"]
    assert found.stages[0].candidates == 2 and found.stages[1].candidates == 2
    for st in found.stages:
        assert st.replaced == (st.lower > 0) and st.facts > 0
    assert {s for s, _ in found.prompt.demos} <= {s for s, _ in pool}
    assert found.prompt.calibration in ((), ("N/A",))
    Template(text=found.prompt.text)
    again = search_after_wording(scorer, "P19", RelationVariant("[X] was born in [Y] ."), blocks, pool,
                                 Race(budget=60, block_size=3), settings, seed=0, demos=False)
    assert [st.stage for st in again.stages] == ["format", "calibration"] and not again.prompt.demos


def test_a_calibrated_selection_is_evaluated_calibrated(tiny_causal_dir):
    from promptmine.core.records import Selection, WeightedTemplate
    from promptmine.models.score.causal import CausalScorer
    from promptmine.scoring import calibrated, evaluate_selection, ranks

    scorer = CachedScorer(CausalScorer(str(tiny_causal_dir), device="cpu", dtype="float32"), False)
    facts = RelationFacts("P19", ["Marie Curie", "Albert Einstein", "Ada"], [0, 1, 2], ["Paris", "London", "Rome"])
    sel = Selection(relation="P19", method="top1", model="m", calibration=["N/A"],
                    templates=[WeightedTemplate(template="[X] was born in [Y] .")])
    shared: dict = {}
    raw = evaluate_selection(scorer, sel.model_copy(update={"calibration": None}), facts, shared)
    got = evaluate_selection(scorer, sel, facts, shared)  # the same dict: raw scores are not reused
    want = ranks(calibrated(scorer, ["N/A"]).score("[X] was born in [Y] .", facts.subjects, facts.objects), facts.gold)
    assert got.ranks == want and len(shared) == 2
    assert raw.ranks == ranks(scorer.score("[X] was born in [Y] .", facts.subjects, facts.objects), facts.gold)


def test_no_demonstration_shows_a_test_subject():
    block = RelationFacts("P1", [f"s{i}" for i in range(12)], [i % 3 for i in range(12)], ["a", "b", "c"])
    pool, rest = reserve_demos([block], 3, avoid={"s11", "s9"})
    assert [s for s, _ in pool] == ["s10", "s7", "s8"] and "s11" in rest[0].subjects


def test_demonstrations_show_the_relation_s_typical_objects():
    """The pool holds facts of the most frequent objects, not an outlier whose object nothing else has."""
    objects = ["Paris", "Rome", "Slc17a2", "Oslo"]
    gold = [0, 1, 0, 1, 0, 1, 3, 0, 2, 2]  # Paris 4, Rome 3, Slc17a2 2 (the latest facts), Oslo 1
    block = RelationFacts("P1", [f"s{i}" for i in range(10)], gold, objects)
    pool, rest = reserve_demos([block], 4)
    assert pool == [("s7", "Paris"), ("s4", "Paris"), ("s5", "Rome"), ("s3", "Rome")]
    assert sum(b.n for b in rest) == 6


def test_the_wording_winner_must_also_win_once_both_prompts_show_demonstrations():
    """With the manual prompt given, format and demonstrations are searched from both it and the wording
    winner, and the manual prompt's path stays unless the winner's is clearly better."""
    from test_selection_racing import memory_scorer

    f = facts(120)
    blocks = split_blocks(RelationFacts("R", f.subjects[:96], f.gold[:96], f.objects), 16, seed=0)
    pool = [(s, f.objects[g]) for s, g in zip(f.subjects[96:], f.gold[96:])]
    settings = SearchSettings(dimensions=("wording", "format", "demos"), shots=(1,), draws=1)
    race = Race(budget=400, block_size=16)

    def run(manual: str, start: str, **kw):
        return search_after_wording(memory_scorer(), "R", RelationVariant(start), blocks, pool, race, settings,
                                    seed=0, demos=True, manual=RelationVariant(manual), **kw)

    lucky = run("good [X] [Y]", "ok [X] [Y]")  # the wording stage crowned a worse prompt
    assert lucky.prompt.template.startswith("good") and lucky.stages[-1].stage == "start"
    assert not lucky.stages[-1].replaced and not lucky.changes  # the worse path was raced out: nothing changed
    better = run("ok [X] [Y]", "good [X] [Y]")  # it found a clearly better one
    assert better.prompt.template.startswith("good") and better.stages[-1].replaced
    assert better.changes[-1] == "the wording winner's path"
    runner_up = run("ok [X] [Y]", "ok2 [X] [Y]", others=[RelationVariant("good [X] [Y]")])
    assert runner_up.prompt.template.startswith("good") and runner_up.stages[-1].replaced
    assert runner_up.changes[-1].startswith("the path from the wording runner-up")
    alone = search_after_wording(memory_scorer(), "R", RelationVariant("ok [X] [Y]"), blocks, pool, race, settings,
                                 seed=0, demos=True)
    assert "start" not in [s.stage for s in alone.stages]
