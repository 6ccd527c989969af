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
    from promptmine.cli import main

    seen = {}

    def fake(scorer="causal", options=None, *, cache=True):
        seen.update(scorer=scorer, options=dict(options or {}), cache=cache)
        raise _Built

    monkeypatch.setattr(scoring, "load_scorer", fake)
    with pytest.raises(_Built):
        main(argv)
    return seen


def test_run_and_evaluate_build_the_same_scorer_for_the_same_flags(monkeypatch, tmp_path, tiny_causal_dir):
    from promptmine.corpora import CORPORA_DIR
    from promptmine.scoring import load_scorer

    rels, pairs = str(CORPORA_DIR / "sample_relations.jsonl"), str(CORPORA_DIR / "sample_pairs.jsonl")
    for flags in ([], ["--dtype", "float32"], ["--threads", "2", "--no-suffix"]):
        flags = ["--model", str(tiny_causal_dir)] + flags
        ran = _captured_scorer(monkeypatch, ["run", "--out", str(tmp_path / "r"), "--pivots", "none"] + flags)
        evaluated = _captured_scorer(monkeypatch, ["evaluate", "--templates", rels, "--pairs", pairs] + flags)
        assert ran == evaluated
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
    monkeypatch.setattr(pipeline, "paraphrase_pools", lambda manual, routes, top, options=None: {})
    pipeline.run(rels, pairs, [str(rels)], out=tmp_path / "out", routes="none",
                 options={"model": str(tiny_causal_dir), "device": "cpu"}, cache=False)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("stage ")]
    assert lines == [f"stage {i}/5: {name}" for i, name in
                     enumerate(("mine", "paraphrase", "select", "evaluate", "report"), 1)]
    # selection of every relation comes before any evaluation
    assert err.index("stage 3/5: select") < err.index("stage 4/5: evaluate") < err.index("stage 5/5: report")
