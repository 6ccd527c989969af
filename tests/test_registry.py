"""Each backend option is declared once, in its backend's `Options`: the constructors, the command
line's flags and the rest of `promptmine.models` take its default from there, and the cache key
(`identity`) is derived from the same fields."""

import argparse
import ast
import inspect
import re
from pathlib import Path

import pytest

import promptmine.models
from promptmine.cli import build_parser
from promptmine.cli.backends import BackendFlags
from promptmine.models.registry import Backend, field_extra
from promptmine.models.score import SCORERS
from promptmine.models.translate import PARAPHRASERS, TRANSLATORS
from promptmine.testing.defaults import literal, written_defaults

REGISTRIES = (SCORERS, TRANSLATORS, PARAPHRASERS)


def backends() -> list[tuple[str, type]]:
    return [(f"{reg.kind} {name}", reg.resolve(name)) for reg in REGISTRIES for name in reg.names()]


def quotes_default(description: str, default) -> bool:
    """Whether a description writes the default itself (`(marian default 16)`): `--help` adds it."""
    text = f"{default:g}" if isinstance(default, float) else str(default)
    return re.search(rf"\bdefault\b\W*{re.escape(text)}", description or "") is not None


@pytest.mark.parametrize("label,cls", backends())
def test_every_backend_shares_the_base_and_describes_its_options(label, cls):
    assert issubclass(cls, Backend), label
    for key, info in cls.Options.model_fields.items():
        assert info.description, f"{label}: {key} has no description"
        assert info.default is None or not quotes_default(info.description, info.default), \
            f"{label}: {key}'s description writes its default ({info.default!r}) a second time"


@pytest.mark.parametrize("label,cls", backends())
def test_constructors_copy_no_default(label, cls):
    """Every option reaches the constructor through `options=` or `**fields`; a parameter named like an
    option (a scorer's positional `model`) is positional-only with None, meaning "not given"."""
    fields = cls.Options.model_fields
    for owner in cls.__mro__:
        if "__init__" not in vars(owner) or owner is object:
            continue
        params = inspect.signature(vars(owner)["__init__"]).parameters
        assert "options" in params and any(p.kind is p.VAR_KEYWORD for p in params.values()), \
            f"{label}: {owner.__name__}.__init__ does not take options= and the fields as keywords"
        for name, p in params.items():
            if name in fields:
                assert p.kind is p.POSITIONAL_ONLY and p.default is None, \
                    f"{label}: {owner.__name__}.__init__({name}={p.default!r}) repeats an option's default"


@pytest.mark.parametrize("label,cls", backends())
def test_identity_leaves_out_what_never_changes_an_output(label, cls):
    """Device index, batch size and threads are marked as not part of the identity (README: a row
    is the same whatever shares its pass and however many threads run it)."""
    for key, info in cls.Options.model_fields.items():
        mark = field_extra(info).get("identity", True)
        if key in ("batch_size", "threads"):
            assert mark is False, f"{label}: {key} must be marked identity=False"
        if key == "device":
            assert mark == "kind", f"{label}: the device's index must be left out (identity='kind')"


def _flag_actions(parser: argparse.ArgumentParser, made: set[tuple[str, str]]):
    """Every action of every (sub)command that is a backend flag (its name and help made from Options)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _flag_actions(sub, made)
        elif action.option_strings and (action.option_strings[0], action.help) in made:
            yield parser.prog, action


def test_cli_flags_default_to_not_given_and_show_the_options_default():
    """The flags made from the Options carry no default of their own (None: the backend's applies), and
    their help says the Options default, so it is written nowhere else."""
    sets = [BackendFlags([reg]) for reg in REGISTRIES] + [BackendFlags([TRANSLATORS], prefix="translator-")]
    made = {(f.flag, flags._help(f)) for flags in sets for f in flags.flags.values()}
    seen = list(_flag_actions(build_parser(), made))
    assert {a.dest for _, a in seen} >= {"device", "dtype", "batch_size", "threads", "translator_device"}
    assert {prog.split()[-1] for prog, _ in seen} == {"paraphrase", "evaluate", "select", "run", "predict"}
    for prog, action in seen:
        assert action.default is None, f"{prog} {action.option_strings[0]} defaults to {action.default!r}"
    for flags in sets:
        for f in flags.flags.values():
            help_text = flags._help(f)
            for backend, (description, default) in f.takers.items():
                if f.kind is not None and default is not None and not f.alias_of:
                    assert f"{default}" in help_text, f"{f.flag}: --help does not say {backend}'s default"


def test_no_other_place_in_the_models_writes_an_option_default():
    """No function parameter or dataclass field in promptmine.models (`pick_device(preference="auto")`,
    a config dataclass beside the Options) is named like an option with that option's default."""
    defaults: dict[str, list] = {}
    for _, cls in backends():
        for key, info in cls.Options.model_fields.items():
            if info.default is not None:
                defaults.setdefault(key, []).append(info.default)
    paths = sorted(Path(promptmine.models.__file__).parent.rglob("*.py"))
    found = [f"{path.name}:{line} {name}={ast.unparse(value)}"
             for path, line, name, value in written_defaults(
                 paths, classes=lambda node: any("dataclass" in ast.unparse(d) for d in node.decorator_list))
             if literal(value) in defaults.get(name, [])]
    assert not found, "defaults written outside the Options: " + ", ".join(found)


def test_registry_hands_the_validated_options_to_the_backend(monkeypatch):
    """`create` passes the Options whole (defaults filled in); keyword callers get the same defaults."""
    from promptmine.models.hosted import OpenAITranslator

    url = "http://127.0.0.1:9/v1"
    made = TRANSLATORS.create("openai", {"base_url": url, "concurrency": 2, "cache": False})
    assert isinstance(made, OpenAITranslator) and made.options.concurrency == 2
    direct = OpenAITranslator(base_url=url, cache=False)
    assert direct.options == OpenAITranslator.Options(base_url=url, cache=False)
    assert made.options.model == direct.options.model == OpenAITranslator.Options().model
    # the identity names what answers, not how hard to try
    assert made.identity == direct.identity == \
        "openai:base_url=http://127.0.0.1:9/v1:model=gpt-4o-mini:structured_output=json_schema:temperature=0.8"
    assert OpenAITranslator(base_url=url, cache=False, model="other").identity != direct.identity
    with pytest.raises(TypeError, match="takes no option concurency"):
        OpenAITranslator(base_url=url, concurency=2)
