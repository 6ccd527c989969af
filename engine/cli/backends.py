"""Flags made from the backends' `Options` models, so a new backend gets its flags with no CLI change.

Every field of every backend's `Options` becomes one flag (`batch_size` -> `--batch-size`); backends
sharing a field name share the flag, and its help says which backends take it. A boolean field is
a switch (`--fast`; `--no-NAME` when it defaults to True). A field may set
`json_schema_extra={"flag": "--no-suffix"}` (another flag name), `{"alias": "--hosted-model"}` (a
second flag only that backend reads, winning over the shared one) or `{"cli": False}` (no flag).
Every flag defaults to None, meaning "not given": the default written once in the backend's `Options`
applies (and `--help` shows it from there).
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field

from promptmine.core.errors import PromptmineError
from promptmine.models.registry import field_extra


@dataclass
class _Flag:
    flag: str
    field: str
    dest: str
    kind: type | None = None  # argparse type; None for a switch
    const: object = None  # what a switch stores
    choices: tuple | None = None
    bounds: tuple = ()  # the field's `ge`/`gt`/`le`/`lt` constraints, checked by argparse (exit 2)
    takers: dict[str, tuple[str, object]] = field(default_factory=dict)  # backend -> (description, default)
    alias_of: str | None = None  # alias flags: the field's shared flag


def _bounds(info) -> tuple:
    """(name, limit) for each numeric constraint of a pydantic field (`Field(ge=1)` -> ("ge", 1))."""
    out = []
    for m in info.metadata:
        for name in ("ge", "gt", "le", "lt"):
            if getattr(m, name, None) is not None:
                out.append((name, getattr(m, name)))
    return tuple(out)


def bounded(kind: type, bounds: tuple):
    """An argparse type for `kind` that enforces a field's constraints, so `--threads 0` is a usage
    error (exit 2, `must be at least 1, got 0`) like `--top 0`, not a validation traceback later."""
    words = {"ge": "at least {}", "gt": "more than {}", "le": "at most {}", "lt": "less than {}"}
    ok = {"ge": lambda v, b: v >= b, "gt": lambda v, b: v > b, "le": lambda v, b: v <= b, "lt": lambda v, b: v < b}

    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        for name, limit in bounds:
            if not ok[name](value, limit):
                raise argparse.ArgumentTypeError(f"must be {words[name].format(limit)}, got {value:g}")
        return value

    convert.__name__ = kind.__name__
    return convert


def _argparse_type(annotation) -> tuple[type | None, tuple | None]:
    """(type, choices) for a field annotation: int, float, str, bool (None) or a Literal's choices."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return type(args[0]), tuple(args)
    if origin in (typing.Union, types.UnionType):
        kinds = [_argparse_type(a) for a in args]
        return kinds[0] if len(kinds) == 1 else (str, None)  # `str | dict` and the like: the text form
    if annotation is bool:
        return None, None
    if annotation in (int, float, str):
        return annotation, None
    return str, None


