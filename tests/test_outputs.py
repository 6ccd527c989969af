"""Outputs you can analyse and commands that agree (issue 12): run uses the same scorer defaults as
evaluate, shows its stages in logs; Score records carry per-fact results and the selection's method."""

import json

import pytest

from promptmine.core.records import Pair


class _Built(Exception):
    pass


def _captured_scorer(monkeypatch, argv: list[str]):
    """(scorer name, options, cache) that a command passes to load_scorer, stopping it there."""
    import promptmine.scoring as scoring
    import promptmine.scoring.evaluation as evaluation
    import promptmine.selection.relations as relations
    from promptmine.cli import main

    seen = {}

    def fake(scorer="causal", options=None, *, cache=True):
        seen.update(scorer=scorer, options=dict(options or {}), cache=cache)
        raise _Built

    for module in (scoring, evaluation, relations):  # run's, evaluate's and select's
        monkeypatch.setattr(module, "load_scorer", fake)
    with pytest.raises(_Built):
        main(argv)
    return seen


def test_run_evaluate_and_select_build_the_same_scorer_for_the_same_flags(monkeypatch, tmp_path, tiny_causal_dir):
    from promptmine.corpora import CORPORA_DIR
    from promptmine.scoring import load_scorer

    rels, pairs = str(CORPORA_DIR / "sample_relations.jsonl"), str(CORPORA_DIR / "sample_pairs.jsonl")
    for flags in ([], ["--dtype", "float32"], ["--threads", "2", "--no-suffix"]):
        flags = ["--model", str(tiny_causal_dir)] + flags
        ran = _captured_scorer(monkeypatch, ["run", "--out", str(tmp_path / "r"), "--pivots", "none"] + flags)
        evaluated = _captured_scorer(monkeypatch, ["evaluate", "--templates", rels, "--pairs", pairs] + flags)
        selected = _captured_scorer(monkeypatch, ["select", "--templates", rels, "--pairs", pairs,
                                                  "-o", str(tmp_path / "s.jsonl")] + flags)
        assert ran == evaluated == selected
        built = [load_scorer(s["scorer"], s["options"], cache=False).identity for s in (ran, evaluated)]
        assert built[0] == built[1]


def _small_data(tmp_path):
    """Two relations with labels and a few facts each (objects in the tiny models' vocabulary)."""
    rels = tmp_path / "rels.jsonl"
    rels.write_text(json.dumps({"relation": "P19", "template": "[X] was born in [Y] .", "label": "place of birth"})
                    + "\n" + json.dumps({"relation": "P36", "template": "The capital of [X] is [Y] ."}) + "\n")
    pairs = tmp_path / "pairs.jsonl"
    facts = [("Marie Curie", "Paris", "P19"), ("Albert Einstein", "Rome", "P19"), ("Ada", "London", "P19"),
             ("Marie", "New York City", "P19"), ("Einstein", "Paris", "P19"), ("Curie", "London", "P19"),
             ("Rome", "Paris", "P36"), ("London", "Rome", "P36"), ("Paris", "London", "P36"),
             ("York", "Rome", "P36")]
    pairs.write_text("".join(json.dumps({"sub_label": s, "obj_label": o, "predicate_id": r}) + "\n"
                             for s, o, r in facts))
    return rels, pairs


