"""Tasks with labelled examples: reading, prompt -> template, accuracy and macro-F1 of the verbalisers
ranked by a tiny causal model, and selection over variants end to end."""

import json
import math

import numpy as np
import pytest

from promptmine.core.errors import InputError, PromptmineError
from promptmine.scoring import CachedScorer
from promptmine.task import (
    Example, macro_f1, metrics, paired_bootstrap, parse_verbalisers, prompt_template, read_task, run_task,
    score_prompt, split_indices, task_data,
)


def tiny_scorer(positions=64, **kw):
    from transformers import LlamaConfig, LlamaForCausalLM

    from promptmine.models.score.causal import CausalScorer
    from promptmine.testing.tiny import tiny_causal

    model, tok = tiny_causal("llama")
    if positions != 64:
        import torch

        torch.manual_seed(1)
        cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                          num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=positions)
        model = LlamaForCausalLM(cfg)
    return CausalScorer("tiny-llama", hf_model=model, tokenizer=tok, device="cpu", **kw)


def test_read_task_names_file_and_line(tmp_path):
    p = tmp_path / "task.jsonl"
    p.write_text('{"text": "good", "label": "positive"}\n\n{"text": "bad", "label": "negative"}\n')
    assert read_task(p) == [Example("good", "positive"), Example("bad", "negative")]
    p.write_text('{"text": "good", "label": "positive"}\n{"text": "", "label": "negative"}\n')
    with pytest.raises(InputError, match=r"task.jsonl:2: missing or empty `text`"):
        read_task(p)
    p.write_text('{"text": "good"}\n')
    with pytest.raises(InputError, match=r"task.jsonl:1: missing or empty `label`"):
        read_task(p)
    p.write_text('{"text": "good", "label": "positive"}\n{"text": "x [Y] y", "label": "negative"}\n')
    assert read_task(p)[1] == Example("x [Y] y", "negative")  # a slot in a text is only text
    with pytest.raises(InputError, match="no such file"):
        read_task(tmp_path / "missing.jsonl")


def test_template_keeps_lines_and_splits_before_filling():
    from promptmine.core.records import Template

    t = Template(text="Review:\t [X]  \r\n\nSentiment:  [Y]")
    assert t.text == "Review: [X]\n\nSentiment: [Y]"
    assert Template(text="  [X]\t was  born in [Y] . ").text == "[X] was born in [Y] ."
    assert t.split_at_y("a [Y] b [X]") == ("Review: a [Y] b [X]\n\nSentiment: ", "")
    assert t.fill("a [Y]", "Good") == "Review: a [Y]\n\nSentiment: Good"
    s = tiny_scorer()
    assert s.score(t.text, ["a [Y] b"], ["Good", "Bad"])[0] == pytest.approx(
        s.score_naive(t.text, ["a [Y] b"], ["Good", "Bad"])[0], abs=1e-4)


def test_prompt_template_and_verbalisers():
    assert prompt_template("Sentence: {text}\nSentiment:") == "Sentence: [X]\nSentiment: [Y]"
    assert prompt_template("Review: [X]\nIt was [Y] overall.") == "Review: [X]\nIt was [Y] overall."
    for bad in ("No slot here.", "{text} and {text}", "[Y] before {text}"):
        with pytest.raises(PromptmineError):
            prompt_template(bad)
    assert parse_verbalisers(None, ["positive", "negative"]) == {"positive": ["Positive"], "negative": ["Negative"]}
    assert parse_verbalisers("pos=Positive|Good,neg=Negative", ["pos", "neg"]) == \
        {"pos": ["Positive", "Good"], "neg": ["Negative"]}
    with pytest.raises(PromptmineError, match="no verbaliser for label"):
        parse_verbalisers({"pos": "Positive"}, ["pos", "neg"])


