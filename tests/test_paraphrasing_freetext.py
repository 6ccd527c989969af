"""Free-text prompts (`promptmine.paraphrasing.freetext`): the layout kept, variants through Bergamot."""

import pytest

from promptmine.paraphrasing import paraphrase_text, split_units
from promptmine.core.records import normalize_text


@pytest.fixture(scope="module")
def bergamot():
    from promptmine.models.translate.bergamot import BergamotTranslator

    return BergamotTranslator(threads=2)


def test_split_units_keeps_layout():
    text = "Review: Great film. Loved it!\n\n  Sentiment: positive\nReview: [X]\nSentiment:   \n---\n"
    pieces = split_units(text)
    assert "".join(p for p, _ in pieces) == text
    translated = [p for p, tr in pieces if tr]
    assert translated == ["Review: Great film.", "Loved it!", "Sentiment: positive", "Review: [X]", "Sentiment:"]


def test_free_text_variants_with_bergamot(bergamot):
    text = ("Review: The film was wonderful and I loved the actors.\nSentiment: positive\n\n"
            "Review: A boring plot. The ending was bad.\nSentiment: negative\n\nReview: [X]\nSentiment:")
    original, *variants = paraphrase_text(text, bergamot, ["pt"], permutations=3, cache=None)
    assert original == {"source": text, "template": text, "pivot": None, "backend": "bergamot", "score": None}
    assert len(variants) == 3
    assert len({normalize_text(v["template"]) for v in variants}) == 3
    for v in variants:
        assert v["source"] == text and v["backend"] == "bergamot" and v["pivot"] == "pt"
        assert v["template"].count("\n") == text.count("\n")
        assert v["template"].count("[X]") == 1
        assert normalize_text(v["template"]) != normalize_text(text)
