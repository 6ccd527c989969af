"""Task prompts (promptmine.tasks): reading examples with any fields, a prompt's parts and formats,
label words and calibration, and the search end to end on a tiny causal model."""

import json
import random
import re

import numpy as np
import pytest

from promptmine.core.errors import InputError, PromptmineError
from promptmine.scoring import CachedScorer
from promptmine.selection import Exhaustive, Race
from promptmine.tasks import (
    Example, metrics, optimize_task, parse_prompt, parse_verbalisers, read_task, render,
    scoring_form,
)
from promptmine.scoring.metrics import macro_f1, paired_bootstrap
from promptmine.tasks.optimize import constant_metrics
from promptmine.tasks.readout import Readout, bias, calibrate, label_logprobs, propose_words
from promptmine.tasks.search import VariantScorer, demo_variants, format_variants

FEW_SHOT = """You are an expert system that excels at Sentiment Analysis of User Reviews.

Here are a few examples to refer to:

1. That was a fantastic experience I had! // Positive
2. I think it was a passable evening. // Negative
3. I'm horrified at the state of affairs // Negative

Sentence: {text}
Sentiment:"""
SENTIMENT = {"positive": ["Positive"], "negative": ["Negative"]}
RTE = """Decide whether the hypothesis follows from the premise.

Premise: A man is sleeping.
Hypothesis: A person rests.
Answer: True

Premise: {premise}
Hypothesis: {hypothesis}
Answer:"""


def tiny_scorer(positions=512, **kw):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from promptmine.models.score.causal import CausalScorer
    from promptmine.testing.tiny import tiny_causal

    _, tok = tiny_causal("llama")
    torch.manual_seed(1)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=positions)
    return CausalScorer("tiny-llama", hf_model=LlamaForCausalLM(cfg), tokenizer=tok, device="cpu",
                        dtype="float32", **kw)


def test_read_task_names_file_and_line_and_keeps_every_field(tmp_path):
    p = tmp_path / "task.jsonl"
    p.write_text('{"text": "good", "label": "positive"}\n\n{"text": "bad", "label": "negative"}\n')
    assert read_task(p) == [Example.of("positive", text="good"), Example.of("negative", text="bad")]
    p.write_text('{"text": "good", "label": "positive"}\n{"text": "", "label": "negative"}\n')
    with pytest.raises(InputError, match=r"task.jsonl:2: missing or empty `text`"):
        read_task(p)
    p.write_text('{"text": "good"}\n')
    with pytest.raises(InputError, match=r"task.jsonl:1: missing or empty `label`"):
        read_task(p)
    p.write_text('{"premise": "A man sleeps.", "hypothesis": "He rests.", "label": "entailment", "idx": 3}\n'
                 '{"premise": "x", "label": "entailment"}\n')
    with pytest.raises(InputError, match=r"task.jsonl:2: missing or empty `hypothesis`"):
        read_task(p, ["premise", "hypothesis"])
    p.write_text('{"premise": "A man sleeps.", "hypothesis": "He [Y] rests.", "label": "entailment", "idx": 3}\n')
    e = read_task(p, ["premise", "hypothesis"])[0]
    assert (e.get("premise"), e.get("hypothesis"), e.label) == ("A man sleeps.", "He [Y] rests.", "entailment")
    with pytest.raises(InputError, match="no such file"):
        read_task(tmp_path / "missing.jsonl")


def test_scoring_form_puts_every_slot_in_x_and_the_answer_after_the_cue():
    template, fill = scoring_form("Sentence: {text}\nSentiment:")
    assert template == "Sentence: [X]\nSentiment: [Y]" and fill({"text": "a {b} [X]"}) == "a {b} [X]"
    template, fill = scoring_form("Premise: {premise}\nHypothesis: {hypothesis}\nAnswer:")
    assert template == "Premise: [X]\nAnswer: [Y]"
    assert fill({"premise": "P", "hypothesis": "H"}) == "P\nHypothesis: H"
    assert scoring_form("Review: [X]\nIt was [Y] overall.")[0] == "Review: [X]\nIt was [Y] overall."
    for bad in ("No slot here.", "{text} and {text}", "[Y] before {text}"):
        with pytest.raises(PromptmineError):
            scoring_form(bad)
    assert parse_verbalisers("pos=Positive|Good,neg=Negative", ["pos", "neg"]) == \
        {"pos": ["Positive", "Good"], "neg": ["Negative"]}
    with pytest.raises(PromptmineError, match="no verbaliser for label"):
        parse_verbalisers({"pos": "Positive"}, ["pos", "neg"])