def test_macro_f1_and_accuracy_by_hand():
    assert macro_f1([0, 0, 1, 1], [0, 1, 1, 1], 2) == pytest.approx((2 / 3 + 4 / 5) / 2)
    data = task_data([Example("a", "x"), Example("b", "y"), Example("c", "y"), Example("d", "y")],
                     {"x": ["X"], "y": ["Y"]})
    m = metrics(np.array([[0.0, -1], [0, -1], [-1, 0], [-1, 0]]), data)
    assert (m.accuracy, m.n, m.correct) == (0.75, 4, [True, False, True, True])
    assert m.macro_f1 == pytest.approx((2 / 3 + 4 / 5) / 2)
    tie = metrics(np.array([[0.0, 0.0]] * 4), data)
    assert tie.accuracy == 0.0  # a scorer that cannot tell labels apart gets no credit
    sel, held = split_indices(10, 4, seed=0)
    assert len(sel) == 6 and len(held) == 4 and not set(sel) & set(held)
    delta, lo, hi = paired_bootstrap([True, False, False, True], [True, True, False, True])
    assert delta == 0.25 and lo <= delta <= hi


def test_verbaliser_scores_on_a_tiny_causal_model():
    """Each label's score is the log-sum-exp of its words' exact log-probabilities; metrics follow."""
    s = tiny_scorer()
    prompt = "Marie Curie was born in Paris .\n{text} is the capital of"
    verb = {"a": ["London"], "b": ["Rome", "New York"]}
    exs = [Example("Paris", "a"), Example("Rome", "b"), Example("London", "a"), Example("Albert Einstein", "b")]
    data = task_data(exs, verb)
    scored = score_prompt(CachedScorer(s), prompt, data)
    template = prompt_template(prompt)
    naive = np.array(s.score_naive(template, data.texts, ["London", "Rome", "New York"]))
    expect = np.stack([naive[:, 0], np.logaddexp(naive[:, 1], naive[:, 2])], axis=1)
    assert np.allclose(scored.matrix, expect, atol=1e-4)
    m = metrics(scored.matrix, data)
    pred = expect.argmax(axis=1)
    assert m.accuracy == pytest.approx(np.mean(pred == np.array(data.gold)))
    assert m.macro_f1 == pytest.approx(macro_f1(pred.tolist(), data.gold, 2))


def test_a_prompt_of_a_few_hundred_tokens_with_brackets_in_the_text():
    """The KV-cached path equals one full forward pass per label for a 300-token prompt, and texts
    holding braces, [X] or numbered brackets are scored as they are."""
    s = tiny_scorer(positions=512, batch_size=3)
    prompt = " ".join(["Paris is the capital of New York ."] * 40) + "\nReview: {text}\nSentiment:"
    template = prompt_template(prompt)
    assert len(s._encode(template)) > 300
    texts = ["Rome {text} was born", "Ada [X] died in [1] London", "New York City"]
    fast = np.array(s.score(template, texts, ["London", "New York City"]))
    naive = np.array(s.score_naive(template, texts, ["London", "New York City"]))
    assert np.allclose(fast, naive, atol=1e-4)
    assert not np.allclose(fast[0], fast[1])  # the text is part of the prompt


def test_run_task_selects_and_reports(tmp_path):
    s = CachedScorer(tiny_scorer())
    task = tmp_path / "task.jsonl"
    rows = [("Paris", "a"), ("Rome", "b"), ("London", "a"), ("Ada", "b"), ("Marie Curie", "a"), ("York", "b"),
            ("Albert Einstein", "a"), ("City", "b"), ("New York", "a"), ("Curie", "b")]
    task.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows))
    prompt = "{text} was born in"
    variants = ["{text} died in", "{text} is the capital of", "{text} is born", "no slot at all"]
    res = run_task(prompt, task, s, verbalisers={"a": "London", "b": "Rome"}, variants=variants, held_out=4,
                   out_dir=tmp_path / "report")
    assert res.variants == [prompt] + variants[:3]  # a variant without the slot is skipped
    assert (res.n_selection, res.n_heldout) == (6, 4)
    assert res.chosen in res.variants
    assert set(res.heldout_metrics) == {"original", "selected (top1)", "rank ensemble (top 3)", "optimized ensemble"}
    assert math.isclose(sum(w for _, w in res.optimized), 1.0)
    # the original's held-out numbers are those of scoring it alone
    held = task_data([Example(t, lab) for t, lab in rows], {"a": ["London"], "b": ["Rome"]})
    held = held.subset(split_indices(10, 4)[1])
    alone = metrics(score_prompt(s, prompt, held).matrix, held)
    assert res.heldout_metrics["original"].accuracy == alone.accuracy
    text = (tmp_path / "report" / "report.md").read_text()
    assert "Held-out split (4 examples)" in text and (tmp_path / "report" / "accuracy.png").stat().st_size > 1000
    with pytest.raises(PromptmineError, match="variants., a .translator. or .routes."):
        run_task(prompt, task, s)


