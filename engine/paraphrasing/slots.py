"""Slots through a translator: `[X]`/`[Y]` rendered as text the translator leaves alone (names, invented
words, or the brackets themselves), and turned back into `[X]`/`[Y]` afterwards.

A translator's `placeholder_styles` says which renderings suit it; a round trip that loses or
duplicates a slot is dropped by the caller (`slot_counts`, `LEFTOVER`).
"""

from __future__ import annotations

import re

from promptmine.core.records import X, Y

# How slots travel through a translator: a (subject, object) rendering, restored afterwards.
# `names` reads as natural text to NMT models; `rare` are invented words that subword models copy;
# `brackets` sends `[X]`/`[Y]` as they are. A translator's `placeholder_styles` says which to use.
PLACEHOLDER_STYLES: dict[str, tuple[str, str]] = {
    "names": ("Alice", "Bob"),
    "rare": ("Zanko", "Yurba"),
    "brackets": (X, Y),
    # more names: each is another input sentence, so a greedy translator gives another candidate
    "names2": ("Tom", "Anna"),
    "names3": ("John", "Mary"),
    "surnames": ("Smith", "Jones"),
}
DEFAULT_STYLES = ("brackets",)  # for translators that say nothing (e.g. hosted ones told to keep slots)


def _slot_pattern(word: str) -> re.Pattern:
    if word in (X, Y):  # tolerate `[ X ]`, `[x]`
        return re.compile(r"\[\s*" + word[1] + r"\s*\]", re.IGNORECASE)
    return re.compile(r"\b" + re.escape(word) + r"\b", re.IGNORECASE)


def render_slots(text: str, style: str) -> str | None:
    """The text with its slots rendered in `style`, or None if that rendering already occurs in it."""
    if style == "none":
        return text
    sx, sy = PLACEHOLDER_STYLES[style]
    if style != "brackets" and (_slot_pattern(sx).search(text) or _slot_pattern(sy).search(text)):
        return None
    return text.replace(X, sx).replace(Y, sy)


def restore_slots(text: str, style: str) -> str:
    """Turn a translated rendering back into `[X]`/`[Y]`."""
    if style == "none":
        return text
    sx, sy = PLACEHOLDER_STYLES[style]
    return _slot_pattern(sy).sub(Y, _slot_pattern(sx).sub(X, text))


# Any slot rendering left in a translation (`[X] is [Y] by Smith`): a slot the translator duplicated.
LEFTOVER = re.compile(r"\b(?:" + "|".join(re.escape(w) for pair in PLACEHOLDER_STYLES.values() for w in pair
                                            if w not in (X, Y)) + r")\b", re.IGNORECASE)


# `Jones' label` restored as `[Y]' label`: the slot's own possessive is `'s`.
BARE_POSSESSIVE = re.compile(r"(?<!')(\[[XY]\])'(?![a-z])")


def slot_counts(text: str) -> tuple[int, int]:
    return text.count(X), text.count(Y)
