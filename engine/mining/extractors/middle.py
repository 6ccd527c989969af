"""Middle-word templates: the words between x and y (tokenizer only, no parse)."""

from __future__ import annotations

from promptmine.mining.extractors.base import Extracted, Extractor, render


def middle_template(doc, xspan, yspan) -> Extracted | None:
    """The words between x and y: `[X] was born in [Y] .` (or `[Y] ... [X] .`)."""
    return render(doc, range(min(xspan.start, yspan.start), max(xspan.end, yspan.end)), xspan, yspan)


class Middle(Extractor):
    name = "middle"
    needs_parse = False

    def extract(self, doc, xspan, yspan) -> Extracted | None:
        return middle_template(doc, xspan, yspan)