def test_prompt_parts_are_recognised_and_render_back_byte_for_byte():
    spec = parse_prompt(FEW_SHOT, SENTIMENT)
    assert spec.instruction.startswith("You are an expert") and spec.demo_header == "Here are a few examples to refer to:"
    assert [d.label for d in spec.demos] == ["positive", "negative", "negative"]
    assert dict(spec.demos[0].values) == {"text": "That was a fantastic experience I had!"}
    assert (spec.format.demo_style, spec.format.enumerator, spec.format.inline_sep) == ("inline", "1.", " // ")
    assert render(spec) == FEW_SHOT
    rte = parse_prompt(RTE, {"entailment": ["True"], "not_entailment": ["False"]})
    assert rte.slots == ["premise", "hypothesis"] and rte.demos[0].label == "entailment"
    assert render(rte) == RTE
    zero = "Classify the review.\n\nReview: {text}\nSentiment:"
    assert render(parse_prompt(zero, SENTIMENT)) == zero
    assert parse_prompt("{text} was [Y] .", SENTIMENT) is None  # an explicit answer slot: kept as written


def test_format_and_demo_variants_keep_slots_labels_and_the_held_out_split_out():
    spec = parse_prompt(FEW_SHOT, SENTIMENT)
    formats = format_variants(spec, random.Random(0), 12)
    assert len(formats) == 12 and len({render(s) for s, _ in formats}) == 12
    for s, what in formats:
        text = render(s)
        assert text.count("{text}") == 1 and what
        assert text.count("Positive") == 1 and text.count("Negative") == 2  # labels never change
    pool = [Example.of("positive" if i % 2 else "negative", text=f"pool text {i}") for i in range(20)]
    demos = demo_variants(spec, pool, random.Random(0), max_demos=2)
    drawn = [s for s, what in demos if "from the pool" in what]
    assert drawn and all(sum(d.label == lab for d in s.demos) in (1, 2) for s in drawn for lab in SENTIMENT)
    assert all(dict(d.values)["text"].startswith("pool text") for s in drawn for d in s.demos)
    assert any(not s.demos for s, _ in demos)  # "no demonstrations" is a candidate too


def test_readout_calibrations_by_hand():
    words = np.log(np.array([[0.6, 0.1, 0.3], [0.5, 0.4, 0.1]]))  # columns: Good, Bad, Great
    logp = label_logprobs(words, ["Good", "Bad", "Great"], [("Good", "Great"), ("Bad",)])
    assert np.allclose(np.exp(logp), [[0.9, 0.1], [0.6, 0.4]])
    prior = bias(logp)
    assert np.allclose(np.exp(prior), [0.75, 0.25])
    cal = np.exp(calibrate(logp, prior))
    expect = np.array([[0.9 / 0.75, 0.1 / 0.25], [0.6 / 0.75, 0.4 / 0.25]])
    assert np.allclose(cal, expect / expect.sum(axis=1, keepdims=True))
    assert calibrate(logp, None) is logp
    # proposed label words: likely for the label's examples and more so than for the other label's
    m = np.log(np.array([[0.5, 0.1, 0.2, 0.2], [0.4, 0.1, 0.3, 0.2], [0.1, 0.5, 0.2, 0.2]]))
    assert propose_words(m, ["great", "awful", "fine", "the"], [0, 0, 1], 2, per_label=2) == [["great", "fine"], ["awful"]]  # "the" is no likelier for either
    assert macro_f1([0, 0, 1, 1], [0, 1, 1, 1], 2) == pytest.approx((2 / 3 + 4 / 5) / 2)
    m = metrics(np.array([[0.0, -1], [0, -1], [-1, 0], [-1, 0]]), [0, 1, 1, 1], 2)
    assert (m.accuracy, m.correct) == (0.75, [True, False, True, True])
    assert metrics(np.zeros((4, 2)), [0, 1, 1, 1], 2).accuracy == 0.25  # a tie answers the first label, as predict
    assert constant_metrics(1, [0, 1, 1, 1], 2).accuracy == 0.75
    delta, lo, hi = paired_bootstrap([True, False, False, True], [True, True, False, True])
    assert delta == 0.25 and lo <= delta <= hi


