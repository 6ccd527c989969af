"""Mistakes caught before the work, with one line and a non-zero exit; the same flags meaning the
same thing on every command (issue 12). Fast: the bundled sample or tiny inputs, no model loaded."""

import io
import json

import pytest

from promptmine.cli import build_parser, main
from promptmine.corpora import CORPORA_DIR

PAIRS = str(CORPORA_DIR / "sample_pairs.jsonl")
RELATIONS = str(CORPORA_DIR / "sample_relations.jsonl")
CORPUS = str(CORPORA_DIR / "sample_corpus.txt")


def fail(argv, capsys) -> str:
    """The one-line error of a command that must fail before any work."""
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    return err.splitlines()[-1]


def usage_error(argv, capsys) -> str:
    """argparse's error for a value out of range (exit 2)."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def never(*a, **k):
    raise AssertionError("the work started before the mistake was caught")


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if mining, paraphrasing or scoring starts."""
    import promptmine.mining
    import promptmine.paraphrasing
    import promptmine.scoring
    import promptmine.selection

    monkeypatch.setattr(promptmine.mining, "mine", never)
    monkeypatch.setattr(promptmine.paraphrasing, "paraphrase", never)
    monkeypatch.setattr(promptmine.scoring, "evaluate", never)
    monkeypatch.setattr(promptmine.selection, "select", never)


# -- output paths ------------------------------------------------------------------------------------


def test_output_paths_are_checked_before_any_work(tmp_path, capsys, no_work):
    afile = tmp_path / "afile"
    afile.write_text("x")
    base = {"mine": ["mine"], "paraphrase": ["paraphrase", "[X] is in [Y] ."],
            "evaluate": ["evaluate", "--templates", RELATIONS, "--pairs", PAIRS],
            "select": ["select", "--templates", RELATIONS, "--pairs", PAIRS]}
    for argv in base.values():
        err = fail(argv + ["--out", str(afile / "m.jsonl")], capsys)
        assert f"{afile} is a file, not a folder" in err
        err = fail(argv + ["-o", str(tmp_path)], capsys)
        assert "is a folder; give a file name" in err
    err = fail(["run", "--out", str(afile)], capsys)
    assert "is a file; give a folder" in err
    err = fail(["mine", "--work-dir", str(afile)], capsys)
    assert "--work-dir" in err and "is a file; give a folder" in err


# -- ranges --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, flag", [
    (["mine", "--top", "-5"], "--top"), (["mine", "--top", "0"], "--top"), (["mine", "--workers", "0"], "--workers"),
    (["mine", "--batch-size", "0"], "--batch-size"), (["mine", "--shard-lines", "0"], "--shard-lines"),
    (["select", "--templates", "t", "--pairs", "p", "--k", "0"], "--k"),
    (["select", "--templates", "t", "--pairs", "p", "--dev-fraction", "1.5"], "--dev-fraction"),
    (["select", "--templates", "t", "--pairs", "p", "--budget", "0"], "--budget"),
    (["evaluate", "--templates", "t", "--pairs", "p", "--limit", "0"], "--limit"),
    (["paraphrase", "x", "--top", "0"], "--top"), (["paraphrase", "x", "--beams", "-1"], "--beams"),
    (["run", "--k", "0"], "--k"), (["run", "--test-fraction", "1"], "--test-fraction"),
    (["run", "--budget", "-3"], "--budget"),
])
def test_out_of_range_values_are_usage_errors(argv, flag, capsys):
    err = usage_error(argv, capsys)
    assert flag in err and ("at least 1" in err or "between 0 and 1" in err)


# -- relations -----------------------------------------------------------------------------------------


def test_an_unknown_relation_lists_the_ones_in_the_pairs_file(capsys, no_work):
    for argv in (["mine"], ["evaluate", "--templates", RELATIONS], ["select", "--templates", RELATIONS]):
        err = fail(argv + ["--pairs", PAIRS, "--relation", "P19,P999"], capsys)
        assert "unknown relation P999; it has P19, P36, P37, P106, P463" in err


