"""Translators and paraphrasers behind one small interface, chosen by name (`--backend`).

A new backend subclasses `Translator` (or `Paraphraser`), declares its settings in a nested pydantic
`Options` model (read back as `self.options`; see `promptmine.models.registry.Backend`), implements
`translate` (or `paraphrase`) and adds one line to the registry below; the CLI makes its flags from
`Options`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from promptmine.core.errors import ModelNotAvailable
from promptmine.models.registry import Backend, Registry


@dataclass(frozen=True)
class Hypothesis:
    """One translation; `logprob` is length-normalised, None when the backend gives no score."""

    text: str
    logprob: float | None = None


class Translator(Backend):
    """Base class of translators: override `translate`; the rest has defaults.

    - `name`: the registry name, written into candidates' `backend` field.
    - `identity`: starts the translation cache key, so two backends (or two models) never share
      cached results.
    - `default_pivots`: languages used when the caller names none; `offered_pivots(options)`: those
      it can use at all.
    - `placeholder_styles`: how `[X]`/`[Y]` travel through this translator (see
      `promptmine.paraphrasing.PLACEHOLDER_STYLES`): names for NMT models, brackets for LLMs.
    - `supports(src, tgt)` / `require(src, tgt)`: whether a direction is available; `require`
      raises `ModelNotAvailable` saying how to add it, checked before any work starts.
    """

    name = "translator"
    default_pivots: tuple[str, ...] = ()
    placeholder_styles: tuple[str, ...] = ("brackets",)

    @classmethod
    def offered_pivots(cls, options: BaseModel | None = None) -> dict[str, str | None]:
        """The languages it can pivot through from English with these (validated) options: language ->
        None when usable here, else how to add it. Empty: any language (a general model, or models the
        options name). Asks `availability()`, loading no model."""
        return dict(cls.availability().pivots)

    def supports(self, src: str, tgt: str) -> bool:
        return src != tgt

    def require(self, src: str, tgt: str) -> None:
        if not self.supports(src, tgt):
            raise ModelNotAvailable(f"the {self.name} backend cannot translate {src}->{tgt}")

    def translate(self, texts: Sequence[str], src: str, tgt: str, n: int = 1) -> list[list[Hypothesis]]:
        """Up to `n` hypotheses per input text, best first (one list per input, in order)."""
        raise NotImplementedError


class Paraphraser(Backend):
    """Base class of direct paraphrasers (no pivot), e.g. a hosted chat model asked for N rewrites."""

    name = "paraphraser"

    def paraphrase(self, texts: Sequence[str], n: int) -> list[list[Hypothesis]]:
        """Up to `n` paraphrases per input text (placeholders kept), best first."""
        raise NotImplementedError


TRANSLATORS = Registry("translator backend", {
    "marian": "promptmine.models.translate.marian:MarianTranslator",
    "ctranslate2": "promptmine.models.translate.ctranslate2:CTranslate2Translator",
    "bergamot": "promptmine.models.translate.bergamot:BergamotTranslator",
    "apertium": "promptmine.models.translate.apertium:ApertiumTranslator",
    "openai": "promptmine.models.hosted:OpenAITranslator",
})


PARAPHRASERS = Registry("paraphraser backend", {
    "openai": "promptmine.models.hosted:OpenAIParaphraser",
})