def test_variant_scores_are_the_exact_label_log_probabilities_and_priors_use_selection_texts():
    """A label's score is the log-sum-exp of its words' exact log-probabilities (score_naive),
    normalised; the marginal prior is the mean over the prior examples only."""
    s = tiny_scorer()
    exs = [Example.of("a", text="Paris"), Example.of("b", text="Rome"), Example.of("a", text="London"),
           Example.of("b", text="Ada")]
    vs = VariantScorer(CachedScorer(s, cache=False), exs, ["a", "b"], prior_ids=[0, 1])
    from promptmine.tasks.search import Variant

    v = Variant("v0", "Marie Curie was born in Paris .\n{text} is the capital of", None,
                Readout((("London",), ("Rome", "New York"))), "original")
    template, _ = scoring_form(v.prompt)
    naive = np.array(s.score_naive(template, ["Paris", "Rome", "London", "Ada"], ["London", "Rome", "New York"]))
    labels = np.stack([naive[:, 0], np.logaddexp(naive[:, 1], naive[:, 2])], axis=1)
    expect = labels - np.logaddexp(labels[:, 0], labels[:, 1])[:, None]
    assert np.allclose(vs.logp(v, [0, 1, 2, 3]), expect, atol=1e-4)
    marginal = Readout(v.readout.words, "marginal")
    assert np.allclose(vs.prior(v, marginal), bias(expect[:2]), atol=1e-4)
    assert np.allclose(vs.logp(v, [2, 3], marginal), calibrate(expect[2:], bias(expect[:2])), atol=1e-4)
    assert vs.scorings == 4 + 0  # the content was scored once; the prior rows came from memory


SENT_WORDS = ["Paris", "London", "Rome", "Marie Curie", "Albert Einstein", "Ada", "New York", "York", "City"]


def _task(tmp_path, n=60):
    rng = random.Random(0)
    rows = [{"text": " ".join(rng.sample(SENT_WORDS, 2)), "label": "a" if i % 3 else "b"} for i in range(n)]
    path = tmp_path / "task.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_optimize_task_end_to_end_keeps_protected_parts_and_reports(tmp_path):
    prompt = "Decide.\n\nSentence: {text}\nAnswer:"
    out = tmp_path / "report"
    res = optimize_task(prompt, _task(tmp_path), CachedScorer(tiny_scorer()), verbalisers="a=London,b=Rome",
                        fixed_labels=["b"], keep=["Decide.", "Sentence:"], held_out=20, selection_size=20,
                        dimensions=["calibration", "labels", "format", "demos"],
                        strategy=Race(budget=400, block_size=8, metric="hit1"), out=out, cache=None)
    assert (res.n_selection, res.n_heldout) == (20, 20) and res.n_pool == 20
    assert list(res.heldout_metrics)[:3] == ["majority label (a)", "original", "selected"]
    from promptmine.tasks.data import split_indices

    labels = [json.loads(line)["label"] for line in (tmp_path / "task.jsonl").read_text().splitlines()]
    held_labels = [labels[i] for i in split_indices(60, 20, 0)[1]]
    assert res.heldout_metrics["majority label (a)"].accuracy == held_labels.count("a") / 20
    assert res.original.prompt == prompt and res.original.key == "v0"
    variants = [json.loads(line) for line in (out / "variants.jsonl").read_text().splitlines()]
    assert variants[0]["prompt"] == prompt and len(variants) > 5  # formats renaming `Sentence:` dropped
    for v in variants:  # slot, --keep span and the fixed label's word survive every variant
        assert v["prompt"].count("{text}") == 1 and v["prompt"].startswith("Decide.") and v["words"][1] == ["Rome"]
        assert "Sentence: {text}" in v["prompt"] or "Sentence:\n{text}" in v["prompt"]  # a --keep span
    drawn = [v for v in variants if any("from the pool" in c for c in v["changes"])]
    assert drawn
    for v in drawn:  # demonstrations show the label words the variant reads out
        cue = v["prompt"].splitlines()[-1]
        shown = re.findall(rf"^{re.escape(cue)} (\S+)$", v["prompt"], re.M)
        assert shown and set(shown) <= {w for ws in v["words"] for w in ws}
    held = json.loads((out / "heldout.json").read_text())
    assert held["chosen"] == res.chosen.prompt and held["rows"]["original"]["n"] == 20
    best = json.loads((out / "best_prompt.json").read_text())
    assert best["prompt"] == (out / "best_prompt.txt").read_text().rstrip("\n") == res.chosen.prompt
    assert set(best["verbalisers"]) == {"a", "b"}
    report = (out / "report.md").read_text()
    assert res.recommendation in report and "majority label (a)" in report and "How sensitive" in report
    # the same seed gives the same search
    again = optimize_task(prompt, _task(tmp_path), CachedScorer(tiny_scorer()), verbalisers="a=London,b=Rome",
                          fixed_labels=["b"], keep=["Decide.", "Sentence:"], held_out=20, selection_size=20,
                          dimensions=["calibration", "labels", "format", "demos"],
                          strategy=Race(budget=400, block_size=8, metric="hit1"), cache=None)
    assert again.chosen.prompt == res.chosen.prompt and again.chosen.readout == res.chosen.readout


