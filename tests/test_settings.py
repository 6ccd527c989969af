"""Each feature setting is declared once, in its settings object (`promptmine.core.settings.Settings`:
`MiningSettings`, `ShardSettings`, `ParaphraseSettings`, `SpanSettings`, `FactSettings`, `TaskSettings`,
`RunSettings`, ...), and keeps one name from its flag to its use: the flags made from a field carry
its name and its default, no flag of the command line types a default of its own, and no function of
the library writes a setting's default again (as tests/test_registry.py checks for backend Options)."""

from __future__ import annotations

import argparse
import ast
import re
from pathlib import Path

import pytest

import promptmine
from promptmine.cli import build_parser
from promptmine.core.settings import Seeded, Settings, take
from promptmine.corpora import SAMPLE_CORPUS, SAMPLE_PAIRS, SAMPLE_RELATIONS
from promptmine.mining import MatchSettings, MiningSettings
from promptmine.models.score import DEFAULT_SCORER
from promptmine.paraphrasing import ParaphraseSettings, SpanSettings
from promptmine.pipeline import RunSettings, SplitSettings
from promptmine.scoring import FactSettings
from promptmine.selection import Exhaustive, OptimizedEnsemble, Race, RankEnsemble, Top1
from promptmine.sharding import ShardSettings
from promptmine.tasks import TaskSettings
from promptmine.tasks.saved import TOP_K
from promptmine.testing.defaults import literal, written_defaults

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = (MatchSettings, MiningSettings, ShardSettings, ParaphraseSettings, SpanSettings, FactSettings, Seeded,
            SplitSettings, RunSettings, TaskSettings)
# the selection objects are settings too (frozen dataclasses: `Race(budget=500)`), declared in promptmine.selection
SELECTION = (Race, Exhaustive, RankEnsemble, OptimizedEnsemble)

# Which settings every command's flags are made from: (command, dest) -> settings class.
FLAGS = {
    "mine": {**{d: MiningSettings for d in ("top", "methods", "case_sensitive", "fold", "strict", "batch_size",
                                            "spacy_model", "text_field")},
             **{d: ShardSettings for d in ("workers", "resume", "engine", "address", "shard_lines", "work_dir")}},
    "paraphrase": {**{d: ParaphraseSettings for d in ("src", "beams", "top", "generations", "permutations",
                                                      "placeholders")},
                   **{d: SpanSettings for d in ("protect", "labels", "keep", "keep_regex", "examples_verbatim")}},
    "evaluate": {d: FactSettings for d in ("default_relation", "strict", "max_candidates", "limit")},
    "select": {**{d: FactSettings for d in ("default_relation", "strict", "max_candidates", "limit")}, "seed": Seeded},
    "run": {**{d: RunSettings for d in ("mined", "paraphrased", "test_fraction", "seed", "max_candidates", "strict")},
            **{d: TaskSettings for d in ("verbalisers", "label_names", "fixed_labels", "any_words", "held_out",
                                         "selection_size", "dimensions", "max_demos", "permutations", "keep",
                                         "keep_regex")}},
    "split": {d: SplitSettings for d in ("test_fraction", "seed")},
}

# Flags with a default that is not a settings field's: each names where its default is declared.
DECLARED = {
    ("mine", "corpus"): [str(SAMPLE_CORPUS)], ("mine", "pairs"): str(SAMPLE_PAIRS),
    ("run", "relations"): str(SAMPLE_RELATIONS), ("run", "pairs"): str(SAMPLE_PAIRS),
    ("evaluate", "scorer"): DEFAULT_SCORER, ("select", "scorer"): DEFAULT_SCORER, ("run", "scorer"): DEFAULT_SCORER,
    ("select", "selection"): Race.name, ("run", "selection"): Race.name,
    ("select", "method"): Top1.name, ("select", "k"): RankEnsemble.k, ("run", "k"): RankEnsemble.k,
    ("select", "dev_fraction"): OptimizedEnsemble.dev_fraction,
    ("paraphrase", "backend"): "auto",  # a word of the route grammar (every route installed here), not a value
    ("predict", "top_k"): TOP_K,
}


def _actions(parser: argparse.ArgumentParser, command: str = ""):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _actions(sub, f"{command} {name}".strip())
        elif action.option_strings and not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            yield command, action


def _quotes(help_text: str, default) -> bool:
    """Whether a help text writes a scalar default itself (`(default 7)`) instead of `%(default)s` (a
    list's text, `middle,dependency`, is made from the field by the command)."""
    if default in (None, False) or not isinstance(default, (int, float, str)):
        return False
    return re.search(rf"\bdefault\b\W*{re.escape(str(default))}\b", help_text or "") is not None


def test_every_settings_field_has_a_description_and_the_classes_are_frozen():
    for cls in SETTINGS:
        assert cls.model_config.get("frozen") and cls.model_config.get("extra") == "forbid", cls.__name__
        for name, info in cls.model_fields.items():
            assert info.description, f"{cls.__name__}.{name} has no description"
    with pytest.raises(Exception):
        MiningSettings().top = 3  # frozen
    with pytest.raises(Exception, match="tops"):
        MiningSettings(tops=3)  # a misspelt setting is an error, not ignored


