"""Using what a search found (promptmine.tasks.saved, `promptmine predict`): a saved task prompt or
ensemble applied to the held-out examples gives the report's labels and accuracy exactly; the saved
file is typed and versioned; another model or precision is said and still runs; a relation's selection
ranks candidate objects for new subjects as `evaluate` ranks them."""

import json

import numpy as np
import pytest

from promptmine.core.errors import InputError, PromptmineError
from promptmine.core.records import Pair, Selection, WeightedTemplate
from promptmine.scoring import CachedScorer, CalibratedScorer, evaluate_selection, relation_facts
from promptmine.selection import Race
from promptmine.tasks import optimize_task
from promptmine.tasks.saved import TaskEnsemble, TaskPrompt, load_prompt, predict
from test_tasks import _task, tiny_scorer


def _lines(path, ids):
    lines = path.read_text().splitlines()
    return [json.loads(lines[i]) for i in ids]


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """A search on a tiny model whose report has a selected prompt and a rank ensemble."""
    tmp = tmp_path_factory.mktemp("searched")
    task = _task(tmp)
    out = tmp / "report"
    res = optimize_task("Decide.\n\nSentence: {text}\nAnswer:", task, CachedScorer(tiny_scorer(), cache=False),
                        verbalisers="a=London,b=Rome", held_out=20, selection_size=20,
                        dimensions=["calibration", "labels", "format", "demos"],
                        strategy=Race(budget=400, block_size=8, metric="hit1"), out=out, cache=None)
    return task, out, res


