"""`ParaphraseSettings`: how `promptmine.paraphrase` and `promptmine paraphrase` round-trip prompts,
each default written once (the protected spans of free text: `promptmine.paraphrasing.spans.SpanSettings`)."""

from __future__ import annotations

from pydantic import Field

from promptmine.core.settings import Settings


class ParaphraseSettings(Settings):
    """The round trip's settings, for templates and free-text prompts alike."""

    src: str = Field("en", description="language of the prompts")
    beams: int = Field(7, ge=1, description="candidates per translation step, B")
    top: int = Field(40, ge=0, description="paraphrases kept per template, T")
    generations: int | None = Field(None, ge=1, description="rounds of back-translation for templates (None: one, "
                                                            "grown further only for the templates it left "
                                                            "without a paraphrase)")
    permutations: int = Field(5, ge=1, description="distinct variants of a free-text prompt")
    placeholders: tuple[str, ...] | None = Field(None, description="how [X]/[Y] travel (renderings of "
                                                                   "`promptmine.paraphrasing.slots`; None: the "
                                                                   "translator's own)")
