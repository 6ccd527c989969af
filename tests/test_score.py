"""Scorers on tiny randomly initialised models built here: the fast (KV-cached, batched) causal
path must equal one full forward pass per candidate; the masked scorer must read the mask."""

import math

import pytest
import torch

from promptmine.testing.tiny import tiny_causal, tiny_masked


def causal_scorer(kind="llama", **kw):
    from promptmine.models.score.causal import CausalScorer

    model, tok = tiny_causal(kind)
    return CausalScorer(f"tiny-{kind}", hf_model=model, tokenizer=tok, device="cpu", **kw)


SUBJECTS = ["Marie Curie", "Ada", "Albert Einstein"]
OBJECTS = ["Paris", "New York City", "London", "Rome", "New York"]


@pytest.mark.parametrize("kind", ["llama", "gpt2"])
@pytest.mark.parametrize("template", ["[X] was born in [Y] .", "[X] was born in [Y]",
                                      "[Y] is the birthplace of [X] .", "[X] ( born in [Y] , the capital )"])
def test_fast_scores_equal_naive_full_forward(kind, template):
    s = causal_scorer(kind, batch_size=4)  # small batches: several chunks, subjects grouped
    fast = s.score(template, SUBJECTS, OBJECTS)
    naive = s.score_naive(template, SUBJECTS, OBJECTS)
    assert len(fast) == len(SUBJECTS) and all(len(r) == len(OBJECTS) for r in fast)
    for a, b in zip(fast, naive):
        assert a == pytest.approx(b, abs=1e-4)


def test_causal_score_is_log_prob_of_object_and_suffix():
    """Hand-computed: log P(Paris) + log P(. | Paris) after `<|endoftext|> Ada was born in`."""
    s = causal_scorer()
    tok = s.tokenizer
    ids = tok("<|endoftext|> Ada was born in Paris .", add_special_tokens=False).input_ids
    with torch.no_grad():
        logp = torch.log_softmax(s.model(torch.tensor([ids])).logits[0], -1)
    expected = float(logp[-3, ids[-2]] + logp[-2, ids[-1]])
    assert s.score("[X] was born in [Y] .", ["Ada"], ["Paris"])[0][0] == pytest.approx(expected, abs=1e-5)
    # Without the suffix only the object's token counts.
    s2 = causal_scorer(score_suffix=False)
    assert s2.score("[X] was born in [Y] .", ["Ada"], ["Paris"])[0][0] == pytest.approx(float(logp[-3, ids[-2]]), abs=1e-5)
    assert s.identity != s2.identity


def test_template_ending_in_y_needs_one_forward_for_single_token_objects():
    s = causal_scorer()
    calls = []
    s.model.register_forward_hook(lambda *a: calls.append(1))
    s.score("[X] was born in [Y]", SUBJECTS, ["Paris", "London", "Rome"])
    assert len(calls) == 1


def test_split_moves_the_space_into_the_continuation():
    s = causal_scorer()
    assert s.split("[X] was born in [Y] .", "Ada", "Paris") == ("Ada was born in", " Paris .")
    assert s.split("[Y] is the birthplace of [X] .", "Ada", "Paris") == ("", "Paris is the birthplace of Ada .")


def test_masked_scorer_reads_the_mask_and_rejects_multi_token_objects():
    from promptmine.models.score.masked import MaskedScorer

    model, tok = tiny_masked()
    s = MaskedScorer("tiny-bert", hf_model=model, tokenizer=tok, device="cpu", batch_size=2)
    rows = s.score("[X] was born in [Y] .", SUBJECTS, ["Paris", "London", "New York"])
    for subject, row in zip(SUBJECTS, rows):
        enc = tok(f"{subject} was born in [MASK] .", return_tensors="pt")
        with torch.no_grad():
            logits = model(**enc).logits[0]
        pos = enc.input_ids[0].tolist().index(tok.mask_token_id)
        logp = torch.log_softmax(logits[pos], -1)
        assert row[0] == pytest.approx(float(logp[tok.convert_tokens_to_ids("Paris")]), abs=1e-5)
        assert row[1] == pytest.approx(float(logp[tok.convert_tokens_to_ids("London")]), abs=1e-5)
        assert row[2] == -math.inf  # two tokens: not scorable by one mask


def test_masked_vocabulary_restriction_renormalises_and_excludes(tmp_path):
    from promptmine.models.score.masked import MaskedScorer

    model, tok = tiny_masked()
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("Paris\nLondon\nRome\n")
    s = MaskedScorer("tiny-bert", hf_model=model, tokenizer=tok, device="cpu", vocab=vocab)
    row = s.score("[X] was born in [Y] .", ["Ada"], ["Paris", "London", "Rome", "York"])[0]
    assert row[3] == -math.inf  # outside the vocabulary
    assert sum(math.exp(v) for v in row[:3]) == pytest.approx(1.0, abs=1e-5)  # softmax over the 3 words
    assert "vocab.txt" in s.identity


@pytest.mark.integration
def test_smollm2_scorer_ranks_real_facts():
    """The shipped SmolLM2-135M (converted from its GGUF once) knows a few capitals."""
    from promptmine.models.score.causal import CausalScorer

    s = CausalScorer(device="cpu")
    objects = ["Paris", "Rome", "Tokyo", "Berlin"]
    subjects = ["France", "Italy", "Japan", "Germany"]
    rows = s.score("The capital of [X] is [Y] .", subjects, objects)
    naive = s.score_naive("The capital of [X] is [Y] .", subjects[:1], objects)
    assert rows[0] == pytest.approx(naive[0], abs=1e-3)
    hits = sum(max(range(4), key=lambda j: row[j]) == i for i, row in enumerate(rows))
    assert hits >= 3