def test_calibrated_task_scores_subtract_the_content_free_prompt():
    from promptmine.scoring import calibrated

    raw = CachedScorer(tiny_scorer())
    data = task_data([Example("Paris", "a"), Example("Rome", "b")], {"a": ["London"], "b": ["Rome"]})
    prompt = "{text} was born in"
    plain = score_prompt(raw, prompt, data).matrix
    cal = score_prompt(calibrated(raw), prompt, data).matrix
    free = score_prompt(raw, prompt, task_data([Example("N/A", "a")], {"a": ["London"], "b": ["Rome"]})).matrix
    assert np.allclose(cal, plain - free, atol=1e-6)


def test_run_task_command_end_to_end(tmp_path, tiny_causal_dir, capsys):
    """`promptmine run --task` from a prompt file and a labelled JSONL to the report files, with a real
    translator route (apertium when installed) or none; the original prompt is variant 0."""
    from promptmine.cli import main
    from promptmine.models.translate.apertium import installed_modes

    pivots = "apertium:es" if "eng-spa" in installed_modes() else "none"
    task = tmp_path / "task.jsonl"
    rows = [("Marie Curie was born in Paris .", "positive"), ("Albert Einstein died in London .", "negative"),
            ("Ada was born in Rome .", "positive"), ("the capital of New York City", "negative")] * 3
    task.write_text("".join(json.dumps({"text": t, "label": lab}) + "\n" for t, lab in rows))
    prompt = ("Decide whether the sentence below is Positive or Negative. Answer with one word.\n\n"
              "Sentence: {text}\nSentiment:")
    (tmp_path / "prompt.txt").write_text(prompt + "\n")
    out = tmp_path / "report"
    code = main(["run", "--task", str(task), "--prompt-file", str(tmp_path / "prompt.txt"),
                 "--verbalisers", "positive=Positive,negative=Negative", "--pivots", pivots, "--permutations", "3",
                 "--held-out", "0.5", "--model", str(tiny_causal_dir), "--device", "cpu", "-o", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "held-out split (6 examples; variants chosen on 6)" in printed and "optimized ensemble" in printed
    assert {p.name for p in out.iterdir()} >= {"report.md", "accuracy.png", "variants.jsonl", "heldout.json"}
    variants = [json.loads(line) for line in (out / "variants.jsonl").read_text().splitlines()]
    assert variants[0]["prompt"] == prompt and variants[0]["variant"] == 0
    for v in variants:  # every variant kept the slot, the cues and the label words
        assert v["prompt"].count("{text}") == 1 and "\nSentence: {text}\nSentiment:" in v["prompt"]
        assert "Positive or Negative" in v["prompt"]
    if pivots != "none":
        assert len(variants) > 1
    held = json.loads((out / "heldout.json").read_text())
    assert held["n_heldout"] == 6 and "original" in held["rows"] and held["chosen"] in [v["prompt"] for v in variants]
    assert "## Held-out split (6 examples)" in (out / "report.md").read_text()


def test_run_task_command_needs_one_prompt(tmp_path, capsys):
    from promptmine.cli import main

    task = tmp_path / "task.jsonl"
    task.write_text('{"text": "good", "label": "positive"}\n')
    assert main(["run", "--task", str(task), "--pivots", "none", "-o", str(tmp_path / "r")]) == 1
    assert "--prompt TEXT or --prompt-file FILE" in capsys.readouterr().err
