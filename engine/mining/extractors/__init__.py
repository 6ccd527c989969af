"""Template extractors, registered by name: `middle` (the words between subject and object) and
`dependency` (the shortest dependency path between them). Mining asks the registry which
extractors need a parse, and the shard fingerprint hashes the chosen extractors' source files.

A new template source is one module with an `@register`ed `Extractor` subclass, imported below.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from promptmine.mining.extractors.base import MAX_WORDS, REGISTRY, Extracted, Extractor, keep, register
from promptmine.mining.extractors import middle, dependency  # noqa: F401,E402  (register the built-ins, in tie order)

__all__ = ["MAX_WORDS", "REGISTRY", "Extracted", "Extractor", "keep", "register", "names", "resolve",
           "needs_parse", "source_files", "mention_span", "templates"]


def names() -> tuple[str, ...]:
    """Registered extractor names, in registration order."""
    return tuple(REGISTRY)


def resolve(methods: Sequence[str]) -> tuple[str, ...]:
    """The chosen extractor names as a tuple; ValueError when empty or not registered."""
    methods = tuple(methods)
    unknown = [m for m in methods if m not in REGISTRY]
    if unknown or not methods:
        raise ValueError(f"unknown mining method {', '.join(unknown) or '(none given)'}; "
                         f"choose from {', '.join(REGISTRY)}")
    return methods


def needs_parse(methods: Sequence[str]) -> bool:
    """Whether any chosen extractor reads the dependency parse (else a tokenizer is enough)."""
    return any(REGISTRY[m].needs_parse for m in methods)


def source_files(methods: Sequence[str]) -> list[Path]:
    """The files whose code decides what the chosen extractors produce: each extractor's module and
    the registry's shared modules (this package minus the other extractors' modules)."""
    import sys

    chosen = {Path(sys.modules[type(REGISTRY[m]).__module__].__file__) for m in methods}
    others = {Path(sys.modules[type(e).__module__].__file__) for e in REGISTRY.values()} - chosen
    shared = {p for p in Path(__file__).parent.glob("*.py") if p not in others}
    return sorted(chosen | shared)


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
              methods: Sequence[str] | None = None) -> list[tuple[str, Extracted | None]] | None:
    """(method, template) for one mention of a pair at these character offsets in a processed
    sentence, for each chosen extractor (default: all); None when the mentions share a token."""
    xspan, yspan = mention_span(doc, *xchars), mention_span(doc, *ychars)
    if xspan is None or yspan is None or (xspan.start < yspan.end and yspan.start < xspan.end):
        return None
    return [(m, REGISTRY[m].extract(doc, xspan, yspan)) for m in (names() if methods is None else methods)]
