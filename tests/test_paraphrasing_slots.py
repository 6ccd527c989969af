"""Slots through a translator (`promptmine.paraphrasing.slots`): rendered, restored, clashes refused."""

import pytest

from promptmine.paraphrasing.slots import render_slots as protect, restore_slots as restore


@pytest.mark.parametrize("style", ["names", "rare", "brackets"])
def test_protect_and_restore_round_trip(style):
    t = "The capital of [X] is [Y] ."
    p = protect(t, style)
    assert (style == "brackets") == ("[X]" in p)
    assert restore(p, style) == t


def test_restore_tolerates_mangled_brackets_and_refuses_clashing_names():
    assert restore("[ X ] nasceu em [y].", "brackets") == "[X] nasceu em [Y]."
    assert restore("Alice's mother met bob", "names") == "[X]'s mother met [Y]"
    assert protect("Alice met [X] in [Y] .", "names") is None  # would be restored as a slot
