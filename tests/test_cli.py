"""The command line's generated backend flags: made from each backend's Options, shared where names
agree, routed to the right backend, and a new backend gets its flags with no CLI change."""

import argparse
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from promptmine.cli import build_parser, main
from promptmine.cli.backends import BackendFlags, parse_option_items
from promptmine.core.errors import PromptmineError
from promptmine.models.registry import Backend, Registry


class Small(Backend):
    name = "small"

    class Options(BaseModel):
        model: str = Field("s-1", description="which small model")
        device: str = Field("auto", description="where to run")
        fast: bool = Field(False, description="go fast")


class Remote(Backend):
    name = "remote"

    class Options(BaseModel):
        model: str = Field("r-1", description="the served model", json_schema_extra={"alias": "--remote-model"})
        mode: Literal["a", "b"] = Field("a", description="how to ask")
        suffix: bool = Field(True, description="score the suffix", json_schema_extra={"flag": "--no-suffix"})
        cache: bool = Field(True, description="cache answers", json_schema_extra={"cli": False})


def registry() -> Registry:
    reg = Registry("backend", {})
    for name, cls in (("small", Small), ("remote", Remote)):
        reg.register(name, f"{__name__}:{cls.__name__}")
    return reg


def parse(flags: BackendFlags, argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    flags.add_to(p, "backend options")
    return p.parse_args(argv)


def test_flags_are_made_from_options_and_shared_by_name():
    reg = registry()
    flags = BackendFlags([reg])
    assert set(flags.flags) == {"--model", "--device", "--fast", "--remote-model", "--mode", "--no-suffix"}
    assert flags.flags["--model"].takers.keys() == {"small", "remote"}  # one flag for both
    assert "[small]" in flags._help(flags.flags["--device"]) and "where to run" in flags._help(flags.flags["--device"])
    help_model = flags._help(flags.flags["--model"])
    assert "small: which small model" in help_model and "remote: the served model" in help_model

    args = parse(flags, ["--model", "m", "--remote-model", "served", "--mode", "b", "--no-suffix", "--fast"])
    assert flags.options(args, "small", reg) == {"model": "m", "fast": True}
    assert flags.options(args, "remote", reg) == {"model": "served", "mode": "b", "suffix": False}
    assert flags.options(parse(flags, []), "small", reg) == {}  # nothing given: the backend's defaults
    with pytest.raises(SystemExit):
        parse(flags, ["--mode", "c"])  # a Literal's values are the choices


def test_a_flag_no_chosen_backend_takes_is_an_error():
    reg = registry()
    flags = BackendFlags([reg])
    flags.check_taken(parse(flags, ["--model", "x"]), {"small": "backend"})
    with pytest.raises(PromptmineError, match="does not take --device"):
        flags.check_taken(parse(flags, ["--device", "cpu"]), {"remote": "backend"})


def test_registry_checks_options_against_the_model():
    reg = registry()
    small = reg.create("small", {"fast": "true", "device": "cpu"})
    assert small.options.fast is True and small.options.device == "cpu" and small.options.model == "s-1"
    with pytest.raises(PromptmineError, match="does not take threads"):
        reg.create("small", {"threads": 2})
    with pytest.raises(PromptmineError, match="mode"):
        reg.create("remote", {"mode": "z"})
    assert parse_option_items(["threads=2", "fast=true", "x-y=none"]) == {"threads": "2", "fast": True, "x_y": None}


def test_a_new_backend_gets_its_flags_without_a_cli_change(monkeypatch):
    from promptmine.models.translate import TRANSLATORS

    monkeypatch.setitem(TRANSLATORS._entries, "small", f"{__name__}:Small")
    help_text = build_parser()._subparsers._group_actions[0].choices["paraphrase"].format_help()
    assert "--fast" in help_text and "go fast [small]" in " ".join(help_text.split())


def test_every_command_takes_quiet_and_verbose():
    parser = build_parser()
    for argv in (["mine", "-q"], ["paraphrase", "x", "--verbose"], ["evaluate", "--templates", "t", "--pairs", "p",
                 "-q"], ["select", "--templates", "t", "--train", "p", "--out", "o", "-v"], ["run", "-q"],
                 ["models", "list", "-q"], ["models", "-q", "list"]):
        args = parser.parse_args(argv)
        assert args.verbosity == (-1 if ("-q" in argv) else 1)


def test_quiet_mine_writes_no_notes(tmp_path, capsys):
    from promptmine.corpora import CORPORA_DIR

    out = tmp_path / "m.jsonl"
    argv = ["mine", "--corpus", str(CORPORA_DIR / "sample_corpus.txt"), "--methods", "middle", "--out", str(out)]
    assert main(argv) == 0
    assert "mined" in capsys.readouterr().err
    assert main(argv + ["--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_run_routes_flags_to_the_scorer_and_the_translators():
    from promptmine.cli.run import translator_options

    parser = build_parser()
    args = parser.parse_args(["run", "--pivots", "marian:de,openai:fr,bergamot:pt", "--model", "tiny-lm",
                              "--device", "cpu", "--model-dir", "/opus", "--translator-device", "cuda",
                              "--base-url", "http://127.0.0.1:9/v1", "--hosted-model", "served",
                              "--translator-threads", "3"])
    opts = translator_options(args, [("marian", ["de"]), ("openai", ["fr"]), ("bergamot", ["pt"])])
    # --model and --device are the causal scorer's; the translators take theirs from --translator-*
    assert opts["marian"] == {"model_dir": "/opus", "device": "cuda"}
    assert opts["openai"] == {"base_url": "http://127.0.0.1:9/v1", "model": "served"}
    assert opts["bergamot"] == {"threads": 3}
    # with the same backend as scorer and translator, the translator shares the scorer's flags
    args = parser.parse_args(["run", "--scorer", "openai", "--pivots", "openai:de", "--model", "m",
                              "--base-url", "http://x/v1"])
    assert translator_options(args, [("openai", ["de"])])["openai"] == {"model": "m", "base_url": "http://x/v1"}
    args = parser.parse_args(["run", "--pivots", "bergamot:pt", "--model-dir", "/opus"])
    with pytest.raises(PromptmineError, match="takes --model-dir"):
        translator_options(args, [("bergamot", ["pt"])])


def test_run_passes_options_to_a_local_translator(tmp_path, random_marian):
    """`promptmine run --pivots marian:de --model-dir DIR --translator-device cpu` reaches MarianTranslator."""
    from promptmine.cli.run import translator_options
    from promptmine.models.translate import TRANSLATORS

    corpus = ["[X] was born in [Y] .", "Alice was born in Bob .", "Er wurde in Bob geboren ."]
    for name, seed in (("opus-mt-en-de", 0), ("opus-mt-de-en", 1)):
        random_marian(tmp_path / name, corpus, d_model=16, layers=1, heads=2, ffn_dim=32, spm_vocab_size=40,
                      seed=seed)
    args = build_parser().parse_args(["run", "--pivots", "marian:de", "--model-dir", str(tmp_path),
                                      "--translator-device", "cpu", "--translator-batch-size", "4"])
    options = translator_options(args, [("marian", ["de"])])
    assert options == {"marian": {"model_dir": str(tmp_path), "device": "cpu", "batch_size": 4}}
    marian = TRANSLATORS.create("marian", options["marian"])
    assert marian.batch_size == 4 and marian.supports("en", "de") and marian.supports("de", "en")
    assert marian.locate("en", "de") == tmp_path / "opus-mt-en-de"  # found through --model-dir
    assert not TRANSLATORS.create("marian", {"device": "cpu"}).supports("en", "xx")