def test_run_logs_its_stages_in_order(monkeypatch, tmp_path, capsys, tiny_causal_dir):
    import promptmine.pipeline as pipeline

    rels, pairs = _small_data(tmp_path)
    monkeypatch.setattr(pipeline, "mine_pools", lambda corpus, train, top: {})
    monkeypatch.setattr(pipeline, "paraphrase_pools", lambda manual, routes, top, options=None, **kw: {})
    pipeline.run(rels, pairs, [str(rels)], out=tmp_path / "out", routes="none",
                 options={"model": str(tiny_causal_dir), "device": "cpu"}, cache=False)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("stage ")]
    assert lines == [f"stage {i}/5: {name}" for i, name in
                     enumerate(("mine", "paraphrase", "select", "evaluate", "report"), 1)]
    # selection of every relation comes before any evaluation
    assert err.index("stage 3/5: select") < err.index("stage 4/5: evaluate") < err.index("stage 5/5: report")

    # the report names relations by their labels where the relations file has them, and the model plainly
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| P19 (place of birth) |" in report and "| P36 |" in report
    assert "- P19 (place of birth): `" in report
    assert f"Model: {tiny_causal_dir.name} (causal LM, " in report
    # every selection and score names its row; every score lists its facts
    sels = [json.loads(line) for line in (tmp_path / "out" / "selections.jsonl").read_text().splitlines()]
    scores = [json.loads(line) for line in (tmp_path / "out" / "scores.jsonl").read_text().splitlines()]
    assert sels[0]["row"] == "Manual" and {s["row"] for s in scores} == {s["row"] for s in sels}
    assert all(len(s["facts"]) == s["n"] and set(s["facts"][0]) == {"subject", "object", "prediction", "rank"}
               for s in scores)

    # evaluating run's selections keeps each row apart
    from promptmine.report import format_scores
    from promptmine.scoring import evaluate

    again = evaluate(str(tmp_path / "out" / "selections.jsonl"), pairs,
                     options={"model": str(tiny_causal_dir), "device": "cpu"}, cache=False)
    assert {s.row for s in again} == {s["row"] for s in sels}
    assert sum(line.startswith("micro") for line in format_scores(again).splitlines()) == len({s["row"] for s in sels})


class _ByLength:
    """A scorer whose answer is predictable: the object whose length is closest to the subject's."""

    name = "bylength"
    identity = "bylength"

    def score(self, template, subjects, objects):
        return [[-abs(len(o) - len(s)) - 0.01 * i for i, o in enumerate(objects)] for s in subjects]


def test_evaluate_lists_each_fact_and_keeps_each_selections_method(tmp_path):
    from promptmine.core.io import write_jsonl
    from promptmine.core.records import Score, Selection, WeightedTemplate
    from promptmine.report import format_scores
    from promptmine.scoring import evaluate

    pairs = [Pair(subject="Ada", object="Rome", relation="P19"), Pair(subject="Marie Curie", object="Paris", relation="P19"),
             Pair(subject="Al", object="New York City", relation="P19")]
    sels = tmp_path / "selected.jsonl"
    write_jsonl(sels, [
        Selection(relation="P19", method="top1", model="m", templates=[WeightedTemplate(template="[X] was born in [Y] .")]),
        Selection(relation="P19", method="rank", model="m", templates=[
            WeightedTemplate(template="[X] was born in [Y] .", weight=0.5),
            WeightedTemplate(template="[X] is from [Y] .", weight=0.5)])])
    scores = evaluate(str(sels), pairs, scorer=_ByLength(), cache=False)
    assert [s.method for s in scores] == ["top1", "rank"]
    facts = scores[0].facts
    assert [(f.subject, f.object) for f in facts] == [(p.subject, p.object) for p in pairs]
    # Ada (3) -> Rome (4); Marie Curie (11) -> New York City (13, the closest); Al (2) -> Rome
    assert [f.prediction for f in facts] == ["Rome", "New York City", "Rome"]
    assert [f.rank for f in facts] == scores[0].ranks and facts[0].rank == 1 and facts[2].rank == 3
    # written records carry them; a plain Score still reads
    back = Score.model_validate_json(scores[1].model_dump_json())
    assert back.facts == scores[1].facts and "method" not in Score(template="t", model="m", p_at_1=0, mrr=0, n=0).to_json()
    table = format_scores(scores)
    micro = [line for line in table.splitlines() if line.startswith("micro")]
    assert len(micro) == 2 and "top1" in micro[0] and "rank" in micro[1]  # never averaged across methods
    assert "method" in table.splitlines()[0]
    # plain templates: one micro row, no method column
    plain = evaluate(["[X] was born in [Y] .", "[X] is from [Y] ."], pairs, scorer=_ByLength(), cache=False)
    assert [s.method for s in plain] == ["manual", "manual"]
    assert "method" not in format_scores(plain).splitlines()[0]


