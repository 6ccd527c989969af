"""The round trip (`promptmine.paraphrasing.roundtrip`) on real translators: Bergamot (shipped), Apertium
and a tiny random MarianMT; the translation cache."""

import pytest

from promptmine.paraphrasing import (ParaphraseSettings, RoundTripStats, paraphrase_templates, paraphrase_text,
                                     round_trip)
from promptmine.core.records import normalize_text


TEMPLATES = ["[X] is named after [Y] .", "The official language of [X] is [Y] .", "[X] plays in [Y] position ."]


@pytest.fixture(scope="module")
def bergamot():
    from promptmine.models.translate.bergamot import BergamotTranslator

    return BergamotTranslator(threads=2)


@pytest.fixture(scope="module")
def marian(tmp_path_factory, random_marian):
    from promptmine.models.translate.marian import MarianTranslator

    folder = random_marian(tmp_path_factory.mktemp("m") / "tiny",
                           ["Alice was born in Bob .", "Le chat est noir .", "Der Hund ist schnell ."] * 30,
                           d_model=16, layers=1, heads=2, ffn_dim=32, spm_vocab_size=50)
    pairs = ",".join(f"{p}={folder}" for p in ("en-de", "de-en", "en-fr", "fr-en"))
    return MarianTranslator(model=pairs, max_new_tokens=6, device="cpu")


class Counting:
    """Delegates to a real translator and counts the texts it is asked to translate."""

    def __init__(self, inner):
        self.inner, self.name, self.calls = inner, inner.name, 0
        self.placeholder_styles = inner.placeholder_styles

    identity = property(lambda self: self.inner.identity)

    def supports(self, src, tgt):
        return self.inner.supports(src, tgt)

    def translate(self, texts, src, tgt, n=1):
        self.calls += len(texts)
        return self.inner.translate(texts, src, tgt, n)


def test_templates_with_bergamot(bergamot):
    stats = RoundTripStats()
    out = paraphrase_templates(TEMPLATES, bergamot, ["pt"], beams=7, top=40, cache=None, stats=stats,
                               relations=["P138", "P37", "P413"])
    assert len(out) == 3
    assert stats.round_trips == 3 * 3  # 3 templates x 3 slot renderings x 1x1 (greedy)
    for template, cands in zip(TEMPLATES, out):
        first, rest = cands[0], cands[1:]
        assert first.template == normalize_text(template) and first.pivot is None and first.score is None
        assert rest, f"no paraphrase of {template}"
        texts = [c.template for c in cands]
        assert len(set(texts)) == len(texts)  # normalised and de-duplicated, original not repeated
        for c in rest:
            assert c.template.count("[X]") == 1 and c.template.count("[Y]") == 1
            assert c.template == normalize_text(c.template)
            assert (c.pivot, c.backend, c.method, c.source) == ("pt", "bergamot", "paraphrase", template)
    assert out[0][0].relation == "P138" and out[1][1].relation == "P37"
    assert "[X] was named after [Y]." in [c.template for c in out[0]]


def test_scoreless_ranking_prefers_agreement_and_keeps_order(bergamot):
    ranked = round_trip(TEMPLATES + ["[X] shares border with [Y] ."], bergamot, ["pt"], ParaphraseSettings(beams=1))
    for items in ranked:
        keys = [(-len(f.routes), -f.paths, f.first) for f in items]
        assert keys == sorted(keys)
        assert all(f.score is None for f in items)


def test_top_limits_paraphrases_after_the_original(bergamot):
    out = paraphrase_templates(["[X] is named after [Y] ."], bergamot, ["pt"], top=1, cache=None)
    assert len(out[0]) == 2


def test_marian_drops_every_candidate_that_lost_a_slot(marian):
    """A random model never reproduces the slot names: nothing may leak, and every drop is counted."""
    stats = RoundTripStats()
    out = paraphrase_templates(["[X] was born in [Y] .", "[X] died in [Y] ."], marian, ["de", "fr"], beams=3,
                               cache=None, stats=stats)
    assert stats.round_trips == 2 * 2 * 3 * 3  # templates x pivots x B x B
    assert stats.dropped == stats.round_trips and stats.kept == 0
    assert [len(c) for c in out] == [1, 1]


def test_marian_scores_are_forward_plus_backward(marian):
    """Free text has no slots, so random-model candidates survive: the best variant's score is the best
    forward+backward length-normalised log-probability over the B x B round trips."""
    text = "Le chat est noir ."
    original, *variants = paraphrase_text(text, marian, ["de"], beams=3, permutations=3, cache=None)
    assert original["template"] == text and original["pivot"] is None
    fwd = marian.translate([text], "en", "de", n=3)[0]
    back = marian.translate([h.text for h in fwd], "de", "en", n=3)
    expected = max(f.logprob + b.logprob for f, bs in zip(fwd, back) for b in bs
                   if b.text.strip() and normalize_text(b.text) != normalize_text(text))
    assert variants[0]["score"] == pytest.approx(expected, abs=1e-5)
    assert [v["score"] for v in variants] == sorted((v["score"] for v in variants), reverse=True)
    assert len({v["template"] for v in variants}) == len(variants)


def test_translations_are_cached_on_disk(bergamot):
    first = Counting(bergamot)
    a = paraphrase_templates(TEMPLATES, first, ["pt"])
    assert first.calls > 0
    again = Counting(bergamot)
    b = paraphrase_templates(TEMPLATES, again, ["pt"])
    assert again.calls == 0 and a == b


def test_templates_with_apertium_keep_their_slots():
    """Apertium turns a bare `Y` into Spanish `y`: slots must travel as names and come back intact."""
    from promptmine.models.translate.apertium import ApertiumTranslator, installed_modes

    if "eng-spa" not in installed_modes():
        pytest.skip("apertium with apertium-eng-spa is not installed")
    stats = RoundTripStats()
    (cands,) = paraphrase_templates(["The official language of [X] is [Y] ."], ApertiumTranslator(), ["es"],
                                    cache=None, stats=stats)
    assert stats.dropped == 0
    assert [c.template for c in cands] == ["The official language of [X] is [Y].",
                                           "The official tongue of [X] is [Y]."]
