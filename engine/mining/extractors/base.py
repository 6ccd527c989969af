"""What every template extractor shares: its base class, the result type, and rendering a set of
sentence tokens with the mentions replaced by [X] and [Y].

An extractor turns one mention of a pair in a sentence (a spaCy `Doc` and the x/y `Span`s) into a
template. It is a `promptmine.models.registry.Backend` found by name in `EXTRACTORS` (the registry
the scorers and translators use): it declares whether it reads the dependency parse
(`needs_parse`), so mining loads spaCy's parser only when a chosen extractor needs it, and may
declare `Options` and its `availability()` as any backend does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from promptmine.core.records import check_template, normalize_text
from promptmine.models.registry import Backend


@dataclass(frozen=True)
class Extracted:
    template: str
    words: int  # words other than the slots, punctuation excluded
    content: int  # of which not stop words


class Extractor(Backend):
    """A template source. Subclasses set `name` (the --methods value and the candidates' `method`),
    `needs_parse`, and implement `extract`; a line in `EXTRACTORS` (or `EXTRACTORS.register`) makes
    them available by name."""

    name: ClassVar[str] = "extractor"
    needs_parse: ClassVar[bool] = False

    def extract(self, doc, xspan, yspan) -> Extracted | None:
        """The template for mentions `xspan` (subject) and `yspan` (object) of `doc`, or None."""
        raise NotImplementedError


def keep(ex: Extracted | None, max_words: int) -> bool:
    """Drop templates with no words, over max_words words, or made only of stop words and punctuation."""
    return ex is not None and 0 < ex.words <= max_words and ex.content > 0


def is_slot(i: int, xspan, yspan) -> bool:
    return xspan.start <= i < xspan.end or yspan.start <= i < yspan.end


def render(doc, indices: Iterable[int], xspan, yspan) -> Extracted | None:
    """The tokens at `indices` (in sentence order) with the x and y spans replaced by [X] and [Y],
    as a normalised template. Adjacent tokens keep the sentence's spacing; a gap becomes a space."""
    parts, words, content = [], 0, 0
    order = sorted(set(indices) | set(range(xspan.start, xspan.end)) | set(range(yspan.start, yspan.end)))
    for n, i in enumerate(order):
        gap = " " if n + 1 < len(order) and order[n + 1] != i + 1 else None
        if xspan.start <= i < xspan.end or yspan.start <= i < yspan.end:
            span = xspan if i < xspan.end and i >= xspan.start else yspan
            if i == span.end - 1:
                parts.append(("[X]" if span is xspan else "[Y]") + (gap or doc[i].whitespace_))
            continue
        tok = doc[i]
        text = tok.text
        if gap and tok.lower_ in ("a", "an") and not is_slot(order[n + 1], xspan, yspan):
            # words between the article and its noun were dropped: "an [American] series" -> "a series"
            vowel = doc[order[n + 1]].lower_[:1] in "aeiou"
            text = (text[0] + ("n" if vowel else "")) if tok.lower_ != ("an" if vowel else "a") else text
        parts.append(text + (gap or tok.whitespace_))
        if not (tok.is_punct or tok.is_space):
            words += 1
            content += not tok.is_stop
    text = _balance("".join(parts)).strip()
    if not text:
        return None
    if text[-1] not in ".!?":
        text += " ."
    text = normalize_text(text)
    if text[0].islower():
        text = text[0].upper() + text[1:]
    try:
        check_template(text)
    except ValueError:  # the sentence itself contains a literal [X] or [Y]
        return None
    return Extracted(text, words, content)


_PAIRS = {")": "(", "]": "["}


def _balance(text: str) -> str:
    """Drop brackets and double quotes left unmatched where the template was cut out of its
    sentence: `[X] (born in [Y]` -> `[X] born in [Y]`, `[X]" is a song by [Y]` -> `[X] is a song by [Y]`."""
    drop, open_at = set(), []
    for i, ch in enumerate(text):
        if ch in "([":
            open_at.append(i)
        elif ch in _PAIRS:
            if open_at and text[open_at[-1]] == _PAIRS[ch]:
                open_at.pop()
            else:
                drop.add(i)
    drop.update(open_at)
    if text.count('"') % 2:
        drop.update(i for i, ch in enumerate(text) if ch == '"')
    return "".join(ch for i, ch in enumerate(text) if i not in drop) if drop else text
