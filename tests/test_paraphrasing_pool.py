"""Growing the paraphrase pool with the shipped translators: every route, chained pivots and round
trips of the best round trips, each generation ranked and de-duplicated under one normal form."""

import pytest

from promptmine.core.records import template_key
from promptmine.models.translate.apertium import installed_modes
from promptmine.paraphrasing import ParaphraseSettings, RoundTripStats, grow_paraphrases, paraphrase_templates
from promptmine.pipeline import paraphrase_pools
from promptmine.report import pool_sizes
from promptmine.selection import Pool

needs_apertium = pytest.mark.skipif(not {"eng-spa", "spa-eng"} <= installed_modes(),
                                    reason="apertium with apertium-eng-spa is not installed")


def _check_pool(template, cands):
    original, rest = cands[0], cands[1:]
    assert original.pivot is None and original.template == "[X] works for [Y]." and original.source == template
    keys = [template_key(c.template) for c in cands]
    assert len(set(keys)) == len(keys)  # one normal form: no two candidates are variants of each other
    for c in rest:
        assert c.template.count("[X]") == 1 and c.template.count("[Y]") == 1, c.template
        assert c.source == template and c.method == "paraphrase"


@needs_apertium
def test_a_second_generation_round_trips_the_first_one_with_apertium():
    """Rule-based, so deterministic: `works` comes back as `act`, and `act` again as `law`."""
    from promptmine.models.translate.apertium import ApertiumTranslator

    template = "[X] works for [Y] ."
    apertium = ApertiumTranslator()
    [one] = grow_paraphrases([template], [(apertium, ["es"])], generations=1, cache=None)
    stats = RoundTripStats()
    [two] = grow_paraphrases([template], [(apertium, ["es"])], generations=2, cache=None, stats=stats)
    _check_pool(template, one)
    _check_pool(template, two)
    first = [c.template for c in one[1:]]
    assert "[X] act for [Y]." in first and all(c.pivot == "es" for c in one[1:])
    assert [c.template for c in two[1:len(one)]] == first  # generation 1 first, in the same order
    second = two[len(one):]
    assert second and all(c.pivot.startswith("es>es") and c.backend.startswith("apertium>apertium") for c in second)
    assert "[X] law for [Y]." in [c.template for c in second]
    # capitalised output of unknown names (`[X] Works for`) is the original under the normal form: not kept
    assert all(template_key(c.template) != template_key(template) for c in two[1:])
    assert stats.inputs == 1 + (len(one) - 1)  # generation 2 round-trips each generation-1 paraphrase


@needs_apertium
def test_pools_of_the_run_say_which_relations_got_no_paraphrase():
    manual = {"P19": "[X] was born in [Y] .", "P108": "[X] works for [Y] ."}
    routes = [("apertium", ["es"]), ("apertium", ["xx"])]  # xx: skipped
    pools = paraphrase_pools(manual, routes, ParaphraseSettings(top=10))
    assert pools["P19"] == [] and 0 < len(pools["P108"]) <= 10
    line = pool_sizes({r: Pool(t, [], [c.template for c in pools[r]]) for r, t in manual.items()})
    assert "No paraphrase for P19:" in line and f"P108 0/{len(pools['P108'])}" in line
    assert "No mined template for P19, P108" in line


def test_pool_dedupe_keeps_what_the_scorer_tells_apart():
    pool = Pool("The capital of [X] is [Y] .", ["The capital of [X] is [Y].", "[X] co founded [Y]."],
                ["The capital of  [X] is [Y] .", "[X] co founded [Y].", "[Y] is the capital of [X]."]).dedupe()
    assert pool.all == ["The capital of [X] is [Y] .", "The capital of [X] is [Y].", "[X] co founded [Y].",
                        "[Y] is the capital of [X]."]
    line = pool_sizes({"P36": pool})
    assert "P36 2/1" in line and "P36: a candidate is the manual prompt up to spacing" in line
    assert "No mined template" not in line


@pytest.mark.integration
def test_generations_and_routes_grow_the_pool_with_the_shipped_bergamot():
    from promptmine.models.translate.bergamot import BergamotTranslator

    bergamot = BergamotTranslator()
    template = "[X] is represented by music label [Y] ."
    [lpaqa] = paraphrase_templates([template], bergamot, ["pt"], cache=None)  # one generation, own renderings
    [grown] = grow_paraphrases([template], [(bergamot, ["pt"])], generations=2, cache=None)
    assert len(grown) > len(lpaqa) >= 2
    assert {template_key(c.template) for c in lpaqa} <= {template_key(c.template) for c in grown}
    keys = [template_key(c.template) for c in grown]
    assert len(set(keys)) == len(keys)
    for c in grown[1:]:
        assert c.template.count("[X]") == 1 and c.template.count("[Y]") == 1
        assert "Smith" not in c.template and "Jones" not in c.template  # no slot rendering left behind
    assert any(c.pivot.startswith("pt>pt") for c in grown[1:])
    assert "[X] is represented by the label [Y]." in [c.template for c in grown]


