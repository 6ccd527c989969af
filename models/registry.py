"""The base of every backend (scorer, translator, paraphraser, template extractor) and the registries that
find them by name.

Every backend declares its settings once, as a nested pydantic model `Options` (fields with defaults
and a `description=`): the only place their defaults are written. `Registry.options(name)` hands it
out so the CLI can make flags from it; `Registry.create(name, options)` validates what it is given
against it and hands the validated `Options` to the backend, which reads `self.options`. The cache
key `identity` is derived from the same fields.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any, ClassVar

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


def field_extra(info) -> dict:
    """A field's `json_schema_extra` as a dict (empty when it has none)."""
    extra = info.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def identity_text(value: Any) -> str:
    """One value as the identity writes it: booleans 1/0, None `none`, mappings `k=v,...` sorted, paths
    and the rest as text."""
    if isinstance(value, bool):
        return str(int(value))
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, dict):
        return ",".join(f"{identity_text(k)}={identity_text(v)}" for k, v in sorted(value.items()))
    if isinstance(value, (list, tuple)):
        return ",".join(identity_text(v) for v in value)
    return str(value)


class Backend:
    """What every backend shares: its registry `name`, its `Options` model, the validated `options`
    it was built with, `availability()`, `identity` and `description`.

    The registry builds a backend with `options=` (an `Options`); library and test callers may pass
    the fields as keyword arguments instead (`CausalScorer(device="cpu")`). Either way the defaults
    come from `Options` alone: a subclass reads `self.options`, never a default of its own.

    `identity` (the cache key) is `name:field=value:...` over the `Options` fields, with the values
    the backend resolved (`identity_values`: the dtype `auto` became, the device kind). A field marked
    `json_schema_extra={"identity": False}` never changes an output (batch size, threads, how to reach
    a server) and is left out; `{"identity": "kind"}` keeps a device's kind and drops its index.
    """

    name: ClassVar[str] = "backend"
    Options: ClassVar[type[BaseModel]] = NoOptions
    identity_ignores: ClassVar[tuple[str, ...]] = ()  # inherited fields this backend does not use

    def __init__(self, *, options: BaseModel | None = None, **fields: Any):
        self.options = self.make_options(options, fields)

    @classmethod
    def make_options(cls, options: BaseModel | None, fields: dict[str, Any]) -> BaseModel:
        """`options` as given, else `Options` validated from keyword fields (over `options` when both)."""
        unknown = sorted(set(fields) - set(cls.Options.model_fields))
        if unknown:
            raise TypeError(f"{cls.__name__} takes no option {', '.join(unknown)} "
                            f"(it takes: {', '.join(cls.Options.model_fields) or 'none'})")
        if options is not None and not fields:
            return options
        given = options.model_dump(exclude_unset=True) if options is not None else {}
        return cls.Options.model_validate({**given, **fields})

    def identity_values(self) -> dict[str, Any]:
        """Values the identity writes instead of the options as given (what `auto` resolved to), and
        facts outside the options that change outputs (an engine's version). Default: none."""
        return {}

    @property
    def identity(self) -> str:
        """Stable id of backend + every setting that changes its outputs; the caches key on it, so two
        backends, models or precisions never share cached results."""
        resolved = dict(self.identity_values())
        parts = [self.name]
        for key, info in type(self.options).model_fields.items():
            mark = field_extra(info).get("identity", True)
            if mark is False or key in self.identity_ignores:
                continue
            value = resolved.pop(key, getattr(self.options, key))
            if mark == "kind" and isinstance(value, str):
                value = value.split(":")[0]
            parts.append(f"{key}={identity_text(value)}")
        parts += [f"{key}={identity_text(value)}" for key, value in resolved.items()]
        return ":".join(parts)

    @property
    def description(self) -> str:
        """The backend named plainly for reports (e.g. `SmolLM2-135M-Instruct (causal LM, bfloat16)`);
        `identity` stays the exact cache key."""
        return self.identity

    @classmethod
    def availability(cls) -> Availability:
        """Whether this backend can work here (default: its module imported, so yes); backends that
        need a package, a program or model files override it. Cheap: loads no model."""
        return Availability(True, "installed")


class Registry:
    """Maps a name to `module:Class` (imported on first use, so `--backend marian` imports marian alone)
    or to a class registered at run time. The backends' registries list their names sorted; an
    `ordered` one (the template extractors) in registration order, which is then meaningful (mining's
    tie order)."""

    def __init__(self, kind: str, entries: dict[str, str | type], *, ordered: bool = False):
        self.kind = kind
        self.ordered = ordered
        self._entries = dict(entries)

    def names(self) -> list[str]:
        return list(self._entries) if self.ordered else sorted(self._entries)

    def register(self, name: str, target: str | type) -> None:
        """Add `name`: a `module:Class` string or the class itself (last in an ordered registry)."""
        self._entries[name] = target

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def resolve(self, name: str) -> type:
        try:
            target = self._entries[name]
        except KeyError:
            raise PromptmineError(f"unknown {self.kind} {name!r}; choose from: {', '.join(self.names())}") from None
        if isinstance(target, type):
            return target
        module, _, attr = target.partition(":")
        return getattr(importlib.import_module(module), attr)

    def options(self, name: str) -> type[BaseModel]:
        """The backend's `Options` model (an empty one when it declares none)."""
        return getattr(self.resolve(name), "Options", None) or NoOptions

    def validate(self, name: str, options: BaseModel | dict[str, Any] | None = None) -> BaseModel:
        """The backend's `Options` from a dict (or another `Options`): an unknown or ill-typed option is
        a PromptmineError naming the field, not a TypeError deep inside."""
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
        return checked

    def create(self, name: str, options: BaseModel | dict[str, Any] | None = None, /, **extra: Any):
        """Build a backend from its options (a dict or its `Options`), validated first (`validate`) and
        handed to it whole. `extra` keyword arguments are passed through unchecked (objects such as a
        preloaded `hf_model`)."""
        checked = self.validate(name, options)
        return self.resolve(name)(options=checked, **extra)
