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
