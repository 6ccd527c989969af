"""The causal scorer's faster paths on tiny random models: the token trie (default) and the KV-cache
path must give the log-probs of one full forward pass per candidate (`score_naive`), for single-
and multi-token objects, shared first tokens, [Y] first, in the middle and last, under both the
sdpa and eager attentions, and whatever the grouping of subjects."""

import pytest
import torch

from promptmine.testing.tiny import tiny_causal

SUBJECTS = ["Marie Curie", "Ada", "Albert Einstein", "Rome"]
# Shared first tokens (New / New York / New York City), single- and multi-token objects.
OBJECTS = ["Paris", "New York City", "London", "New York", "Rome", "New", "Marie Curie"]
TEMPLATES = ["[X] was born in [Y] .", "[X] was born in [Y]", "[Y] is the birthplace of [X] .",
             "[X] ( born in [Y] , the capital )", "the capital of [X] is [Y]"]


def scorer(kind="llama", attn="sdpa", **kw):
    from promptmine.models.score.causal import CausalScorer

    model, tok = tiny_causal(kind)
    model.config._attn_implementation = attn
    return CausalScorer(f"tiny-{kind}", hf_model=model, tokenizer=tok, device="cpu", **kw)


@pytest.mark.parametrize("kind,attn", [("llama", "sdpa"), ("llama", "eager"), ("gpt2", "sdpa")])
@pytest.mark.parametrize("trie", [True, False])
@pytest.mark.parametrize("batch_size", [1, 500])  # a subject per pass, several
def test_fast_paths_equal_one_forward_per_candidate(kind, attn, trie, batch_size):
    s = scorer(kind, attn, trie=trie, batch_size=batch_size)
    assert s.trie is trie
    for template in TEMPLATES:
        fast = s.score(template, SUBJECTS, OBJECTS)
        naive = s.score_naive(template, SUBJECTS, OBJECTS)
        assert len(fast) == len(SUBJECTS) and all(len(r) == len(OBJECTS) for r in fast)
        for a, b in zip(fast, naive):
            assert a == pytest.approx(b, abs=1e-4), template


def test_trie_shares_first_tokens_and_feeds_no_last_token():
    from promptmine.models.score.causal import token_trie

    # New York City . / New York . / New . / Paris . as token ids
    conts = [[1, 2, 3, 9], [1, 2, 9], [1, 9], [4, 9], [4]]
    nodes, reads = token_trie(conts)
    # fed: New, New York, New York City, Paris; never a continuation's last token
    assert nodes == [(1, -1), (2, 0), (3, 1), (4, -1)]
    assert reads[0] == [(-1, 1), (0, 2), (1, 3), (2, 9)]
    assert reads[2] == [(-1, 1), (0, 9)]
    assert reads[4] == [(-1, 4)]


def test_trie_runs_one_pass_of_prefix_plus_trie_per_group():
    s = scorer(batch_size=len(OBJECTS) * len(SUBJECTS))
    shapes = []
    s.model.register_forward_hook(lambda mod, args, kwargs, out: shapes.append(kwargs["input_ids"].shape),
                                  with_kwargs=True)
    s.score("[X] was born in [Y] .", SUBJECTS, OBJECTS)
    assert len(shapes) == 1 and shapes[0][0] == len(SUBJECTS)
    # longest prefix: <|endoftext|> Albert Einstein was born in (6); trie: New, York, City, Paris,
    # London, Rome, Marie, Curie (8 nodes), where padded batches would feed 7 rows of up to 3 tokens
    assert shapes[0][1] == 6 + 8


def test_trie_is_not_part_of_the_identity():
    """It changes only float rounding, so the score cache is shared with the KV-cache path."""
    assert scorer(trie=True).identity == scorer(trie=False).identity


def test_attention_without_custom_masks_falls_back_to_the_kv_path():
    s = scorer(attn="flash_attention_2")
    assert s.trie is False


def test_bfloat16_trie_agrees_with_float32_within_rounding():
    s32, s16 = scorer(), scorer(dtype="bfloat16")
    a = torch.tensor(s32.score("[X] was born in [Y] .", SUBJECTS, OBJECTS))
    b = torch.tensor(s16.score("[X] was born in [Y] .", SUBJECTS, OBJECTS))
    assert (a - b).abs().max() < 0.1


# A few-shot prompt: a long shared head (instruction and examples) before the subject, over lines.
HEAD = ("the capital of Rome is Paris .\nthe capital of London is New York City .\n"
        "Ada was born in London , the capital .\nMarie Curie died in Paris .\n")
LONG = [HEAD + "[X] was born in [Y] .", HEAD + "( [X] )\nthe capital [Y]", HEAD + "[X] is [Y]"]


def _width(args, kwargs) -> tuple:
    return tuple((kwargs["input_ids"] if "input_ids" in kwargs else args[0]).shape)