def test_relation_picks_the_facts_of_evaluate_and_select(monkeypatch, capsys):
    import promptmine.scoring

    seen = {}

    def fake_evaluate(templates, pairs, **kw):
        seen.update(pairs=pairs, strict=kw["facts"].strict)
        return []

    monkeypatch.setattr(promptmine.scoring, "evaluate", fake_evaluate)
    assert main(["evaluate", "--templates", RELATIONS, "--pairs", PAIRS, "--relation", "P36", "--strict"]) == 0
    assert {p.relation for p in seen["pairs"]} == {"P36"} and seen["strict"] is True


def test_default_relation_names_pairs_that_name_none(tmp_path, monkeypatch):
    import promptmine.selection

    pairs = tmp_path / "facts.tsv"
    pairs.write_text("France\tParis\nItaly\tRome\n")
    seen = {}
    monkeypatch.setattr(promptmine.selection, "select", lambda t, p, **kw: seen.setdefault("pairs", p) and [])
    assert main(["select", "--templates", RELATIONS, "--train", str(pairs), "--default-relation", "P36",
                 "--relation", "P36"]) == 0  # --train: the old name of --pairs
    assert [(p.subject, p.relation) for p in seen["pairs"]] == [("France", "P36"), ("Italy", "P36")]


# -- --strict ----------------------------------------------------------------------------------------


def test_malformed_pair_lines_are_skipped_or_fatal_with_strict(tmp_path, capsys, monkeypatch):
    import promptmine.scoring

    pairs = tmp_path / "p.jsonl"
    pairs.write_text('{"sub_label": "France", "obj_label": "Paris", "predicate_id": "P36"}\n{"sub_label": "x"}\n')
    monkeypatch.setattr(promptmine.scoring, "evaluate", lambda t, p, **kw: [])
    for command in ("evaluate", "select"):
        err = fail([command, "--templates", RELATIONS, "--pairs", str(pairs), "--strict"], capsys)
        assert "p.jsonl:2: missing field object" in err
    assert main(["evaluate", "--templates", RELATIONS, "--pairs", str(pairs)]) == 0
    err = capsys.readouterr().err
    assert "skipped 1 malformed pair line" in err and "--strict makes them an error" in err


def test_library_functions_take_strict(tmp_path):
    from promptmine.core.errors import InputError
    from promptmine.scoring import FactSettings, load_facts

    pairs = tmp_path / "p.jsonl"
    pairs.write_text('{"sub_label": "France", "obj_label": "Paris", "predicate_id": "P36"}\nnot json\n')
    assert load_facts(str(pairs), {None})["P36"].n == 1
    with pytest.raises(InputError, match="p.jsonl:2"):
        load_facts(str(pairs), {None}, FactSettings(strict=True))


# -- nothing produced ----------------------------------------------------------------------------------


def test_mine_on_a_corpus_without_matches_exits_non_zero(tmp_path, capsys):
    corpus = tmp_path / "junk.txt"
    corpus.write_text("lorem ipsum\n\n???\n")
    out = tmp_path / "m.jsonl"
    err = fail(["mine", "--corpus", str(corpus), "--methods", "middle", "--out", str(out)], capsys)
    assert "no templates mined (2 sentences read, 0 matched" in err
    assert not out.exists()


def test_a_template_with_a_typo_is_reported_not_paraphrased_as_free_text(capsys, no_work):
    for prompt, found in (("The capital of [X] is .", "1 [X] and 0 [Y]"), ("[x] was born in [Y] .", "0 [X] and 1 [Y]"),
                          ("[X was born in [Y] .", "0 [X] and 1 [Y]")):
        err = fail(["paraphrase", prompt], capsys)
        assert found in err and "a one-line prompt with a slot is a template" in err


def test_paraphrase_with_no_variant_exits_non_zero(tmp_path, capsys, monkeypatch):
    import promptmine.paraphrasing
    from promptmine.core.records import Candidate

    def nothing(templates, **kw):
        stats = promptmine.paraphrasing.RoundTripStats(inputs=1, dropped=3)
        return promptmine.paraphrasing.ParaphraseResult([[Candidate(relation=None, template=templates[0],
                                                                     method="paraphrase")]], [], stats)

    monkeypatch.setattr(promptmine.paraphrasing, "paraphrase", nothing)
    out = tmp_path / "p.jsonl"
    err = fail(["paraphrase", "[X] was born in [Y] .", "--backend", "bergamot", "-o", str(out)], capsys)
    assert "no paraphrases (0 paraphrases of 1 input; 3 dropped for a lost slot)" in err
    assert not out.exists()


