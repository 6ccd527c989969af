"""Scorers behind one interface, chosen by name (`--scorer`).

A new scorer subclasses `Scorer`, declares its settings in a nested pydantic `Options` model whose
fields its constructor takes as keyword arguments, implements `score` and adds one registry line.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from promptmine.models.registry import Availability, Registry


class Scorer:
    """Base class of scorers: override `score`.

    - `name`: the registry name.
    - `identity`: stable id of scorer + model + settings that change scores; the score cache key
      starts with it, so a different model or dtype never reuses another's scores.
    """

    name: str = "scorer"

    class Options(BaseModel):
        """No settings."""

    @property
    def identity(self) -> str:
        return self.name

    @property
    def description(self) -> str:
        """The model named plainly for reports (e.g. `SmolLM2-135M-Instruct (causal LM, bfloat16)`);
        `identity` stays the exact cache key."""
        return self.identity

    @classmethod
    def availability(cls) -> Availability:
        """Whether this backend can work here (default: its module imported, so yes); backends that
        need a package, a program or model files override it. Cheap: loads no model."""
        return Availability(True, "installed")

    def score(self, template: str, subjects: Sequence[str], objects: Sequence[str]) -> list[list[float]]:
        """log P(object fills [Y] | template with [X]=subject): one row per subject, one column per object."""
        raise NotImplementedError


SCORERS = Registry("scorer", {
    "causal": "promptmine.models.score.causal:CausalScorer",
    "masked": "promptmine.models.score.masked:MaskedScorer",
    "openai": "promptmine.models.hosted:OpenAIScorer",
})