def test_calibration_alone_runs_no_race_and_still_reports(tmp_path):
    """Only the readout is searched: no stage races, the finalists are the original and the incumbent
    (once each when the readout did not change them)."""
    res = optimize_task("Sentence: {text}\nAnswer:", _task(tmp_path), CachedScorer(tiny_scorer()),
                        verbalisers="a=London,b=Rome", held_out=20, selection_size=20, dimensions=["calibration"],
                        strategy=Race(budget=400, block_size=8, metric="hit1"), cache=None)
    assert [st.name for st in res.search.stages] == ["calibration/labels"] and 1 <= len(res.search.finalists) <= 2
    assert "original" in res.heldout_metrics and res.chosen.prompt == "Sentence: {text}\nAnswer:"


def test_demonstrations_come_from_the_pool_never_from_held_out(tmp_path):
    task = _task(tmp_path)
    held = tmp_path / "held.jsonl"
    held.write_text("".join(json.dumps({"text": f"Ada Ada {w}", "label": "a"}) + "\n" for w in SENT_WORDS))
    res = optimize_task("Sentence: {text}\nAnswer:", task, CachedScorer(tiny_scorer()), verbalisers="a=London,b=Rome",
                        heldout=held, selection_size=30, dimensions=["demos"],
                        strategy=Exhaustive(block_size=10, metric="hit1"), cache=None)
    texts = {json.loads(line)["text"] for line in held.read_text().splitlines()}
    for v in res.search.variants.values():
        assert not any(t in v.prompt for t in texts)
    assert res.n_heldout == len(SENT_WORDS) and res.n_pool == 30