# -- consistent flags ----------------------------------------------------------------------------------


def _help(command: str) -> str:
    return " ".join(build_parser()._subparsers._group_actions[0].choices[command].format_help().split())


def test_every_command_that_writes_takes_o_and_out():
    for command in ("mine", "paraphrase", "evaluate", "select"):
        assert "-o FILE" in _help(command) or "-o FILE.jsonl" in _help(command), command
    assert "--out DIR" in _help("run")
    assert "--train" not in _help("select") and "--pairs FILE" in _help("select")


def test_hosted_options_only_where_a_backend_takes_them():
    assert "--base-url" not in _help("mine")
    for command in ("paraphrase", "evaluate", "select", "run"):  # openai translator/paraphraser/scorer
        assert "--base-url" in _help(command)


def test_select_writes_the_records_to_stdout_without_out(monkeypatch, capsys):
    import promptmine.selection
    from promptmine.core.records import Selection, WeightedTemplate

    sel = Selection(relation="P36", method="top1", model="m", templates=[WeightedTemplate(template="[X] : [Y]")])
    monkeypatch.setattr(promptmine.selection, "select", lambda t, p, **kw: [sel])
    assert main(["select", "--templates", RELATIONS, "--pairs", PAIRS]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["relation"] == "P36" and row["templates"][0]["template"] == "[X] : [Y]"


def test_dash_reads_stdin(monkeypatch, capsys):
    pairs = "".join(line for line in open(PAIRS) if '"P36"' in line)
    monkeypatch.setattr("sys.stdin", io.StringIO(pairs))
    assert main(["mine", "--pairs", "-", "--methods", "middle", "--top", "1"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["relation"] for r in rows] == ["P36"]


def test_text_field_reads_jsonl_corpora_under_another_key(tmp_path, capsys):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"body": line.strip()}) + "\n" for line in open(CORPUS) if line.strip()))
    assert main(["mine", "--corpus", str(corpus), "--text-field", "body", "--methods", "middle", "--top", "1"]) == 0
    assert "[X] was born in [Y]." in capsys.readouterr().out
    err = fail(["mine", "--corpus", str(corpus), "--methods", "middle", "--strict"], capsys)
    assert "c.jsonl:1: missing string field `text`" in err


# -- models and backends up front ---------------------------------------------------------------------


def test_unknown_pivots_are_an_error_naming_the_backends_and_their_pivots(tmp_path, capsys, no_work):
    err = fail(["run", "--pivots", "deepl:fr,bergamot:xx", "--out", str(tmp_path / "r")], capsys)
    assert "unknown backend 'deepl'; bergamot has no pivot xx" in err
    assert "bergamot (pt" in err and "apertium (es" in err and "openai (any language)" in err
    assert not (tmp_path / "r").exists()


def test_run_with_a_missing_model_fails_before_mining(tmp_path, capsys, no_work):
    out = tmp_path / "r"
    err = fail(["run", "--model", "promptmine-test/absent-model", "--pivots", "none", "--out", str(out)], capsys)
    assert "'promptmine-test/absent-model' is not available locally" in err
    assert not out.exists()


def test_a_missing_local_model_path_is_said_to_not_exist(tmp_path):
    from promptmine.core.errors import ModelNotAvailable
    from promptmine.models.store import require_model_dir

    with pytest.raises(ModelNotAvailable, match=r"path './nope' does not exist") as e:
        require_model_dir("./nope", "causal scorer")
    assert "pull" not in str(e.value)
    (tmp_path / "weights.bin").write_text("x")
    with pytest.raises(ModelNotAvailable, match="is a file, not a model folder"):
        require_model_dir(str(tmp_path / "weights.bin"), "causal scorer")


