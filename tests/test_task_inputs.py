"""Task inputs as users have them (`run --task`, `optimize_task`): CSV/TSV files, integer labels,
verbaliser labels without examples, one-class or thin data, held-out shares, duplicates across the
splits, and the report's own folder; each caught or said before any model work."""

import json
import logging
import random
import warnings

import pytest

from promptmine.core.errors import InputError, PromptmineError
from promptmine.core.io import staged_folder
from promptmine.tasks import Example, TaskSettings, optimize_task, read_task
from promptmine.tasks.optimize import prepare
from promptmine.tasks.settings import TASK_OUT, TASK_ROUTES

PROMPT = "Review: {text}\nSentiment:"
WORDS = ["Paris", "London", "Rome", "Marie Curie", "Albert Einstein", "Ada", "New York", "York", "City"]


def _rows(n=60, labels=("a", "b"), seed=0):
    """`n` examples with distinct texts, labels in turn."""
    rng = random.Random(seed)
    return [{"text": f"{' '.join(rng.sample(WORDS, 2))} {i}", "label": labels[i % len(labels)]} for i in range(n)]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# -- file formats -------------------------------------------------------------------------------------

def test_csv_and_tsv_with_a_header_are_read_by_column_name(tmp_path):
    csv = tmp_path / "reviews.csv"
    csv.write_text('id,label,text\n1,positive,"Great, really great"\n\n2,negative,"Bad\nand ""worse"""\n'
                   "3,positive,Fine\n", encoding="utf-8-sig")  # a BOM, as Excel writes it
    assert read_task(csv) == [Example((("id", "1"), ("text", "Great, really great")), "positive"),
                              Example((("id", "2"), ("text", 'Bad\nand "worse"')), "negative"),
                              Example((("id", "3"), ("text", "Fine")), "positive")]
    tsv = tmp_path / "rte.tsv"
    tsv.write_text("premise\thypothesis\tlabel\nA man sleeps.\tHe rests, a bit.\tentailment\n")
    e = read_task(tsv, ["premise", "hypothesis"])[0]
    assert (e.get("premise"), e.get("hypothesis"), e.label) == ("A man sleeps.", "He rests, a bit.", "entailment")
    # errors name the file and the (1-based) line
    csv.write_text("text,label\ngood,positive\nok,fine,positive\n")
    with pytest.raises(InputError, match=r"reviews.csv:3: 3 fields, the header has 2 \(quote a field holding `,`\)"):
        read_task(csv)
    csv.write_text("review,sentiment\ngood,positive\n")
    with pytest.raises(InputError, match=r"reviews.csv:1: no `text`, `label` column; the header names `review`, "
                                         r"`sentiment`"):
        read_task(csv)
    csv.write_text("text\tlabel\ngood\tpositive\n")
    with pytest.raises(InputError, match=r"reviews.csv:1: .*is it tab-separated\? name the file .tsv"):
        read_task(csv)
    csv.write_text("text,label\ngood,\n")
    with pytest.raises(InputError, match=r"reviews.csv:2: missing or empty `label`"):
        read_task(csv)


def test_a_file_of_another_format_says_which_formats_are_read(tmp_path):
    txt = tmp_path / "reviews.txt"
    txt.write_text("text,label\ngood,positive\n")
    with pytest.raises(InputError, match=r"reviews.txt: cannot tell the format of a .txt file: give JSONL \(.jsonl, "
                                         r"one JSON object a line\) or CSV/TSV \(.csv, .tsv, a header row"):
        read_task(txt)
    txt.write_text('{"text": "good", "label": "positive"}\n')  # JSONL by its content
    assert read_task(txt) == [Example.of("positive", text="good")]
    jsonl = tmp_path / "reviews.jsonl"  # a CSV file named .jsonl: the JSON error says what it looks like
    jsonl.write_text("text,label\ngood,positive\n")
    with pytest.raises(InputError, match=r"reviews.jsonl:1: malformed JSON .*; this looks like CSV/TSV: name the "
                                         r"file .csv or .tsv"):
        read_task(jsonl)