def test_split_writes_the_same_train_and_test_sets_as_run(tmp_path, capsys):
    import promptmine
    from promptmine.cli import main
    from promptmine.core.io import read_pairs
    from promptmine.corpora import CORPORA_DIR
    from promptmine.pipeline import split_pairs

    source = CORPORA_DIR / "sample_pairs.jsonl"
    assert main(["split", "--pairs", str(source), "-o", str(tmp_path / "facts"), "--seed", "3",
                 "--test-fraction", "0.3"]) == 0
    train, test = read_pairs(tmp_path / "facts.train.jsonl"), read_pairs(tmp_path / "facts.test.jsonl")
    assert (train, test) == split_pairs(read_pairs(source), 0.3, seed=3)  # what `run --seed 3` uses
    assert 0.25 < len(test) / (len(train) + len(test)) < 0.35 and not set(train) & set(test)
    assert "training pairs to" in capsys.readouterr().err

    lonely = [Pair(subject="a", object="b", relation="P1")] + [Pair(subject=f"s{i}", object="o", relation="P2")
                                                               for i in range(4)]
    tr, te = promptmine.split(lonely, train_out=tmp_path / "tr.jsonl", test_out=tmp_path / "te.jsonl")
    assert [p.relation for p in tr].count("P1") == 1 and len(te) == 2
    assert "P1 has one pair only" in capsys.readouterr().err
    assert read_pairs(tmp_path / "te.jsonl") == te

    # where to write is checked first; one way to say it
    assert main(["split", "--pairs", str(source), "--train", str(tmp_path / "t.jsonl")]) == 1
    assert main(["split", "--pairs", str(source), "-o", "x", "--train", "a", "--test", "b"]) == 1
    assert main(["split", "--pairs", str(source), "--train", str(tmp_path), "--test", str(tmp_path / "b")]) == 1
    assert "is a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["split", "--pairs", str(source), "-o", "x", "--test-fraction", "1.5"])


def test_the_prediction_agrees_with_the_rank_on_ties():
    from promptmine.scoring import ranks, top_predictions

    scores = [[0.0, 0.0, -1.0], [-2.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    gold = [0, 2, 0, 1]
    assert ranks(scores, gold) == [2, 2, 1, 3]
    assert top_predictions(scores, gold) == [1, 1, 0, 0]  # gold predicted exactly where its rank is 1


def test_an_interrupted_run_leaves_the_earlier_report_whole(monkeypatch, tmp_path, tiny_causal_dir):
    import promptmine.pipeline as pipeline

    rels, pairs = _small_data(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("the earlier report")
    (out / "candidates.jsonl").write_text("earlier candidates\n")
    (out / "notes.txt").write_text("the user's own file")
    monkeypatch.setattr(pipeline, "mine_pools", lambda corpus, train, top: {})
    monkeypatch.setattr(pipeline, "paraphrase_pools", lambda manual, routes, top, options=None, **kw: {})

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "compare", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(rels, pairs, [str(rels)], out=out, routes="none",
                     options={"model": str(tiny_causal_dir), "device": "cpu"}, cache=False)
    assert (out / "report.md").read_text() == "the earlier report"
    assert (out / "candidates.jsonl").read_text() == "earlier candidates\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []  # no partial folder left


def test_relations_without_facts_and_facts_without_a_relation_are_named(tmp_path, caplog):
    import logging

    from promptmine.core.records import Pair
    from promptmine.pipeline import warn_unmatched

    pairs = [Pair(subject="a", object="b", relation="P19"), Pair(subject="c", object="d", relation=None),
             Pair(subject="e", object="f", relation="P999")]
    with caplog.at_level(logging.INFO, logger="promptmine"):
        warn_unmatched(pairs, {"P19": "[X] born [Y]", "P36": "[X] capital [Y]"}, "rels.jsonl", "facts.tsv")
    text = caplog.text
    assert "rels.jsonl: 1 relation without a fact in facts.tsv, left out: P36" in text
    assert "facts.tsv: 1 fact without a relation, left out" in text
    assert "facts.tsv: 1 fact of 1 relation that rels.jsonl does not have, left out: P999" in text
