"""Scorers behind one interface, chosen by name (`--scorer`).

A new scorer subclasses `Scorer`, declares its settings in a nested pydantic `Options` model (read
back as `self.options`; see `promptmine.models.registry.Backend`), implements `score` and adds one
registry line.
"""

from __future__ import annotations

from collections.abc import Sequence

from promptmine.models.registry import Backend, Registry


class Scorer(Backend):
    """Base class of scorers: override `score`. Its `identity` starts the score cache key, so a
    different model or dtype never reuses another's scores."""

    name = "scorer"

    def score(self, template: str, subjects: Sequence[str], objects: Sequence[str]) -> list[list[float]]:
        """log P(object fills [Y] | template with [X]=subject): one row per subject, one column per object."""
        raise NotImplementedError


DEFAULT_SCORER = "causal"  # the scorer of `evaluate`, `select`, `run` and the task search unless told otherwise

SCORERS = Registry("scorer", {
    "causal": "promptmine.models.score.causal:CausalScorer",
    "masked": "promptmine.models.score.masked:MaskedScorer",
    "openai": "promptmine.models.hosted:OpenAIScorer",
})
