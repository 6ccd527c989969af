"""Template extractors, found by name in `EXTRACTORS` (a `promptmine.models.registry.Registry`, as the
scorers and translators are): `middle` (the words between subject and object) and `dependency` (the
shortest dependency path between them). Mining asks the registry which extractors need a parse, and
the shard fingerprint hashes the chosen extractors' source files.

A new template source is one module with an `Extractor` subclass and one line below (or
`EXTRACTORS.register(name, cls)` at run time). The registry keeps registration order: the tie order
of ranking (`promptmine.mining.miner.rank`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from promptmine.mining.extractors.base import Extracted, Extractor, keep
from promptmine.models.registry import Registry

EXTRACTORS = Registry("mining method", {
    "middle": "promptmine.mining.extractors.middle:Middle",
    "dependency": "promptmine.mining.extractors.dependency:Dependency",
}, ordered=True)

__all__ = ["EXTRACTORS", "Extracted", "Extractor", "chosen", "keep", "names", "resolve", "needs_parse",
           "source_files", "mention_span", "templates"]


def names() -> tuple[str, ...]:
    """Registered extractor names, in registration order."""
    return tuple(EXTRACTORS.names())


def resolve(methods: Sequence[str]) -> tuple[str, ...]:
    """The chosen extractor names as a tuple; ValueError when empty or not registered."""
    methods = tuple(methods)
    known = names()
    unknown = [m for m in methods if m not in known]
    if unknown or not methods:
        raise ValueError(f"unknown mining method {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(known)}")
    return methods


def chosen(methods: Sequence[str]) -> dict[str, Extractor]:
    """The chosen extractors, built by the registry, by name (in the order given)."""
    return {m: EXTRACTORS.create(m) for m in resolve(methods)}


def needs_parse(methods: Sequence[str]) -> bool:
    """Whether any chosen extractor reads the dependency parse (else a tokenizer is enough)."""
    return any(EXTRACTORS.resolve(m).needs_parse for m in methods)


def source_files(methods: Sequence[str]) -> list[Path]:
    """The files whose code decides what the chosen extractors produce: each extractor's module and
    the registry's shared modules (this package minus the other extractors' modules)."""

    def module_file(name: str) -> Path:
        return Path(sys.modules[EXTRACTORS.resolve(name).__module__].__file__)

    picked = {module_file(m) for m in methods}
    others = {module_file(m) for m in names()} - picked
    shared = {p for p in Path(__file__).parent.glob("*.py") if p not in others}
    return sorted(picked | shared)


def mention_span(doc, start: int, end: int):
    """The tokens of a matched string, with its determiner "the" when the parse attaches it to the
    mention ("a member of the [Y]" and "a member of [Y]" are the same template)."""
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is not None and span.start > 0:
        before = doc[span.start - 1]
        if before.lower_ == "the" and before.dep_ == "det" and span.start <= before.head.i < span.end:
            span = doc[span.start - 1:span.end]
    return span


def templates(doc, xchars: tuple[int, int], ychars: tuple[int, int],
              extractors: Mapping[str, Extractor] | None = None) -> list[tuple[str, Extracted | None]] | None:
    """(method, template) for one mention of a pair at these character offsets in a processed
    sentence, for each of `extractors` (`chosen(...)`; default: every registered one); None when the
    mentions share a token."""
    xspan, yspan = mention_span(doc, *xchars), mention_span(doc, *ychars)
    if xspan is None or yspan is None or (xspan.start < yspan.end and yspan.start < xspan.end):
        return None
    extractors = chosen(names()) if extractors is None else extractors
    return [(m, e.extract(doc, xspan, yspan)) for m, e in extractors.items()]