def test_run_task_reads_a_csv_file(tmp_path, capsys):
    from promptmine.cli import main

    path = tmp_path / "reviews.csv"
    path.write_text("text,label\n" + "".join(f'"{r["text"]}, yes",{r["label"]}\n' for r in _rows(40)))
    assert main(["run", "--task", str(path), "--prompt", PROMPT, "--verbalisers", "a=London,b=Rome", "--dry-run"]) == 0
    assert "calibration/labels" in capsys.readouterr().out


# -- labels -------------------------------------------------------------------------------------------

def test_integer_labels_warn_without_names_and_take_them_with_label_names(tmp_path, capsys):
    rows = [{"text": r["text"], "label": int(r["label"] == "a")} for r in _rows()]
    path = _jsonl(tmp_path / "task.jsonl", rows)
    splits = prepare(PROMPT, path, TaskSettings())
    assert splits.labels == ["1", "0"] and splits.verbalisers["0"] == ["0"]
    assert ("warning: the labels look like integers (0, 1): the model would be asked for the words `0`, `1`; say "
            "what each stands for with --label-names 0=NAME,1=NAME (or give --verbalisers)") in capsys.readouterr().err
    named = prepare(PROMPT, path, TaskSettings(label_names="0=negative,1=positive"))
    assert named.labels == ["positive", "negative"] and named.verbalisers == {"positive": ["Positive"],
                                                                             "negative": ["Negative"]}
    assert {e.label for e in named.selection + named.heldout} == {"positive", "negative"}
    assert "look like integers" not in capsys.readouterr().err
    # words given for the integers are the user's choice: no warning
    prepare(PROMPT, path, TaskSettings(verbalisers="0=Bad,1=Good"))
    assert "look like integers" not in capsys.readouterr().err
    with pytest.raises(PromptmineError, match=r"task.jsonl: label\(s\) 1 have no name in the label names "
                                              r"\(0=negative\)"):
        prepare(PROMPT, path, TaskSettings(label_names="0=negative"))
    with pytest.raises(PromptmineError, match="label names: expected LABEL=NAME"):
        prepare(PROMPT, path, TaskSettings(label_names="0:negative"))


def test_label_names_flag_reaches_the_search(tmp_path, capsys):
    from promptmine.cli import main

    rows = [{"text": r["text"], "label": int(r["label"] == "a")} for r in _rows(40)]
    path = _jsonl(tmp_path / "task.jsonl", rows)
    assert main(["run", "--task", str(path), "--prompt", PROMPT, "--label-names", "0=negative,1=positive",
                 "--fix-label", "negative", "--dry-run"]) == 0
    assert "look like integers" not in capsys.readouterr().err
    assert main(["run", "--label-names", "0=negative", "-o", str(tmp_path / "r")]) == 1
    assert "--label-names needs --task FILE" in capsys.readouterr().err


def test_a_verbaliser_label_without_examples_is_warned_about_and_adds_no_class(tmp_path, capsys):
    path = _jsonl(tmp_path / "task.jsonl", _rows())
    splits = prepare(PROMPT, path, TaskSettings(verbalisers="a=London,neutral=Paris,b=Rome"))
    assert splits.labels == ["a", "b"] and "neutral" not in splits.verbalisers
    assert ("warning: label `neutral` of the verbalisers has no example in " + str(path) +
            "; left out (the labels: a, b)") in capsys.readouterr().err


def test_one_class_and_thin_labels_fail_before_any_model_work(tmp_path, capsys):
    from promptmine.cli import main

    one = _jsonl(tmp_path / "one.jsonl", _rows(labels=("pos",)))
    base = ["--prompt", PROMPT, "--model", str(tmp_path / "no-model"), "-o", str(tmp_path / "r")]
    for extra in (["--dry-run"], []):  # the dry run checks it too; the real run fails before loading the model
        assert main(["run", "--task", str(one), *base, *extra]) == 1
        err = capsys.readouterr().err
        assert err.strip().endswith(f"{one}: every example has the label `pos`: a prompt is chosen by how well it "
                                    "tells labels apart; give examples of at least two labels"), err
    assert not (tmp_path / "r").exists()
    thin = _jsonl(tmp_path / "thin.jsonl", _rows(40, labels=("a",) * 39) + [{"text": "Rome Ada", "label": "b"}])
    with pytest.raises(InputError, match=r"thin.jsonl: too few examples of `b` in the selection split to choose a "
                                         r"prompt on: [01] of its 1 \(each label needs 2 there\); give more examples "
                                         r"of it or hold out fewer"):
        optimize_task(PROMPT, thin, scorer=str(tmp_path / "no-model"), dry_run=True)


