"""The base of a feature's settings: one frozen pydantic model per group of settings that travel
together (`promptmine.mining.MiningSettings`, `promptmine.sharding.ShardSettings`, ...).

Each field's default and its one-line doc are written in the model and nowhere else: the library
functions take the object (`mine(corpus, pairs, MiningSettings(top=10))`), the command line makes
its flags' defaults from the fields (`promptmine.cli.settings`), and a function that still takes a
setting as a keyword (`mine(corpus, pairs, top=10)`) hands it to the model unchanged (`take`).

Backends have `Options` (`promptmine.models.registry.Backend`); features have `Settings`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

S = TypeVar("S", bound="Settings")


class Settings(BaseModel):
    """Frozen, unknown names rejected; fields may hold settings objects of their own (a `Race`)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    @classmethod
    def default(cls, name: str) -> Any:
        """A field's default, as the model declares it."""
        return cls.model_fields[name].get_default(call_default_factory=True)

    @classmethod
    def build(cls: type[S], given: S | None = None, fields: dict[str, Any] | None = None) -> S:
        """`given` (default: the defaults) with `fields` over it, validated."""
        if given is not None and not isinstance(given, cls):
            raise TypeError(f"expected {cls.__name__}, got {type(given).__name__}")
        if not fields:
            return given if given is not None else cls()
        return cls.model_validate({**(dict(given) if given is not None else {}), **fields})


class Seeded(Settings):
    """Settings with a seed (`promptmine run`'s `--seed` serves relation and task runs alike)."""

    seed: int = Field(0, description="seed of every random choice: the splits, the order of the facts or "
                                     "examples, the dev split")


def take(fields: dict[str, Any], *given: tuple[type[Settings], Settings | None], who: str = "") -> list:
    """One settings object per (class, object or None) pair, each keyword of `fields` going to the class
    that declares it (the first that does): how a function keeps its settings as keywords without
    writing their defaults again. An unknown keyword is a TypeError naming what it takes."""
    known = {name: cls for cls, _ in reversed(given) for name in cls.model_fields}
    unknown = sorted(set(fields) - set(known))
    if unknown:
        takes = ", ".join(name for cls, _ in given for name in cls.model_fields)
        raise TypeError(f"{who or 'this function'} takes no setting {', '.join(unknown)} (its settings: {takes})")
    return [cls.build(obj, {k: v for k, v in fields.items() if known[k] is cls}) for cls, obj in given]
