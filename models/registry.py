"""Adapters of one kind (translators, scorers) resolved by name, imported only when used.

Every backend class declares its settings as a nested pydantic model `Options` (fields with defaults
and a `description=`); `Registry.options(name)` hands it out so the CLI can make flags from it and
`Registry.create(name, options)` validates what it is given against it before building the backend.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from promptmine.core.errors import PromptmineError


class NoOptions(BaseModel):
    """The options of a backend that declares none."""


@dataclass(frozen=True)
class Availability:
    """Whether a backend can work on this machine, as its class's `availability()` says: `detail`
    what it found, `fix` how to add what is missing; `pivots` (translators) maps each language it
    can pivot through from English to None when usable here, else to how to add it."""

    ok: bool
    detail: str = ""
    fix: str = ""
    pivots: dict[str, str | None] = field(default_factory=dict)


def importable(module: str) -> bool:
    """Whether a module can be imported, found without importing it."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


class Registry:
    """Maps a backend name to `module:Class`, so `--backend marian` imports marian alone."""

    def __init__(self, kind: str, entries: dict[str, str]):
        self.kind = kind
        self._entries = dict(entries)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def register(self, name: str, target: str) -> None:
        self._entries[name] = target

    def resolve(self, name: str) -> type:
        try:
            target = self._entries[name]
        except KeyError:
            raise PromptmineError(f"unknown {self.kind} {name!r}; choose from: {', '.join(self.names())}") from None
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def options(self, name: str) -> type[BaseModel]:
        """The backend's `Options` model (an empty one when it declares none)."""
        return getattr(self.resolve(name), "Options", None) or NoOptions

    def create(self, name: str, options: BaseModel | dict[str, Any] | None = None, /, **extra: Any):
        """Build a backend from its options (a dict or its `Options`), checked against `Options` first:
        an unknown or ill-typed option is a PromptmineError naming the field, not a TypeError deep inside.
        `extra` keyword arguments are passed through unchecked (objects such as a preloaded `hf_model`)."""
        cls = self.resolve(name)
        model = self.options(name)
        given = options.model_dump(exclude_unset=True) if isinstance(options, BaseModel) else dict(options or {})
        unknown = sorted(set(given) - set(model.model_fields))
        if unknown:
            raise PromptmineError(f"the {name} {self.kind} does not take {', '.join(unknown)} "
                                  f"(it takes: {', '.join(model.model_fields) or 'no options'})")
        try:
            checked = model.model_validate(given)
        except ValidationError as e:
            first = e.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise PromptmineError(f"{name} {self.kind} option {field}: {first['msg']}") from None
        return cls(**{k: getattr(checked, k) for k in given}, **extra)