class BackendFlags:
    """The flags of the backends of some registries (e.g. translators and paraphrasers)."""

    def __init__(self, registries: Sequence, *, prefix: str = "", skip: Sequence[str] = ()):
        self.registries = list(registries)
        self.prefix = prefix  # "translator-" gives --translator-device, dest translator_device
        self.flags: dict[str, _Flag] = {}
        for registry in self.registries:
            for name in registry.names():
                try:
                    options = registry.options(name)
                except ImportError:  # an optional backend whose module cannot load here has no flags
                    continue
                for key, info in options.model_fields.items():
                    extra = field_extra(info)
                    if extra.get("cli") is False or key in skip:
                        continue
                    self._add(name, key, info, extra)

    def _add(self, backend: str, key: str, info, extra: dict) -> None:
        kind, choices = _argparse_type(info.annotation)
        switch_off = kind is None and info.default is True  # a switch that is on unless --no-NAME
        base = extra.get("flag") or ("--no-" if switch_off else "--") + key.replace("_", "-")
        flag = "--" + self.prefix + base[2:]
        f = self.flags.get(flag)
        if f is None:
            const = None if kind is not None else (not info.default)
            f = self.flags[flag] = _Flag(flag, key, flag[2:].replace("-", "_"), kind, const, choices,
                                         _bounds(info) if kind in (int, float) else ())
        elif f.field != key:
            raise PromptmineError(f"{flag} names two different options ({f.field}, {key}); rename one")
        f.takers[backend] = (info.description or "", info.default)
        if extra.get("alias"):
            alias = "--" + self.prefix + extra["alias"][2:]
            a = self.flags.setdefault(alias, _Flag(alias, key, alias[2:].replace("-", "_"), kind, f.const, choices,
                                                   alias_of=flag))
            a.takers[backend] = f.takers[backend]

    # -- the parser ------------------------------------------------------------------------------

    def add_to(self, parser: argparse.ArgumentParser, title: str, description: str | None = None,
               skip: Sequence[str] = ()) -> None:
        """Add one flag per option to a new argument group of `parser` (flags in `skip` left out)."""
        group = parser.add_argument_group(title, description)
        for f in self.flags.values():
            if f.flag in skip:
                continue
            kwargs: dict = {"dest": f.dest, "default": None, "help": self._help(f)}
            if f.kind is None:
                kwargs.update(action="store_const", const=f.const)
            else:
                kwargs.update(type=bounded(f.kind, f.bounds) if f.bounds else f.kind, metavar=f.field.upper())
                if f.choices:
                    kwargs.update(choices=f.choices, metavar=None)
            group.add_argument(f.flag, **kwargs)

    def _help(self, f: _Flag) -> str:
        if f.alias_of:
            return f"{f.field} for {', '.join(f.takers)} only (wins over {f.alias_of}, which may name a local model)"
        texts: dict[str, list[str]] = {}
        for backend, (text, default) in f.takers.items():
            if f.kind is not None and default is not None and "default" not in text.lower():
                text = f"{text} (default: {default})"
            texts.setdefault(text, []).append(backend)
        if len(texts) == 1:
            text, backends = next(iter(texts.items()))
            return f"{text} [{', '.join(backends)}]"
        return "; ".join(f"{', '.join(backends)}: {text}" for text, backends in texts.items())

    # -- reading the flags back ------------------------------------------------------------------

    def given(self, args: argparse.Namespace) -> dict[str, object]:
        """The flags the user set: flag -> value."""
        return {flag: getattr(args, f.dest) for flag, f in self.flags.items()
                if getattr(args, f.dest, None) is not None}

    def options(self, args: argparse.Namespace, backend: str, registry, *, only: Sequence[str] | None = None) -> dict:
        """Keyword options for `backend` from the flags the user set (its alias flags winning);
        `only` limits them to these flags."""
        fields = registry.options(backend).model_fields
        out: dict = {}
        for flag, value in self.given(args).items():
            f = self.flags[flag]
            if backend not in f.takers or f.field not in fields or (only is not None and flag not in only):
                continue
            if f.alias_of is None and f.field in out:
                continue  # the alias already set it
            out[f.field] = value
        return out

    def check_taken(self, args: argparse.Namespace, used: dict[str, str]) -> None:
        """Fail on a flag the user set that none of the chosen backends takes; `used` maps the
        chosen backend names to what they are (`{"bergamot": "backend"}`)."""
        for flag, _ in self.given(args).items():
            f = self.flags[flag]
            if not any(name in f.takers for name in used):
                what = " or ".join(f"the {name} {kind}" for name, kind in used.items())
                raise PromptmineError(f"{what} does not take {flag} (it is for {', '.join(f.takers)})")


def parse_option_items(items: Sequence[str] | None) -> dict:
    """`--option KEY=VALUE` items as keyword options (the backend's Options model converts the text)."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise PromptmineError(f"--option expects KEY=VALUE, got {item!r}")
        value = value.strip()
        out[key.strip().replace("-", "_")] = {"none": None, "true": True, "false": False}.get(value.lower(), value)
    return out
