"""Scorers behind one interface, chosen by name (`--scorer`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from promptmine.models.registry import Registry


class Scorer(Protocol):
    name: str

    @property
    def identity(self) -> str:
        """Stable id of scorer + model, used as the cache key prefix."""
        ...

    def score(self, template: str, subjects: Sequence[str], objects: Sequence[str]) -> list[list[float]]:
        """log P(object fills [Y] | template with [X]=subject): one row per subject, one column per object."""
        ...


SCORERS = Registry("scorer", {
    "causal": "promptmine.models.score.causal:CausalScorer",
    "masked": "promptmine.models.score.masked:MaskedScorer",
    "openai": "promptmine.models.hosted:OpenAIScorer",
})
