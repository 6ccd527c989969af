"""Translators behind one small interface, chosen by name (`--backend`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from promptmine.models.registry import Registry


@dataclass(frozen=True)
class Hypothesis:
    """One translation; `logprob` is length-normalised, None when the backend gives no score."""

    text: str
    logprob: float | None = None


class Translator(Protocol):
    name: str

    @property
    def identity(self) -> str:
        """Stable id of backend + model, used as the cache key prefix."""
        ...

    def supports(self, src: str, tgt: str) -> bool: ...

    def translate(self, texts: Sequence[str], src: str, tgt: str, n: int = 1) -> list[list[Hypothesis]]:
        """Up to `n` hypotheses per input text, best first."""
        ...


TRANSLATORS = Registry("translator backend", {
    "marian": "promptmine.models.translate.marian:MarianTranslator",
    "bergamot": "promptmine.models.translate.bergamot:BergamotTranslator",
    "apertium": "promptmine.models.translate.apertium:ApertiumTranslator",
    "openai": "promptmine.models.hosted:OpenAITranslator",
})


class Paraphraser(Protocol):
    """Direct paraphrasing (no pivot), e.g. a hosted chat model asked for N rewrites."""

    name: str

    @property
    def identity(self) -> str: ...

    def paraphrase(self, texts: Sequence[str], n: int) -> list[list[Hypothesis]]:
        """Up to `n` paraphrases per input text (placeholders kept), best first."""
        ...


PARAPHRASERS = Registry("paraphraser backend", {
    "openai": "promptmine.models.hosted:OpenAIParaphraser",
})
