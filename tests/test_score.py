"""Scorers on tiny randomly initialised models built here: the fast (KV-cached, batched) causal
path must equal one full forward pass per candidate, in float32 and, to its measured tolerance, in
bfloat16 (conftest.TOLERANCE); the masked scorer must read the mask."""

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
def test_fast_scores_equal_naive_full_forward(kind, template, precision, assert_agree):
    s = causal_scorer(kind, batch_size=4, dtype=precision)  # small batches: several chunks, subjects grouped
    fast = s.score(template, SUBJECTS, OBJECTS)
    naive = s.score_naive(template, SUBJECTS, OBJECTS)
    assert len(fast) == len(SUBJECTS) and all(len(r) == len(OBJECTS) for r in fast)
    assert_agree(fast, naive, precision, template)


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
    # the cache key names what the softmax runs over, not the file: the same words as a list share it,
    # the same file name with other words does not
    same = MaskedScorer("tiny-bert", hf_model=model, tokenizer=tok, device="cpu", vocab=["Rome", "Paris", "London"])
    assert same.identity == s.identity and "vocab=3@" in s.identity
    vocab.write_text("Paris\nLondon\nYork\n")
    edited = MaskedScorer("tiny-bert", hf_model=model, tokenizer=tok, device="cpu", vocab=vocab)
    assert edited.identity != s.identity
    assert "vocab.txt" in s.description


# SmolLM2's fast paths against one full forward per candidate, per precision. float32: float rounding.
# bfloat16: on the 4 x 4 capitals below the trie was 2e-5 and the KV-cache path 0.090 from the naive
# pass (AVX512-BF16, 1 and 2 threads); on an AMX CPU the two paths were 0.17 apart (issue 18); x2 -> 0.35.
# The bundled facts' log-probs of one subject span ~10 nats; a wrong mask or position moves them by more.
SMOLLM2_TOLERANCE = {"float32": 1e-3, "bfloat16": 0.35}


@pytest.mark.integration
def test_smollm2_scorer_ranks_real_facts(precision):
    """The shipped SmolLM2-135M (converted from its GGUF once) knows a few capitals, in both precisions
    (bfloat16 is `--dtype auto` on CPUs that have it natively; elsewhere it is emulated)."""
    from promptmine.models.score.causal import CausalScorer

    s = CausalScorer(device="cpu", dtype=precision)
    objects = ["Paris", "Rome", "Tokyo", "Berlin"]
    subjects = ["France", "Italy", "Japan", "Germany"]
    template = "The capital of [X] is [Y] ."
    rows = s.score(template, subjects, objects)
    naive = s.score_naive(template, subjects, objects)
    s.trie = False
    plain = s.score(template, subjects, objects)
    for fast in (rows, plain):
        for a, b in zip(fast, naive):
            assert a == pytest.approx(b, abs=SMOLLM2_TOLERANCE[precision])
        assert [max(range(4), key=row.__getitem__) for row in fast] == \
            [max(range(4), key=row.__getitem__) for row in naive]
    hits = sum(max(range(4), key=lambda j: row[j]) == i for i, row in enumerate(rows))
    assert hits >= 3


# How far a SmolLM2 row may move with the subjects sharing its pass and with the thread count:
# bfloat16 (oneDNN) gave the same bits in every case measured once rows are padded to a length of their
# own (beside a wider row, padded to its length, a row moved by up to 0.54 nats); float32 (the BLAS picks
# kernels by matrix shape and threads) moved by up to 6.7e-6 on the rows below, x3 -> 2e-5 (rankings
# untouched).
ROW_DRIFT = {"float32": 2e-5, "bfloat16": 0.0}


@pytest.mark.integration
def test_smollm2_rows_do_not_depend_on_the_pass_or_threads(precision):
    """What the score cache relies on (a warm run equals a cold one): a subject's row is the same alone,
    beside other subjects, beside a much wider row (a long subject), in one big pass or many small
    ones, and at 1 or 2 threads, so none of these is part of the cache key; its candidate set is (scores
    with half the candidates moved by up to 0.45 nats in bfloat16, 7e-5 in float32)."""
    import numpy as np

    from promptmine.models.device import use_threads
    from promptmine.models.score.causal import CausalScorer

    objects = ["Paris", "Rome", "Tokyo", "Berlin", "New York City", "Madrid"]
    subjects = ["France", "Italy", "Japan", "Germany"]
    wide = "the federation of the many small island states in the southern part of the Pacific Ocean"
    template = "The capital of [X] is [Y] ."
    before = torch.get_num_threads()
    try:
        s = CausalScorer(device="cpu", dtype=precision, threads=2)
        together = np.array(s.score(template, subjects, objects))
        beside_wide = np.array(s.score(template, [wide, *subjects], objects)[1:])
        s.batch_size = 1
        alone = np.array([s.score(template, [x], objects)[0] for x in subjects])
        s.batch_size = 10_000
        one_pass = np.array(s.score_many([(template, [wide, *subjects], objects),
                                          ("[X] is a country whose capital is [Y] .", subjects, objects)])[0][1:])
        use_threads(1)
        one_thread = np.array([s.score(template, [x], objects)[0] for x in subjects])
        s.batch_size = 128
        one_thread_together = np.array(s.score(template, subjects, objects))
    finally:
        torch.set_num_threads(before)
    for other in (beside_wide, alone, one_pass, one_thread, one_thread_together):
        assert np.abs(other - together).max() <= ROW_DRIFT[precision]
        assert (other.argmax(1) == together.argmax(1)).all()


def test_masked_rows_do_not_depend_on_the_subjects_batched_with_them(precision):
    """Sentences are batched with others of their length, never padded: the cache scores only the
    subjects it misses, so a row must be the same alone or beside a longer subject."""
    from promptmine.models.score.masked import MaskedScorer

    model, tok = tiny_masked()
    s = MaskedScorer("tiny-bert", hf_model=model, tokenizer=tok, device="cpu", dtype=precision, batch_size=2)
    subjects = ["Ada", "Marie Curie", "Albert Einstein", "Rome"]
    together = s.score("[X] was born in [Y] .", subjects, ["Paris", "London"])
    assert together == [s.score("[X] was born in [Y] .", [x], ["Paris", "London"])[0] for x in subjects]
    assert s.identity == f"masked:model=tiny-bert:device=cpu:dtype={precision}:vocab=none"