def test_flags_made_from_settings_carry_the_field_name_and_default():
    """Each flag of FLAGS is made by `add_setting`: its dest is the field's name, its default the
    field's (validated alike: `--methods`' tuple, `--keep`'s list), and its help does not type it."""
    made = {}
    for command, action in _actions(build_parser()):
        setting = getattr(action, "setting", None)
        if setting is None:
            continue
        cls, name = setting
        assert action.dest == name, f"{command} {action.option_strings[0]} stores {action.dest}, not {name}"
        assert cls.model_validate({name: action.default}) == cls.model_validate({}), \
            f"{command} {action.option_strings[0]} defaults to {action.default!r}, {cls.__name__}.{name} to " \
            f"{cls.default(name)!r}"
        assert not _quotes(action.help, cls.default(name)), \
            f"{command} {action.option_strings[0]}: its help types the default ({action.help!r}); use %(default)s"
        made.setdefault(command, {})[name] = cls
    for command, expected in FLAGS.items():
        for name, cls in expected.items():
            assert name in made.get(command, {}), f"{command}: no flag made from {cls.__name__}.{name}"
            assert issubclass(made[command][name], cls) or issubclass(cls, made[command][name]), (command, name)


def test_no_flag_types_a_default_of_its_own():
    """A flag that is not a settings or backend flag defaults to nothing (None, off) or to a value
    declared elsewhere, once (DECLARED); and no `add_argument` in the command line writes a literal
    default other than None/False."""
    for command, action in _actions(build_parser()):
        if getattr(action, "setting", None) is not None or action.default in (None, False, argparse.SUPPRESS) \
                or action.dest == "verbosity":
            continue
        key = (command, action.dest)
        assert key in DECLARED, f"{command} {action.option_strings[0]} has a default of its own: {action.default!r}"
        assert action.default == DECLARED[key], key
    typed = []
    for path in sorted((ROOT / "engine" / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument":
                for kw in node.keywords:
                    value = literal(kw.value) if kw.arg == "default" else ...
                    if value is not ... and value is not None and value is not False:
                        typed.append(f"{path.name} default={ast.unparse(kw.value)}")
    assert set(typed) <= {"paraphrase.py default='auto'"}, "literal flag defaults: " + ", ".join(typed)


def _declared_defaults() -> dict[str, set]:
    """Field name -> the meaningful defaults the settings declare (None, off, 0 and empty mean "not given")."""
    out: dict[str, set] = {}
    fields = [(name, cls.default(name)) for cls in SETTINGS for name in cls.model_fields]
    fields += [(name, getattr(cls, name)) for cls in SELECTION for name in cls.__dataclass_fields__]
    for name, value in fields:
        trivial = value is None or value is False or value in ("", ()) or (type(value) in (int, float) and value == 0)
        if not trivial and isinstance(value, (bool, int, float, str, tuple)):
            out.setdefault(name, set()).add(value)
    return out


def test_no_function_of_the_library_writes_a_settings_default_again():
    """No parameter or dataclass field in promptmine (engine/, models/) is named like a setting with
    that setting's default (`mine(top=40)` beside `MiningSettings.top`, `parse(batch_size=256)`): it
    takes the settings object, the value, or refers to the declaration (`k: int = RankEnsemble.k`)."""
    defaults = _declared_defaults()
    own = {cls.__name__ for cls in SETTINGS + SELECTION}
    paths = sorted((ROOT / "engine").rglob("*.py")) + sorted((ROOT / "models").rglob("*.py"))
    found = []
    for path, line, name, value in written_defaults(paths, classes=lambda node: node.name not in own):
        v = literal(value)
        if v is not ... and not isinstance(v, (list, dict, set)) and v in defaults.get(name, ()):
            found.append(f"{path.relative_to(ROOT)}:{line} {name}={ast.unparse(value)}")
    assert not found, "settings defaults written again: " + ", ".join(found)


def test_keywords_reach_the_settings_object_they_belong_to():
    """`mine(corpus, pairs, top=3, workers=2)` is `mine(corpus, pairs, MiningSettings(top=3),
    ShardSettings(workers=2))`: a keyword goes to the object declaring it, over a given object; an
    unknown one is a TypeError naming the settings taken."""
    mining, shards = take({"top": 3, "workers": 2}, (MiningSettings, MiningSettings(batch_size=8)),
                          (ShardSettings, None), who="mine")
    assert mining == MiningSettings(top=3, batch_size=8) and shards == ShardSettings(workers=2)
    given = MiningSettings(top=5)
    assert take({}, (MiningSettings, given))[0] is given
    with pytest.raises(TypeError, match=r"mine takes no setting tpo \(its settings: .*top.*workers"):
        take({"tpo": 3}, (MiningSettings, None), (ShardSettings, None), who="mine")
    with pytest.raises(TypeError, match="expected MiningSettings"):
        MiningSettings.build(ShardSettings())


def test_the_public_functions_take_the_objects_and_their_fields():
    import inspect

    from promptmine.mining import mine
    from promptmine.paraphrasing import paraphrase
    from promptmine.pipeline import run, split
    from promptmine.scoring import evaluate
    from promptmine.selection import select
    from promptmine.tasks import optimize_task

    takes = {mine: ("settings", "shards"), paraphrase: ("settings", "spans"), evaluate: ("facts",),
             select: ("facts",), run: ("settings",), split: ("settings",), optimize_task: ("settings",)}
    for fn, objects in takes.items():
        params = inspect.signature(fn).parameters
        assert all(p in params for p in objects), fn.__name__
        assert any(p.kind is p.VAR_KEYWORD for p in params.values()), f"{fn.__name__} takes no setting as a keyword"
        assert len(params) <= 13, f"{fn.__name__} takes {len(params)} parameters"
    for name in ("MiningSettings", "ShardSettings", "ParaphraseSettings", "SpanSettings", "FactSettings",
                 "RunSettings", "TaskSettings"):
        assert getattr(promptmine, name).__name__ == name and issubclass(getattr(promptmine, name), Settings)