def test_predict_on_the_held_out_examples_gives_the_reports_labels_and_accuracy(searched, tmp_path):
    task, out, res = searched
    held = json.loads((out / "heldout.json").read_text())
    from promptmine.tasks.data import split_indices

    assert held["ids"] == split_indices(60, 20, 0)[1]  # the held-out line numbers of the task file
    rows = [json.loads(line) for line in (out / "heldout_predictions.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rows] == held["ids"]
    assert [r["gold"] for r in rows] == [x["label"] for x in _lines(task, held["ids"])]
    inputs = tmp_path / "held.jsonl"
    inputs.write_text("".join(json.dumps(x) + "\n" for x in _lines(task, held["ids"])))
    files = {"selected": "best_prompt.json", f"rank ensemble (top {len(res.rank)})": "rank_ensemble.json"}
    assert len(res.rank) > 1 and all((out / f).is_file() for f in files.values())
    for row, name in files.items():
        saved = load_prompt(out / name)
        assert isinstance(saved, TaskEnsemble if name.startswith("rank") else TaskPrompt)
        # a fresh scorer on the same model, no cache: the rows are scored again, not read back
        got = saved.predict(inputs, CachedScorer(tiny_scorer(), cache=False))
        assert [g["label"] for g in got] == [r["predictions"][row] for r in rows]
        accuracy = sum(g["label"] == g["gold"] for g in got) / len(got)
        assert accuracy == held["rows"][row]["accuracy"] == res.heldout_metrics[row].accuracy
        assert [g["id"] for g in got] == list(range(20))  # line numbers of the new file
        for g in got:
            assert set(g["probabilities"]) == {"a", "b"} and sum(g["probabilities"].values()) == pytest.approx(1)
            assert g["label"] == max(g["probabilities"], key=g["probabilities"].get)


def test_the_saved_prompt_is_typed_versioned_and_names_its_scorer_and_data(searched, tmp_path):
    task, out, res = searched
    best = json.loads((out / "best_prompt.json").read_text())
    assert (best["format"], best["version"], best["kind"]) == ("promptmine-prompt", 1, "task_prompt")
    assert best["prompt"] == res.chosen.prompt and best["fields"] == ["text"] and best["labels"] == ["a", "b"]
    assert best["calibration"] == res.chosen.readout.calibration
    assert (best["log_prior"] is None) == (res.prior is None)
    assert best["scorer"]["identity"].startswith("causal:model=tiny-llama") and best["scorer"]["name"] == "causal"
    assert best["selected_on"]["examples"] == str(task) and best["selected_on"]["n_heldout"] == 20
    assert "not for a model that generates its answer" in best["readout"]
    ens = json.loads((out / "rank_ensemble.json").read_text())
    assert ens["kind"] == "task_ensemble" and sum(m["weight"] for m in ens["members"]) == pytest.approx(1)
    # a file from a newer promptmine, or not a saved prompt at all, is an error naming the file
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps({**best, "version": 99}))
    with pytest.raises(InputError, match=r"newer.json: a saved prompt of version 99"):
        load_prompt(newer)
    newer.write_text(json.dumps({"kind": "task_prompt", "prompt": "{text}"}))
    with pytest.raises(InputError, match="not a saved prompt"):
        load_prompt(newer)
    # best_prompt.json as written before it had a kind still applies
    old = tmp_path / "old.json"
    old.write_text(json.dumps({k: best[k] for k in ("prompt", "verbalisers", "calibration", "log_prior")}))
    legacy = load_prompt(old)
    inputs = [{"text": "Ada London"}, "Paris Rome"]
    scorer = CachedScorer(tiny_scorer(), cache=False)
    assert [r["label"] for r in legacy.predict(inputs, scorer)] == \
        [r["label"] for r in load_prompt(out / "best_prompt.json").predict(inputs, scorer)]
    with pytest.raises(PromptmineError, match="built in code"):
        legacy.predict(inputs)  # no scorer saved and none given


def test_inputs_keep_their_ids_fields_and_gold_labels(searched, tmp_path):
    _, out, _ = searched
    saved = load_prompt(out / "best_prompt.json")
    new = tmp_path / "new.jsonl"
    new.write_text('{"id": "r-7", "text": "Ada London", "stars": "5"}\n\n{"text": "Paris York", "label": "b"}\n')
    got = saved.predict(new, CachedScorer(tiny_scorer(), cache=False))
    assert [g["id"] for g in got] == ["r-7", 2]  # the `id` field, else the 0-based line number
    assert got[0]["stars"] == "5" and "gold" not in got[0] and got[1]["gold"] == "b"
    new.write_text('{"id": 1, "review": "no text field"}\n')
    with pytest.raises(InputError, match=r"new.jsonl:1: missing or empty `text`"):
        saved.predict(new, CachedScorer(tiny_scorer(), cache=False))


def test_predict_command_uses_the_saved_scorer_and_says_when_another_one_applies_it(tmp_path, tiny_causal_dir,
                                                                                   capsys):
    from promptmine.cli import main

    task = _task(tmp_path, 40)
    (tmp_path / "prompt.txt").write_text("Sentence: {text}\nAnswer:\n")
    out = tmp_path / "report"
    assert main(["run", "--task", str(task), "--prompt-file", str(tmp_path / "prompt.txt"), "--verbalisers",
                 "a=London,b=Rome", "--held-out", "0.25", "--selection-size", "12", "--dimensions",
                 "calibration,labels,demos", "--model", str(tiny_causal_dir), "--device", "cpu", "--budget", "300",
                 "-o", str(out), "--no-cache"]) == 0
    held = json.loads((out / "heldout.json").read_text())
    inputs = tmp_path / "held.jsonl"
    inputs.write_text("".join(json.dumps(x) + "\n" for x in _lines(task, held["ids"])))
    capsys.readouterr()
    for name, row in (("best_prompt.json", "selected"), ("rank_ensemble.json", None)):
        if not (out / name).is_file():
            continue
        row = row or json.loads((out / name).read_text())["name"]
        preds = tmp_path / "preds.jsonl"
        assert main(["predict", "--prompt", str(out / name), "--input", str(inputs), "-o", str(preds),
                     "--no-cache"]) == 0
        got = [json.loads(line) for line in preds.read_text().splitlines()]
        accuracy = held["rows"][row]["accuracy"]
        assert sum(g["label"] == g["gold"] for g in got) / len(got) == accuracy
        err = capsys.readouterr().err
        assert f"accuracy {100 * accuracy:.1f}" in err and "not generated answers" in err
        assert "this prompt was chosen for" not in err
    # another precision: said, and it still runs
    assert main(["predict", "--prompt", str(out / "best_prompt.json"), "--input", str(inputs), "--dtype", "float32",
                 "--no-cache"]) == 0
    captured = capsys.readouterr()
    assert "this prompt was chosen for" in captured.err and "dtype=float32" in captured.err
    assert len(captured.out.splitlines()) == 10 and json.loads(captured.out.splitlines()[0])["label"] in ("a", "b")
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    assert "not for a model that generates its" in capsys.readouterr().out


def test_a_relations_selection_ranks_candidates_for_new_subjects_as_evaluate_does(tmp_path):
    """A rank ensemble with a calibrated readout, read from a selections file: its top-1 per subject is
    evaluate's prediction, over the relation's objects (from the facts) or candidates an input gives."""
    pairs = [Pair(subject=s, object=o, relation="P1") for s, o in
             [("Ada", "London"), ("Marie Curie", "Paris"), ("Albert Einstein", "Rome"), ("York", "London")]]
    long_template = ("Paris is the capital of France.\nRome is in Italy.\n[X] lives in [Y] .")  # demonstrations
    sel = Selection(relation="P1", method="rank", model="x", row="Searched (all stages)", calibration=["N/A"],
                    templates=[WeightedTemplate(template=long_template, weight=0.5),
                               WeightedTemplate(template="[X] is from [Y] .", weight=0.5)])
    other = sel.model_copy(update={"row": "Manual", "templates": [WeightedTemplate(template="[X] in [Y] .")]})
    path = tmp_path / "selections.jsonl"
    path.write_text("".join(json.dumps(s.to_json()) + "\n" for s in (other, sel)))
    facts_file = tmp_path / "facts.jsonl"
    facts_file.write_text("".join(json.dumps(p.model_dump()) + "\n" for p in pairs))
    scorer = CachedScorer(tiny_scorer(), cache=False)
    facts = relation_facts("P1", pairs)
    expect = evaluate_selection(CalibratedScorer(scorer, ["N/A"]), sel, facts)
    prompts = load_prompt(path, pairs=facts_file)  # the row run recommends from, by default
    subjects = tmp_path / "subjects.txt"
    subjects.write_text("".join(p.subject + "\n" for p in pairs))
    got = prompts.predict(subjects, scorer, k=2)
    assert [g["predictions"][0]["object"] for g in got] == [f.prediction for f in expect.facts]
    assert all(len(g["predictions"]) == 2 and g["relation"] == "P1" for g in got) and got[1]["id"] == 1
    # candidates given in an input line, and a ranking that agrees with the combined scores
    combined = prompts.prompt_for("P1").scores(scorer, ["Ada"], ["Rome", "Paris"])
    (one,) = prompts.predict([{"subject": "Ada", "candidates": ["Rome", "Paris"], "id": "q1"}], scorer, k=5)
    assert one["id"] == "q1" and [p["object"] for p in one["predictions"]] == \
        [["Rome", "Paris"][j] for j in np.argsort(-combined[0], kind="stable")]
    # the library function writes JSONL; another row by name; a missing row or candidate list is an error
    records = predict(path, subjects, scorer=scorer, row="Manual", candidates=["London", "Paris"], k=1,
                      out=tmp_path / "top.jsonl")
    assert len((tmp_path / "top.jsonl").read_text().splitlines()) == len(records) == 4
    # one relation's prompt saved as a typed file (its candidates with it) applies the same
    saved = prompts.prompt_for("P1").save(tmp_path / "p1.json")
    assert json.loads(saved.read_text())["kind"] == "relation_selection"
    assert load_prompt(saved).predict(subjects, scorer, k=2) == got
    with pytest.raises(PromptmineError, match="no row 'Mined'"):
        load_prompt(path, row="Mined")
    with pytest.raises(PromptmineError, match="no candidate objects"):
        load_prompt(path).predict(["Ada"], scorer)
