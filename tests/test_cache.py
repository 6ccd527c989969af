"""One cache mechanism, one switch: translations, scores and hosted answers all go through
`promptmine.core.cache.open_cache`, and `cache=False` or PROMPTMINE_NO_CACHE=1 turns every one off."""

from __future__ import annotations

import pytest

from promptmine.core.cache import NoCache, open_cache
from promptmine.models.translate import Hypothesis

KEY_ENV = "PM_TEST_API_KEY"


def test_open_cache_choices(tmp_path, monkeypatch):
    assert isinstance(open_cache(False), NoCache) and isinstance(open_cache(None), NoCache)
    path = tmp_path / "c.sqlite"
    c = open_cache(path, "scores")
    c.set("k", [1, 2])
    assert open_cache(str(path), "scores").get("k") == [1, 2] and open_cache(path, "other").get("k") is None
    assert open_cache(c) is c
    default = open_cache(True, "translations")
    default.set("k", "v")
    assert open_cache("default", "translations").get("k") == "v"  # the default file (PROMPTMINE_CACHE in tests)
    monkeypatch.setenv("PROMPTMINE_NO_CACHE", "1")
    for spec in (True, "default", path, c):
        off = open_cache(spec, "scores")
        assert isinstance(off, NoCache) and off.get_many(["k"]) == {}
    with pytest.raises(TypeError):
        monkeypatch.delenv("PROMPTMINE_NO_CACHE")
        open_cache(3)


class CountingTranslator:
    identity = "counting:test"

    def __init__(self):
        self.calls = 0

    def translate(self, texts, src, tgt, n=1):
        self.calls += len(texts)
        return [[Hypothesis(t.upper(), -1.0)] for t in texts]


class CountingScorer:
    identity = "counting-scorer"

    def __init__(self):
        self.calls = 0

    def score(self, template, subjects, objects):
        self.calls += len(subjects) * len(objects)
        return [[-1.0 for _ in objects] for _ in subjects]


@pytest.mark.parametrize("off", ["argument", "environment"])
def test_translations_and_scores_are_not_read_when_caching_is_off(off, monkeypatch):
    from promptmine.paraphrasing import translate_cached
    from promptmine.scoring import CachedScorer

    tr, sc = CountingTranslator(), CountingScorer()
    translate_cached(tr, ["a", "b"], "en", "de", 1, cache="default")
    CachedScorer(sc).score("[X] in [Y]", ["s"], ["o1", "o2"])
    assert (tr.calls, sc.calls) == (2, 2)
    translate_cached(tr, ["a", "b"], "en", "de", 1, cache="default")
    CachedScorer(sc).score("[X] in [Y]", ["s"], ["o1", "o2"])
    assert (tr.calls, sc.calls) == (2, 2)  # on: both answered from the cache
    if off == "environment":
        monkeypatch.setenv("PROMPTMINE_NO_CACHE", "1")
    cache = "default" if off == "environment" else None
    translate_cached(tr, ["a", "b"], "en", "de", 1, cache=cache)
    scorer = CachedScorer(sc, cache if off == "environment" else False)
    scorer.score("[X] in [Y]", ["s"], ["o1", "o2"])
    assert (tr.calls, sc.calls) == (4, 4) and scorer.reused == 0


@pytest.fixture(scope="module")
def rule_server():
    from promptmine.testing.server import serve_in_subprocess

    with serve_in_subprocess("--require-key-env", KEY_ENV, env={KEY_ENV: "sk-test"}) as srv:
        yield srv


@pytest.mark.parametrize("off", ["argument", "environment"])
def test_hosted_answers_are_not_read_from_the_cache_when_caching_is_off(rule_server, off, monkeypatch):
    from promptmine.models.hosted import OpenAITranslator

    monkeypatch.setenv(KEY_ENV, "sk-test")
    rule_server.set_faults([])

    def translator(**kw):
        return OpenAITranslator(base_url=rule_server.url, api_key_env=KEY_ENV, model="test-model", backoff=0.01, **kw)

    def chat_requests() -> int:
        return rule_server.stats()["requests"].get("chat", 0)

    texts = ["[X] was born in [Y] .", "[X] died in [Y] ."]
    before = chat_requests()
    first = translator().translate(texts, "en", "de")
    assert chat_requests() == before + 2
    assert translator().translate(texts, "en", "de") == first and chat_requests() == before + 2  # cached
    if off == "environment":
        monkeypatch.setenv("PROMPTMINE_NO_CACHE", "1")
        off_tr = translator()
    else:
        off_tr = translator(cache=False)
    assert off_tr.translate(texts, "en", "de") == first
    assert chat_requests() == before + 4 and off_tr.last_run.cached == 0  # asked again, not read
    off_tr.translate(texts, "en", "de")  # nor kept in memory by the same adapter
    assert chat_requests() == before + 6 and off_tr.last_run.cached == 0