def test_apertium_names_the_installed_pairs_and_the_right_package():
    from promptmine.core.errors import ModelNotAvailable
    from promptmine.models.translate.apertium import ApertiumTranslator, installed_pairs

    assert installed_pairs({"eng-spa", "spa-eng", "spa-eng_US", "eng-cat"}) == "en->ca, en<->es"
    apertium = object.__new__(ApertiumTranslator)  # no apertium program needed
    apertium._modes = {"eng-spa", "spa-eng"}
    with pytest.raises(ModelNotAvailable) as e:
        apertium.require("en", "de")
    msg = str(e.value)
    assert "no en->de mode; installed here: en<->es" in msg and "`apertium-eng-spa` gives en<->es" in msg
    assert "install apertium apertium-eng-spa" not in msg  # not advised as the fix for de


def test_paraphrase_checks_its_pivots_before_loading_anything(capsys, no_work):
    err = fail(["paraphrase", "[X] was born in [Y] .", "--backend", "bergamot", "--pivots", "pt,xx"], capsys)
    assert "bergamot has no pivot xx" in err and "bergamot (pt" in err


def test_paraphrase_default_backend_serves_without_marian_models(tmp_path, monkeypatch):
    """No Marian models in the store: the default backend is the shipped Bergamot, and it says so."""
    import argparse

    from promptmine.cli.paraphrase import default_backend

    monkeypatch.setenv("PROMPTMINE_MODELS", str(tmp_path / "store"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    args = argparse.Namespace(direct=False, model=None, model_dir=None)
    assert default_backend(args) == "bergamot"
    args.model_dir = str(tmp_path)
    assert default_backend(args) == "marian"


# -- issue 18's rough edges ---------------------------------------------------------------------------

def test_a_device_this_machine_lacks_is_one_line_up_front(capsys, no_work):
    import torch

    assert fail(["evaluate", "--templates", RELATIONS, "--pairs", PAIRS, "--device", "tpu"], capsys) == \
        "promptmine evaluate: error: --device tpu: unknown device; choose from auto, cpu, cuda, cuda:N, mps"
    if not torch.cuda.is_available():
        err = fail(["run", "--device", "cuda"], capsys)
        assert err.startswith("promptmine run: error: --device cuda: no CUDA device here")
        err = fail(["run", "--translator-device", "cuda:1"], capsys)
        assert "--translator-device cuda:1" in err


def test_a_backend_flag_out_of_range_is_a_usage_error_like_the_others(capsys, no_work):
    assert usage_error(["evaluate", "--templates", RELATIONS, "--pairs", PAIRS, "--threads", "0"], capsys) == \
        "promptmine evaluate: error: argument --threads: must be at least 1, got 0"
    assert usage_error(["run", "--mined", "-1"], capsys).endswith("must be 0 or more, got -1")


def test_task_flags_need_task_and_relation_flags_are_ignored_with_a_warning(capsys, no_work, monkeypatch, tmp_path):
    err = fail(["run", "--prompt-file", "prompt.txt", "-o", str(tmp_path / "r")], capsys)
    assert err == ("promptmine run: error: --prompt-file needs --task FILE (the labelled examples); "
                   "without --task, run compares relation prompts")
    import promptmine.cli.run as cli_run

    monkeypatch.setattr(cli_run, "run_task", lambda args: 0)
    assert main(["run", "--task", "t.jsonl", "--prompt", "{text}", "--mined", "3", "--test-fraction", "0.4",
                 "--budget", "9"]) == 0  # --budget is the task search's too
    assert "run --task: --mined, --test-fraction are for relation runs; ignored" in capsys.readouterr().err


def test_python_dash_m_promptmine_runs_the_command_line():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "promptmine", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("promptmine ")


def test_a_tsv_header_row_is_not_a_fact(tmp_path):
    from promptmine.core.io import read_pairs

    tsv = tmp_path / "facts.tsv"
    tsv.write_text("subject\tobject\trelation\nParis\tFrance\tP17\nsubject\tobject\tP17\n")
    pairs = read_pairs(tsv)
    assert [(p.subject, p.object) for p in pairs] == [("Paris", "France"), ("subject", "object")]  # only the first line