@pytest.mark.integration
def test_a_frame_gives_bergamot_another_sentence_and_comes_off_again():
    """`The capital of [X] is [Y].` comes back unchanged on its own; inside `We know that ...` it
    comes back as `... [X]'s capital is [Y].`, which is kept without the frame."""
    from promptmine.models.translate.bergamot import BergamotTranslator

    bergamot = BergamotTranslator()
    template = "The capital of [X] is [Y] ."
    [plain] = grow_paraphrases([template], [(bergamot, ["pt"])], generations=1, frames=(), cache=None)
    stats = RoundTripStats()
    [framed] = grow_paraphrases([template], [(bergamot, ["pt"])], generations=1, frames=("We know that ",),
                                cache=None, stats=stats)
    assert "[X]'s capital is [Y]." not in [c.template for c in plain]
    assert "[X]'s capital is [Y]." in [c.template for c in framed]
    assert not any(c.template.lower().startswith("we know") for c in framed)


def test_input_forms_and_their_undoing():
    from promptmine.paraphrasing.pool import _junk
    from promptmine.paraphrasing.roundtrip import _lower_first, _stop_like, _toggle_stop, _unframe

    assert _toggle_stop("[X] died in [Y] .") == "[X] died in [Y]"
    assert _toggle_stop("[X] died in [Y]") == "[X] died in [Y]."
    assert _stop_like("[X] perished in [Y]", "[X] died in [Y] .") == "[X] perished in [Y]."
    assert _stop_like("[X] perished in [Y].", "[X] died in [Y]") == "[X] perished in [Y]"
    assert _lower_first("The capital of [X] is [Y].") == "the capital of [X] is [Y]."
    assert _lower_first("[X] died in [Y].") == "[X] died in [Y]." and _lower_first("Paris is [X]") == "Paris is [X]"
    assert _unframe("We know that [X]'s capital is [Y].", "We know that ", "The capital of [X] is [Y].") == \
        "[X]'s capital is [Y]."
    assert _unframe("we know that the capital of [X] is [Y].", "We know that ", "The capital of [X] is [Y].") == \
        "The capital of [X] is [Y]."
    assert _unframe("It is known that [X] died in [Y].", "We know that ", "[X] died in [Y].") is None
    assert _junk("[X] is [Y].", "[X] is a [Y].")  # nothing left that names the relation
    assert _junk("[X] The capital is [Y].", "[X]'s capital is [Y].")  # a capital inside the sentence
    assert not _junk("[X] was named after [Y].", "[X] is named after [Y].")
    assert not _junk("[X] plays as [Y] for the Lakers.", "[X] plays for the Lakers as [Y].")  # the source has it


@needs_apertium
def test_paraphrase_command_grows_the_pool_with_generations(tmp_path):
    import json

    from promptmine.cli import main

    out = {}
    for g in (1, 2):
        path = tmp_path / f"g{g}.jsonl"
        assert main(["paraphrase", "[X] works for [Y] .", "--backend", "apertium", "--generations", str(g),
                     "--no-cache", "--out", str(path)]) == 0
        out[g] = [json.loads(line) for line in path.read_text().splitlines()]
    assert out[1][0]["pivot"] is None and out[2][0]["pivot"] is None  # the original first
    assert {r["pivot"] for r in out[1][1:]} == {"es"}
    assert [r["template"] for r in out[2][:len(out[1])]] == [r["template"] for r in out[1]]
    assert "[X] law for [Y]." in [r["template"] for r in out[2] if r["pivot"] == "es>es"]


class EchoTranslator:
    """Gives every plain input back unchanged; a framed one (`In fact, ...`) comes back reworded: as a
    greedy translator does with a short template, one round trip finds nothing, a grown pool does."""

    name = "echo"
    identity = "echo-test-double"
    placeholder_styles = ("brackets",)

    def supports(self, src, tgt):
        return {src, tgt} == {"en", "xx"}

    def translate(self, texts, src, tgt, n=1):
        from promptmine.models.translate import Hypothesis

        return [[Hypothesis(t.replace("In fact, [X] is a subclass of", "In fact, [X] is a kind of"))] for t in texts]


def test_default_generations_grow_only_the_templates_one_round_trip_left_unchanged():
    from promptmine.paraphrasing import paraphrase_routes

    stats = RoundTripStats()
    one = paraphrase_routes(["[X] is a subclass of [Y] ."], [(EchoTranslator(), ["xx"])], generations=1, cache=None)
    assert len(one[0]) == 1  # LPAQA's single round trip: nothing new
    [grown] = paraphrase_routes(["[X] is a subclass of [Y] ."], [(EchoTranslator(), ["xx"])], cache=None,
                                stats=stats)
    assert [c.template for c in grown[1:]] == ["[X] is a kind of [Y]."]


class SwappingTranslator(EchoTranslator):
    """Round trips that swap the roles, repeat a side or add a negation: all dropped, and counted."""

    def translate(self, texts, src, tgt, n=1):
        from promptmine.models.translate import Hypothesis

        if tgt == "xx":
            return [[Hypothesis(t)] for t in texts]
        return [[Hypothesis("[Y] is the capital of [X]."), Hypothesis("[X] is the capital of [Y]."),
                 Hypothesis("The capital of [X] is the capital of [Y]."),
                 Hypothesis("The capital of [X] is not [Y].")][:n] for t in texts]


def test_growth_drops_and_counts_what_hygiene_rejects():
    stats = RoundTripStats()
    [cands] = grow_paraphrases(["The capital of [X] is [Y] ."], [(SwappingTranslator(), ["xx"])], generations=2,
                               beams=4, extra_styles=(), stop_variants=False, frames=(), cache=None, stats=stats)
    assert [c.template for c in cands[1:]] == ["[Y] is the capital of [X]."]
    assert sorted(why for _, _, why in stats.rejected) == ["negation", "role_swap", "tautology"]