def test_run_task_command_dry_run_and_report(tmp_path, tiny_causal_dir, capsys):
    from promptmine.cli import main

    task = _task(tmp_path, 40)
    (tmp_path / "prompt.txt").write_text("Sentence: {text}\nAnswer:\n")
    base = ["run", "--task", str(task), "--prompt-file", str(tmp_path / "prompt.txt"), "--verbalisers", "a=London,b=Rome",
            "--held-out", "0.25", "--selection-size", "12", "--dimensions", "calibration,labels,format,demos"]
    # the plan needs no model: a missing one does not stop it
    assert main(base + ["--dry-run", "--model", str(tmp_path / "no-model"), "-o", str(tmp_path / "r0")]) == 0
    printed = capsys.readouterr().out
    assert "calibration/labels" in printed and "format" in printed and "estimate" in printed
    assert not (tmp_path / "r0").exists()
    out = tmp_path / "report"
    assert main(base + ["--model", str(tiny_causal_dir), "--device", "cpu", "--budget", "300", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "held-out split (10 examples; chosen on 12)" in printed and "majority label" in printed
    assert {p.name for p in out.iterdir()} >= {"report.md", "accuracy.png", "variants.jsonl", "heldout.json",
                                               "best_prompt.txt", "best_prompt.json"}
    with pytest.raises(SystemExit) as e:
        main(base[:3] + ["--dimensions", "colour", "-o", str(out)])
    assert e.value.code == 2
    assert "unknown dimension(s) colour" in capsys.readouterr().err


def test_run_task_command_needs_one_prompt(tmp_path, capsys):
    from promptmine.cli import main

    task = tmp_path / "task.jsonl"
    task.write_text('{"text": "good", "label": "positive"}\n')
    assert main(["run", "--task", str(task), "--pivots", "none", "-o", str(tmp_path / "r")]) == 1
    assert "--prompt TEXT or --prompt-file FILE" in capsys.readouterr().err


def test_a_prompt_of_a_few_hundred_tokens_with_brackets_in_the_text():
    """The KV-cached path equals one full forward pass per label for a 300-token prompt, and texts
    holding braces, [X] or numbered brackets are scored as they are."""
    s = tiny_scorer(batch_size=3)
    prompt = " ".join(["Paris is the capital of New York ."] * 40) + "\nReview: {text}\nSentiment:"
    template, _ = scoring_form(prompt)
    assert len(s._encode(template)) > 300
    texts = ["Rome {text} was born", "Ada [X] died in [1] London", "New York City"]
    fast = np.array(s.score(template, texts, ["London", "New York City"]))
    naive = np.array(s.score_naive(template, texts, ["London", "New York City"]))
    assert np.allclose(fast, naive, atol=1e-4)
    assert not np.allclose(fast[0], fast[1])  # the text is part of the prompt


def test_readouts_are_searched_label_by_label_and_ties_keep_the_users_words():
    from promptmine.tasks.search import judge_readouts

    options = [[("A",), ("a",), ("x",), ("y",)]] * 4  # 256 combinations: searched label by label
    best = ("x", "a", "A", "y")

    def value(r):
        return sum(w == b for (w,), b in zip(r.words, best)) / 4 + (r.calibration == "marginal") * 0.1

    judged = judge_readouts(value, options, ("raw", "marginal"))
    assert judged[0][0] == Readout(tuple((w,) for w in best), "marginal") and len(judged) < 2 * 256
    flat = judge_readouts(lambda r: 0.5, [[("A",), ("a",)], [("B",)]], ("raw", "contextual"))
    assert flat[0][0] == Readout((("A",), ("B",)), "raw")  # nothing better: the user's words, raw


# -- readable label words (issue 27): whole words, the same in the readout and the demonstrations ------

def test_label_word_rules_fragments_function_words_and_meaning():
    from promptmine.tasks.words import against_meaning, fragment_or_function, readable

    for word, why in [("Dis", "a fragment"), ("The", "a function word"), ("not", "a function word"),
                      ("Enum", "not an English word"), ("ok", "not a word"), ("x2", "not a word")]:
        assert fragment_or_function(word) == why, word
    for word in ("Biology", "Terror", "Football", "Tech", "sports", "loved", "Positive", "MAYBE", "great"):
        assert fragment_or_function(word) is None, word
    nli = [["Yes"], ["No"], ["Maybe"]]  # entailment, contradiction, neutral
    assert against_meaning("Right", 1, nli) and against_meaning("okay", 1, nli) and against_meaning("Sure", 2, nli)
    assert against_meaning("Probably", 0, nli) and not against_meaning("Possibly", 2, nli)
    assert not against_meaning("Correct", 0, nli) and not against_meaning("Wrong", 1, nli)
    sentiment = [["Positive"], ["Negative"]]
    assert against_meaning("good", 1, sentiment) and not against_meaning("good", 0, sentiment)
    topics = [["World"], ["Sports"]]
    assert not against_meaning("good", 0, topics)  # no meaning to go against: only whole words count
    kept, dropped = readable([["The", "Probably", "Correct"], ["okay", "Right", "Wrong"], ["Sure", "Possibly"]],
                             {"entailment": ["Yes"], "contradiction": ["No"], "neutral": ["Maybe"]})
    assert kept == [["Correct"], ["Wrong"], ["Possibly"]]
    assert ("entailment", "The", "a function word") in dropped and len(dropped) == 5


class _WordModel:
    """A scorer double: each label's examples say `good`/`awful`; the label words score by whether they
    fit the example's label (`Dis` and `The` fit best: a fragment and a function word), a little higher
    when the prompt shows the word; the user's own words get `good fun` wrong."""

    identity = "word-model"
    fits = {"pos": {"great": 2.0, "The": 3.0, "Positive": 0.4, "positive": 0.5},
            "neg": {"awful": 2.0, "Dis": 3.0, "Negative": 0.4, "negative": 0.5}}
    vocab = ["great", "The", "awful", "Dis", "Enum", "table"]

    def __init__(self):
        self.scorer = self

    def _row(self, template, text, columns):
        lab = "pos" if "good" in text else "neg"
        wrong = {"Negative": 1.0, "negative": 1.0} if "fun" in text else {}
        return [-4.0 + self.fits[lab].get(c, 0.0) + wrong.get(c, 0.0) + 0.3 * (f" {c}\n" in template + "\n")
                for c in columns]

    def score(self, template, texts, columns):
        return [self._row(template, t, columns) for t in texts]

    def next_words(self, template, texts):
        return self.vocab, np.array(self.score(template, texts, self.vocab))


def _word_search(any_words=False, prompt=FEW_SHOT, dimensions=("calibration", "labels")):
    from promptmine.tasks import Example, TaskSettings
    from promptmine.tasks.search import search

    rng = random.Random(0)
    examples = [Example.of(lab, text=f"{word} film number {i}") for i in range(48)
                for lab, word in [("positive", rng.choice(["good", "good fun"])), ("negative", "awful")]]
    vs = VariantScorer(_WordModel(), examples, ["positive", "negative"])
    settings = TaskSettings(verbalisers=SENTIMENT, any_words=any_words, dimensions=dimensions)
    return search(vs, prompt, SENTIMENT, list(range(len(examples))), examples[:8], settings,
                  strategy=Exhaustive(block_size=16, metric="hit1"))


def _shown(prompt):
    return set(re.findall(r"// (\w+)$", prompt, re.M))


def test_default_label_words_are_whole_words_and_the_demonstrations_show_them():
    res = _word_search()
    words = {w for v in res.variants.values() for ws in v.readout.words for w in ws}
    assert not words & {"Dis", "The", "Enum"} and "great" in words and "awful" in words
    for v in res.variants.values():  # every prompt tried shows the words it reads out
        assert _shown(v.prompt) <= {ws[0] for ws in v.readout.words}, (v.key, v.prompt, v.readout)
    assert res.winner.readout.words[1] == ("awful",) and "awful" in _shown(res.winner.prompt)
    assert "demonstrations relabelled" in "; ".join(res.winner.changes)
    # the best prompt with the user's own words, for the report's readability line
    assert res.kept_words is not None and res.kept_words.readout.words == (("Positive",), ("Negative",))
    assert res.kept_words.prompt == FEW_SHOT and res.kept_words_examples == 96
    # --any-label-words: the fragment and the function word may be read out, still shown in the demonstrations
    loose = _word_search(any_words=True)
    assert loose.winner.readout.words[1] == ("Dis",) and "Dis" in _shown(loose.winner.prompt)
    for v in loose.variants.values():
        assert _shown(v.prompt) <= {ws[0] for ws in v.readout.words}


def test_zero_shot_readout_changes_and_later_demonstrations_show_the_new_words():
    res = _word_search(prompt="Review: {text}\nSentiment:", dimensions=("calibration", "labels", "demos"))
    assert res.winner.readout.words[0] == ("great",) or res.winner.readout.words[1] == ("awful",)
    for v in res.variants.values():
        cue = "Sentiment:"
        assert set(re.findall(rf"^{cue} (\S+)$", v.prompt, re.M)) <= {ws[0] for ws in v.readout.words}


def test_wording_variants_keep_the_answer_choices():
    from promptmine.models.translate import Hypothesis
    from promptmine.tasks import TaskSettings
    from promptmine.tasks.search import Variant, answer_words, wording_variants

    assert answer_words("Answer yes, no or maybe.", ["Yes", "No", "Maybe"]) == ["yes", "no", "maybe"]
    assert answer_words("Response yes, any or perhaps.", ["Yes", "No", "Maybe"]) == ["yes"]

    class Rewriter:  # a paraphraser double: one harmless rewrite, two that lose an answer choice
        name = "rewriter"

        def paraphrase(self, texts, n):
            return [[Hypothesis(t.replace("Answer", "Reply")), Hypothesis("Response yes, any or perhaps."),
                     Hypothesis(re.sub(r"\[\d+\]", "any", t))][:n] for t in texts]

    verb = {"entailment": ["Yes"], "contradiction": ["No"], "neutral": ["Maybe"]}
    prompt = "Answer yes, no or maybe.\n\nPremise: {premise}\nHypothesis: {hypothesis}\nAnswer:"
    spec = parse_prompt(prompt, verb)
    inc = Variant("v0", prompt, spec, Readout((("Yes",), ("No",), ("Maybe",))), "original")
    vs = VariantScorer(None, [], list(verb))
    out = wording_variants(vs, inc, verb, [(Rewriter(), ())], TaskSettings(permutations=4), cache=None)
    assert out and all(answer_words(v.prompt, ["yes", "no", "maybe"])[:3] == ["yes", "no", "maybe"] for v in out)
    assert any(v.spec.instruction == "Reply yes, no or maybe." for v in out)


def test_report_shows_the_best_prompt_with_the_users_label_words(tmp_path):
    from promptmine.report.tasks import KEPT_WORDS_ROW

    rng = random.Random(1)
    rows = [{"text": f"{rng.choice(['good', 'good fun'])} film {i}", "label": "positive"} for i in range(40)] + \
        [{"text": f"awful film {i}", "label": "negative"} for i in range(40)]
    task = tmp_path / "task.jsonl"
    task.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "report"
    res = optimize_task(FEW_SHOT, task, _WordModel(), verbalisers="positive=Positive,negative=Negative",
                        held_out=30, selection_size=40, dimensions=["calibration", "labels"],
                        strategy=Exhaustive(block_size=10, metric="hit1"), out=out, cache=None)
    assert res.chosen.readout.words != res.original.readout.words
    kept = res.search.kept_words
    assert kept is not None and kept.readout.words == (("Positive",), ("Negative",))
    report = (out / "report.md").read_text()
    assert "Best prompt that keeps your label words: " + kept.key in report
    if kept is not res.original:
        assert KEPT_WORDS_ROW in res.heldout_metrics and KEPT_WORDS_ROW in report
    held = json.loads((out / "heldout.json").read_text())
    assert held["kept_words"]["prompt"] == kept.prompt and held["kept_words"]["words"] == [["Positive"], ["Negative"]]


class _LeaningWordModel(_WordModel):
    """The user's words lean to `Negative` whatever the input (as small models lean to one label):
    calibration mends most of it, the model's own words need none."""

    def _row(self, template, text, columns):
        return [s + 0.6 * (c in ("Negative", "negative")) for s, c in zip(super()._row(template, text, columns), columns)]


def test_the_best_prompt_with_the_users_words_gets_a_held_out_row(tmp_path):
    from promptmine.report.tasks import KEPT_WORDS_ROW

    rng = random.Random(2)
    rows = [{"text": f"{rng.choice(['good', 'good', 'good fun'])} film {i}", "label": "positive"} for i in range(40)] + \
        [{"text": f"awful film {i}", "label": "negative"} for i in range(40)]
    task = tmp_path / "task.jsonl"
    task.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "report"
    res = optimize_task("Review: {text}\nSentiment:", task, _LeaningWordModel(),
                        verbalisers="positive=Positive,negative=Negative", held_out=30, selection_size=40,
                        dimensions=["calibration", "labels"], strategy=Exhaustive(block_size=10, metric="hit1"),
                        out=out, cache=None)
    kept = res.search.kept_words
    assert res.chosen.readout.words != res.original.readout.words
    assert kept is not None and kept.readout.words == res.original.readout.words and kept is not res.original
    assert kept.readout.calibration != "raw" and res.search.kept_words_examples == 50
    row = res.heldout_metrics[KEPT_WORDS_ROW]
    assert res.heldout_metrics["original"].accuracy <= row.accuracy <= res.heldout_metrics["selected"].accuracy
    report = (out / "report.md").read_text()
    assert f"| {KEPT_WORDS_ROW} |" in report and f"held-out {100 * row.accuracy:.1f}" in report
    assert json.loads((out / "heldout.json").read_text())["kept_words"]["heldout_accuracy"] == row.accuracy