def test_the_no_cache_flag_reaches_the_hosted_answers(rule_server, monkeypatch, capsys):
    """`promptmine paraphrase --no-cache` with a hosted translator: the translation cache and the
    hosted client's answer cache are both off, so a rerun asks the server again."""
    from promptmine.cli import main

    monkeypatch.setenv(KEY_ENV, "sk-test")
    rule_server.set_faults([])
    args = ["paraphrase", "[X] was born in [Y] .", "--backend", "openai", "--base-url", rule_server.url,
            "--model", "test-model", "--api-key-env", KEY_ENV, "--pivots", "de", "--beams", "2", "--top", "2"]

    def sent(argv) -> int:
        before = rule_server.stats()["requests"].get("chat", 0)
        assert main(argv) == 0
        capsys.readouterr()
        return rule_server.stats()["requests"].get("chat", 0) - before

    first = sent(args)
    assert first > 0 and sent(args) == 0  # cached
    assert sent(args + ["--no-cache"]) == first


def test_a_cached_score_is_the_score_an_uncached_run_computes(precision):
    """Whatever filled the cache before (other candidates, other subjects), a warm run returns what a
    cold one computes with the same settings, in both precisions: a score computed beside other
    candidates differs (the trie's layout changes the rounding: up to 0.45 nats in bfloat16 with
    SmolLM2), so the cache keeps whole rows per candidate set. (The rows a warm run computes share
    their pass with other subjects than in a cold run: the same bits in bfloat16, float32 rows may move
    by an ulp or so, test_score.ROW_DRIFT; hence 1e-6 here.)"""
    import numpy as np

    from promptmine.models.score.causal import CausalScorer
    from promptmine.scoring import CachedScorer
    from promptmine.testing.tiny import tiny_causal

    model, tok = tiny_causal("llama")
    raw = CausalScorer("tiny-llama", hf_model=model, tokenizer=tok, device="cpu", dtype=precision)
    template, subjects = "[X] was born in [Y] .", ["Marie Curie", "Ada", "Albert Einstein", "Rome"]
    objects = ["Paris", "New York City", "London", "New York", "Rome"]
    cold = CachedScorer(raw, None).score(template, subjects, objects)
    warm = CachedScorer(raw)
    warm.score(template, subjects[1:3], objects[::2])  # another run: other candidates
    warm.score(template, subjects[:2], objects)  # ... and some of the subjects
    before = warm.computed
    assert np.allclose(warm.score(template, subjects, objects), cold, rtol=0, atol=1e-6)
    assert warm.computed - before == 2 * len(objects)  # the two subjects it missed, whole rows
    assert np.array_equal(CachedScorer(raw).score(template, subjects[::-1], objects), warm.score(template, subjects, objects)[::-1])


class LayoutScorer:
    """Like the bfloat16 trie: an object's score moves a little with the candidates scored beside it."""

    identity = "layout:test"

    def score(self, template, subjects, objects):
        return [[-len(s) - 0.001 * len(objects) - 0.1 * j for j, _ in enumerate(objects)] for s in subjects]


def test_scores_computed_beside_other_candidates_are_never_mixed_into_a_row():
    from promptmine.scoring import CachedScorer

    cold = CachedScorer(LayoutScorer(), None).score("[X] in [Y]", ["ab", "c"], ["P", "QQ", "R"])
    warm = CachedScorer(LayoutScorer())
    warm.score("[X] in [Y]", ["ab", "c"], ["P", "QQ"])  # another run, with fewer candidates
    assert (warm.score("[X] in [Y]", ["ab", "c"], ["P", "QQ", "R"]) == cold).all()
