"""The causal scorer's faster paths on tiny random models: the token trie (default) and the KV-cache
path must give the log-probs of one full forward pass per candidate (`score_naive`), for single-
and multi-token objects, shared first tokens, [Y] first, in the middle and last, under both the
sdpa and eager attentions, and whatever the grouping of subjects; in float32 (exact up to float
rounding) and in bfloat16 (the `--dtype auto` of CPUs with native bfloat16), each with its tolerance."""

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
def test_fast_paths_equal_one_forward_per_candidate(kind, attn, trie, batch_size, precision, assert_agree):
    s = scorer(kind, attn, trie=trie, batch_size=batch_size, dtype=precision)
    assert s.trie is trie
    for template in TEMPLATES:
        fast = s.score(template, SUBJECTS, OBJECTS)
        naive = s.score_naive(template, SUBJECTS, OBJECTS)
        assert len(fast) == len(SUBJECTS) and all(len(r) == len(OBJECTS) for r in fast)
        assert_agree(fast, naive, precision, template)


@pytest.mark.parametrize("trie", [True, False])
def test_a_row_does_not_depend_on_what_shares_its_pass(trie, precision):
    """The score cache computes only the subjects it misses, so the subjects sharing a pass differ
    between a cold and a warm run: a subject's row must not depend on them (nor on the batch size,
    which is therefore not part of the identity). The CPU library picks float32 kernels by matrix
    shape: rows 1 ulp (2.4e-7) apart here, hence 1e-6 (SmolLM2: test_score.ROW_DRIFT)."""
    s = scorer(trie=trie, dtype=precision, batch_size=500)
    together = s.score(TEMPLATES[0], SUBJECTS, OBJECTS)
    s.batch_size = 1
    alone = [s.score(TEMPLATES[0], [subject], OBJECTS)[0] for subject in SUBJECTS]
    for a, b in zip(together, alone):
        assert a == pytest.approx(b, abs=1e-6)
    s.batch_size = 500
    assert s.score(TEMPLATES[0], SUBJECTS[::-1], OBJECTS) == together[::-1]  # the same shapes: the same bits


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
    s = scorer(batch_size=1000)  # tokens per pass: all rows fit
    shapes = []
    s.model.register_forward_hook(lambda mod, args, kwargs, out: shapes.append(kwargs["input_ids"].shape),
                                  with_kwargs=True)
    s.score("[X] was born in [Y] .", SUBJECTS, OBJECTS)
    assert len(shapes) == 1 and shapes[0][0] == len(SUBJECTS)
    # longest prefix: <|endoftext|> Albert Einstein was born in (6); trie: New, York, City, Paris,
    # London, Rome, Marie, Curie (8 nodes), where padded batches would feed 7 rows of up to 3 tokens;
    # each row is padded to a multiple of 8 tokens (a length that depends on the row alone)
    assert shapes[0][1] == s.canonical_width(6 + 8) == 16


def test_identity_names_precision_device_and_engine():
    """The trie and the KV-cache path round differently (up to 0.85 nats apart in bfloat16 on the bundled
    facts), so they never share cached scores; nor do precisions, float32 included."""
    ids = {scorer(trie=trie, dtype=dtype).identity for trie in (True, False) for dtype in ("float32", "bfloat16")}
    assert len(ids) == 4
    assert scorer().identity == "causal:model=tiny-llama:device=cpu:dtype=float32:score_suffix=1:trie=1"
    assert scorer(trie=False, dtype="bfloat16").identity == \
        "causal:model=tiny-llama:device=cpu:dtype=bfloat16:score_suffix=1:trie=0"
    assert scorer(attn="flash_attention_2").identity.endswith(":trie=0")  # the engine that actually runs


def test_attention_without_custom_masks_falls_back_to_the_kv_path():
    s = scorer(attn="flash_attention_2")
    assert s.trie is False


def test_bfloat16_trie_agrees_with_float32_within_rounding():
    """bfloat16 weights and activations against float32 ones: 0.0029 apart at most on a CPU with
    AVX512-BF16 (llama and gpt2), x4 for other CPUs' kernels -> 0.012."""
    s32, s16 = scorer(), scorer(dtype="bfloat16")
    a = torch.tensor(s32.score("[X] was born in [Y] .", SUBJECTS, OBJECTS))
    b = torch.tensor(s16.score("[X] was born in [Y] .", SUBJECTS, OBJECTS))
    assert (a - b).abs().max() < 0.012


# A few-shot prompt: a long shared head (instruction and examples) before the subject, over lines.
HEAD = ("the capital of Rome is Paris .\nthe capital of London is New York City .\n"
        "Ada was born in London , the capital .\nMarie Curie died in Paris .\n")
LONG = [HEAD + "[X] was born in [Y] .", HEAD + "( [X] )\nthe capital [Y]", HEAD + "[X] is [Y]"]


def _width(args, kwargs) -> tuple:
    return tuple((kwargs["input_ids"] if "input_ids" in kwargs else args[0]).shape)


@pytest.mark.parametrize("kind,attn,trie,batch_size", [
    ("llama", "sdpa", True, 1), ("llama", "sdpa", True, 500), ("llama", "eager", True, 500),
    ("gpt2", "sdpa", True, 500), ("llama", "sdpa", False, 3), ("gpt2", "sdpa", False, 500)])