@pytest.mark.parametrize("held_out, text", [
    (0.99, "holding out 0.99 (59 of 60 examples) leaves 1 example"),
    (55, "holding out 55 of 60 examples leaves 5 examples"),
    (60, "holding out 60 of 60 examples leaves 0 examples"),
])
def test_a_held_out_share_that_leaves_too_few_is_one_message(tmp_path, capsys, held_out, text):
    from promptmine.cli import main

    path = _jsonl(tmp_path / "task.jsonl", _rows())
    assert main(["run", "--task", str(path), "--prompt", PROMPT, "--held-out", str(held_out), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert err == (f"promptmine run: error: {path}: {text} to choose a prompt on; the search needs at least 8: hold "
                   "out fewer (--held-out) or give more examples\n")


def test_held_out_shares_and_counts_out_of_range(tmp_path):
    path = _jsonl(tmp_path / "task.jsonl", _rows())
    for bad, why in ((1.5, "a share of the examples is between 0 and 1"), (0, "hold out at least 1 example")):
        with pytest.raises(PromptmineError, match=rf"--held-out {bad:g}: {why}"):
            prepare(PROMPT, path, TaskSettings(held_out=bad))
    assert len(prepare(PROMPT, path, TaskSettings(held_out=0.25)).heldout) == 15
    assert len(prepare(PROMPT, path, TaskSettings(held_out=2.0)).heldout) == 2  # a whole float is a count


def test_duplicates_across_selection_and_held_out_are_reported(tmp_path, capsys):
    rows = _rows(40)
    path = _jsonl(tmp_path / "task.jsonl", rows)
    held = _jsonl(tmp_path / "held.jsonl", rows[:3] + _rows(9, seed=1)[3:])
    splits = prepare(PROMPT, path, TaskSettings(), heldout=held)
    expect = ("3 held-out examples of 9 also appear (the same text) in the selection split or the demonstration "
              f"pool: the held-out rows may flatter the prompts; remove the duplicates from {path}")
    assert f"warning: {expect}" in capsys.readouterr().err
    assert splits.notes == [expect[:1].upper() + expect[1:] + "."]
    assert not prepare(PROMPT, path, TaskSettings()).notes  # distinct texts: nothing to say
    assert "also appear" not in capsys.readouterr().err


# -- the report's folder and the Python API ----------------------------------------------------------

def test_run_task_writes_its_own_default_folder_staged(tmp_path, tiny_causal_dir, capsys, monkeypatch):
    from promptmine.cli import main

    monkeypatch.chdir(tmp_path)
    path = _jsonl(tmp_path / "task.jsonl", _rows(40))
    final = tmp_path / TASK_OUT
    final.mkdir()
    (final / "notes.txt").write_text("mine")  # not a report file: left alone
    (final / "variants.jsonl").write_text("stale")  # replaced
    args = ["run", "--task", str(path), "--prompt", PROMPT, "--verbalisers", "a=London,b=Rome",
            "--dimensions", "calibration", "--model", str(tiny_causal_dir), "--device", "cpu"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert f"report: {TASK_OUT}/report.md" in out
    assert not (tmp_path / "promptmine-run").exists()
    assert {p.name for p in tmp_path.iterdir()} - {"cache"} == {"task.jsonl", TASK_OUT}  # no partial folder left
    assert (final / "notes.txt").read_text() == "mine" and (final / "variants.jsonl").read_text() != "stale"
    assert {p.name for p in final.iterdir()} >= {"report.md", "best_prompt.json", "heldout.json"}


def test_staged_folder_replaces_the_named_files_whole_or_not_at_all(tmp_path):
    final = tmp_path / "report"
    final.mkdir()
    (final / "a.txt").write_text("old a")
    (final / "b.txt").write_text("old b")
    (final / "own.txt").write_text("kept")
    with pytest.raises(RuntimeError):
        with staged_folder(final, ("a.txt", "b.txt")) as tmp:
            (tmp / "a.txt").write_text("new a")
            raise RuntimeError("interrupted")
    assert (final / "a.txt").read_text() == "old a" and [p.name for p in tmp_path.iterdir()] == ["report"]
    with staged_folder(final, ("a.txt", "b.txt")) as tmp:
        (tmp / "a.txt").write_text("new a")
    assert sorted(p.name for p in final.iterdir()) == ["a.txt", "own.txt"]  # b.txt was not written this time
    assert (final / "a.txt").read_text() == "new a"


def test_optimize_task_takes_the_commands_default_routes(tmp_path):
    path = _jsonl(tmp_path / "task.jsonl", _rows())
    permutations = TaskSettings().permutations
    plan = optimize_task(PROMPT, path, dry_run=True)
    routes = len(TASK_ROUTES.split(","))
    assert ("wording", permutations * routes + 1) in [row[:2] for row in plan.rows]
    assert "wording" not in [row[0] for row in optimize_task(PROMPT, path, routes="none", dry_run=True).rows]
    assert "wording" not in [row[0] for row in optimize_task(PROMPT, path, routes=[], dry_run=True).rows]


def test_optimize_task_from_python_shows_the_commands_notes_and_no_loading_bars(tmp_path, capsys, monkeypatch):
    """Without logging set up, the API shows what the command shows (on stderr) and turns the model
    libraries' bars off for the call; both are undone afterwards."""
    import transformers.utils.logging as hf_logging

    from promptmine.core import progress

    monkeypatch.setattr(progress.LOGGER, "handlers", [])  # as in a script that set up no logging
    monkeypatch.setattr(progress.LOGGER, "level", logging.NOTSET)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    path = _jsonl(tmp_path / "task.jsonl", _rows())
    optimize_task(PROMPT, path, dry_run=True)
    assert "task: 8 examples of the selection split set aside as the demonstration pool" in capsys.readouterr().err
    assert progress.LOGGER.handlers == [] and progress.LOGGER.level == logging.NOTSET
    with warnings.catch_warnings():  # huggingface_hub read its environment variable (set by the tests) at import
        warnings.simplefilter("ignore")
        hf_logging.enable_progress_bar()
    with progress.as_the_command():
        assert not hf_logging.is_progress_bar_enabled()
        progress.log("a note")
    assert hf_logging.is_progress_bar_enabled()
    assert capsys.readouterr().err == "a note\n"
    progress.log("after")  # the handler went with the call
    assert "after" not in capsys.readouterr().err


def test_task_notes_speak_of_examples_and_prompts_and_count_the_cache(tmp_path, tiny_causal_dir, capsys):
    from promptmine.cli import main

    path = _jsonl(tmp_path / "task.jsonl", _rows(40))
    args = ["run", "--task", str(path), "--prompt", PROMPT, "--verbalisers", "a=London,b=Rome", "--dimensions",
            "calibration,format", "--model", str(tiny_causal_dir), "--device", "cpu", "--budget", "200",
            "-o", str(tmp_path / "r")]
    assert main(args) == 0
    err = capsys.readouterr().err
    race = next(line for line in err.splitlines() if line.startswith("task format: "))
    assert "prompts" in race and "examples" in race and "(example, prompt) pairs" in race
    assert "template" not in race and "fact" not in race
    first = next(line for line in err.splitlines() if "word scores:" in line)
    assert " 0 from the cache" in first
    assert main(args) == 0
    again = next(line for line in capsys.readouterr().err.splitlines() if "word scores:" in line)
    assert "word scores: 0 computed" in again and " 0 from the cache" not in again
