"""Adapters of one kind (translators, scorers) resolved by name, imported only when used."""

from __future__ import annotations

import importlib
from typing import Any

from promptmine.core.errors import PromptmineError


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

    def create(self, name: str, **options: Any):
        return self.resolve(name)(**options)