def test_cached_head_equals_one_forward_per_candidate(kind, attn, trie, batch_size, precision, assert_agree):
    s = scorer(kind, attn, batch_size=batch_size, trie=trie, dtype=precision)
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
        assert_agree(fast, naive, precision, template)


def test_the_head_ends_where_the_subject_starts_whichever_subjects_a_call_scores(precision):
    """The score cache scores only the subjects it misses: one subject alone must get the same head (and
    so the same rounding) as in a call with all of them, not its whole prefix."""
    s = scorer(batch_size=500, dtype=precision)
    s.head_min = 16
    calls = []
    s.model.register_forward_hook(lambda mod, args, kwargs, out: calls.append(_width(args, kwargs)),
                                  with_kwargs=True)
    together = s.score(LONG[0], SUBJECTS, OBJECTS)
    head = calls[0]
    for i, subject in enumerate(SUBJECTS):
        calls.clear()
        alone = s.score(LONG[0], [subject], OBJECTS)[0]
        assert calls[0] == head
        assert alone == pytest.approx(together[i], abs=1e-6)


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
    the log-probs of one full forward pass per candidate; with batch 500 (tokens) rows padded to the
    same length share one pass, whatever their template: one pass per padded length."""
    s = scorer(batch_size=batch_size)
    calls = []
    s.model.register_forward_hook(lambda mod, args, kwargs, out: calls.append(_width(args, kwargs)),
                                  with_kwargs=True)
    jobs = [(t, SUBJECTS[:1 + i % 4], OBJECTS[i % 3:]) for i, t in enumerate(TEMPLATES)] + [(TEMPLATES[0], SUBJECTS, [])]
    got = s.score_many(jobs)
    n_rows = sum(len(subj) for _, subj, objs in jobs if objs)
    widths = [w for _, w in calls]
    assert all(w % s.PAD_STEP == 0 for w in widths)
    if batch_size == 500:
        assert len(widths) == len(set(widths)) < len({t for t, _, objs in jobs if objs}) < n_rows
    else:
        assert len(calls) == n_rows
    assert got[-1] == [[] for _ in SUBJECTS]
    for (t, subj, objs), rows in zip(jobs[:-1], got):
        for a, b in zip(rows, s.score_naive(t, subj, objs)):
            assert a == pytest.approx(b, abs=1e-4), t
    s.pack = False  # one template at a time, as before packing: the same scores
    for (t, subj, objs), rows in zip(jobs, got):
        again = s.score(t, subj, objs)
        assert len(again) == len(rows) and all(a == pytest.approx(r, abs=1e-5) for a, r in zip(again, rows))


def test_cached_score_many_asks_only_what_is_missing_once():
    """Several jobs go to the scorer in one score_many call; each row is whole (its subject scored
    against the job's whole candidate list, issue 18), and nothing is asked twice."""
    from promptmine.core.cache import DiskCache
    from promptmine.scoring import CachedScorer

    s = scorer(batch_size=500)
    asked = []
    inner = s.score_many
    s.score_many = lambda jobs: asked.append(jobs) or inner(jobs)
    cached = CachedScorer(s, DiskCache(None, "scores"))  # in memory
    t0, t1 = TEMPLATES[:2]
    first = cached.score_many([(t0, SUBJECTS, OBJECTS[:3]), (t0, SUBJECTS[:2], OBJECTS), (t1, SUBJECTS, OBJECTS),
                               (t1, SUBJECTS[:2], OBJECTS)])
    assert [(t, len(subj), len(objs)) for t, subj, objs in asked[0]] == [(t0, 4, 3), (t0, 2, 7), (t1, 4, 7)]
    assert cached.computed == 4 * 3 + 2 * 7 + 4 * 7
    again = cached.score_many([(t0, SUBJECTS[:2], OBJECTS), (t1, SUBJECTS, OBJECTS)])
    assert len(asked) == 1 and cached.computed == 54
    assert (again[0] == first[1]).all() and (again[1] == first[2]).all() and (first[3] == first[2][:2]).all()
    assert (cached.score(t0, SUBJECTS, OBJECTS[:3]) == first[0]).all()


def test_a_model_saved_over_its_folder_gets_a_new_cache_key(tmp_path):
    """A model given as a local path is keyed by the path and a fingerprint of its files: retrained and
    saved over the same folder, its scores must not come from the cache of the old weights."""
    import os

    from promptmine.models.score.causal import CausalScorer
    from promptmine.testing.tiny import save_tiny_causal

    folder = save_tiny_causal(tmp_path / "model")
    first = CausalScorer(str(folder), device="cpu", dtype="float32")
    key = first.identity
    assert key.startswith(f"causal:model={folder}@")
    assert CausalScorer(str(folder), device="cpu", dtype="float32").identity == key  # stable
    weights = next(folder.glob("*.safetensors"))
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # saved again
    assert CausalScorer(str(folder), device="cpu", dtype="float32").identity != first.identity
    assert first.identity == key  # the scorer already loaded keeps the key of what it loaded
