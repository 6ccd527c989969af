"""Debian's Apertium EN<->ES (scripts/install.sh installs it where apt-get is available)."""

import shutil

import pytest

from promptmine.core.errors import ModelNotAvailable
from promptmine.models.translate.apertium import installed_modes

needs_apertium = pytest.mark.skipif("eng-spa" not in installed_modes(),
                                    reason="apertium with apertium-eng-spa is not installed")


@needs_apertium
def test_translates_en_es_line_by_line():
    from promptmine.models.translate.apertium import ApertiumTranslator

    tr = ApertiumTranslator()
    assert tr.supports("en", "es") and tr.supports("es", "en") and not tr.supports("en", "pt")
    out = tr.translate(["Alice was born in Paris.", "Bob died in London.", "The dog is black."], "en", "es")
    assert [len(h) for h in out] == [1, 1, 1]
    assert out[0][0].text == "Alice nació en París." and out[0][0].logprob is None
    assert "Londres" in out[1][0].text and "perro" in out[2][0].text
    back = tr.translate([out[0][0].text], "es", "en")
    assert back[0][0].text == "Alice was born in Paris."


@needs_apertium
def test_missing_pair_is_a_clear_error():
    from promptmine.models.translate.apertium import ApertiumTranslator

    with pytest.raises(ModelNotAvailable, match=r"no en->pt mode; installed here: .*en<->es"):
        ApertiumTranslator().translate(["hi"], "en", "pt")


def test_missing_program_is_a_clear_error(tmp_path):
    from promptmine.models.translate.apertium import ApertiumTranslator

    assert shutil.which(str(tmp_path / "apertium")) is None
    with pytest.raises(ModelNotAvailable, match="apt-get install apertium"):
        ApertiumTranslator(binary=str(tmp_path / "apertium"))