@pytest.mark.parametrize("kind,attn,trie,batch_size", [
    ("llama", "sdpa", True, 1), ("llama", "sdpa", True, 500), ("llama", "eager", True, 500),
    ("gpt2", "sdpa", True, 500), ("llama", "sdpa", False, 3), ("gpt2", "sdpa", False, 500)])
def test_cached_head_equals_one_forward_per_candidate(kind, attn, trie, batch_size):
    s = scorer(kind, attn, batch_size=batch_size, trie=trie)
    s.head_min = 16
    calls = []
    s.model.register_forward_hook(lambda mod, args, kwargs, out: calls.append(_width(args, kwargs)),
                                  with_kwargs=True)
    for template in LONG:
        calls.clear()
        fast = s.score(template, SUBJECTS, OBJECTS)
        # the head runs once (one row: <|endoftext|> and the 31 words before [X]), then the passes
        # hold only subjects and tries (or continuations)
        assert calls[0][0] == 1 and calls[0][1] >= 32 and all(w < 20 for _, w in calls[1:]), calls
        naive = s.score_naive(template, SUBJECTS, OBJECTS)
        for a, b in zip(fast, naive):
            assert a == pytest.approx(b, abs=1e-4), template


def test_short_heads_are_not_cached():
    s = scorer(batch_size=500)
    calls = []
    s.model.register_forward_hook(lambda mod, args, kwargs, out: calls.append(_width(args, kwargs)),
                                  with_kwargs=True)
    s.score(HEAD.split(".")[0] + ". [X] is [Y]", SUBJECTS, OBJECTS)  # a 7-token head, under the default 32
    assert len(calls) == 1 and calls[0][0] == len(SUBJECTS)


def test_no_subjects_no_rows():
    assert scorer().score(LONG[0], [], OBJECTS) == []


def test_row_logsumexp_in_chunks_is_exact():
    from promptmine.models.score.causal import row_logsumexp

    for dtype in (torch.float32, torch.bfloat16):
        x = (torch.randn(37, 20_000, generator=torch.Generator().manual_seed(0)) * 4).to(dtype)
        assert torch.equal(row_logsumexp(x), torch.logsumexp(x.float(), dim=-1))
        rows = torch.tensor([3, 0, 36, 3])
        assert torch.equal(row_logsumexp(x, rows), torch.logsumexp(x.float(), dim=-1)[rows])


@pytest.mark.parametrize("batch_size", [1, 500])
def test_score_many_packs_templates_into_shared_passes(batch_size):
    """Rows of several templates (different prefixes, tries and widths) share passes and still give
    the log-probs of one full forward pass per candidate; batch 500 holds them all in one pass."""
    s = scorer(batch_size=batch_size)
    calls = []
    s.model.register_forward_hook(lambda mod, args, kwargs, out: calls.append(_width(args, kwargs)),
                                  with_kwargs=True)
    jobs = [(t, SUBJECTS[:1 + i % 4], OBJECTS[i % 3:]) for i, t in enumerate(TEMPLATES)] + [(TEMPLATES[0], SUBJECTS, [])]
    got = s.score_many(jobs)
    assert len(calls) == (1 if batch_size == 500 else sum(len(subj) for _, subj, objs in jobs if objs))
    assert got[-1] == [[] for _ in SUBJECTS]
    for (t, subj, objs), rows in zip(jobs[:-1], got):
        for a, b in zip(rows, s.score_naive(t, subj, objs)):
            assert a == pytest.approx(b, abs=1e-4), t
    s.pack = False  # one template at a time, as before packing: the same scores
    for (t, subj, objs), rows in zip(jobs, got):
        again = s.score(t, subj, objs)
        assert len(again) == len(rows) and all(a == pytest.approx(r, abs=1e-5) for a, r in zip(again, rows))


def test_cached_score_many_asks_only_what_is_missing_once():
    from promptmine.core.cache import DiskCache
    from promptmine.scoring import CachedScorer

    s = scorer(batch_size=500)
    asked = []
    inner = s.score_many
    s.score_many = lambda jobs: asked.append(jobs) or inner(jobs)
    cached = CachedScorer(s, DiskCache(None, "scores"))  # in memory
    t0, t1 = TEMPLATES[:2]
    first = cached.score_many([(t0, SUBJECTS, OBJECTS[:3]), (t0, SUBJECTS[:2], OBJECTS), (t1, SUBJECTS, OBJECTS)])
    # the second job asks only the objects the first did not; nothing is asked twice
    assert [(t, len(subj), len(objs)) for t, subj, objs in asked[0]] == [(t0, 4, 3), (t0, 2, 4), (t1, 4, 7)]
    assert cached.computed == 4 * 3 + 2 * 4 + 4 * 7
    again = cached.score_many([(t0, SUBJECTS[:2], OBJECTS), (t1, SUBJECTS, OBJECTS)])
    assert len(asked) == 1 and cached.computed == 48
    assert (again[0] == first[1]).all() and (again[1] == first[2]).all()
    assert (cached.score(t0, SUBJECTS, OBJECTS[:3]) == first[0]).all()
