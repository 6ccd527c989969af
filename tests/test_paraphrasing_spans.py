"""Protected spans survive paraphrasing byte-for-byte: through a translator that damages them (a test
double, so every repair and drop path is exercised), the real Bergamot and Apertium, and the hosted
adapter against the loopback server injecting damaged answers."""

import re

import pytest

from promptmine.models.translate import Hypothesis
from promptmine.corpora import CORPORA_DIR
from promptmine.paraphrasing import RoundTripStats, paraphrase_text, split_units
from promptmine.paraphrasing.spans import find_spans, mask, protected_pieces, repair, span_texts

FEW_SHOT = (CORPORA_DIR / "sample_fewshot_prompt.txt").read_text(encoding="utf-8").rstrip("\n")
LABELS = ["Positive", "Negative"]


def test_find_spans_of_the_issue_prompt():
    spans = find_spans(FEW_SHOT, labels=LABELS)
    assert [(s.kind, s.text) for s in spans] == [
        ("label", "Positive"), ("label", "Negative"), ("label", "Negative"),
        ("cue", "Sentence:"), ("placeholder", "{text}"), ("cue", "Sentiment:")]
    assert all(FEW_SHOT[s.start:s.end] == s.text for s in spans)
    qa = find_spans("Q: What is the capital of Kenya?\nA:")
    assert [s.text for s in qa] == ["Q:", "A:"]
    # long sentences ending in a colon are not cues; user-named spans and regexes are kept
    assert find_spans("Here are a few examples to refer to:\n") == []
    assert span_texts("Use [X] in Nairobi, ref #12-3.", keep=["Nairobi"], keep_regex=[r"#\d+-\d+"]) == \
        ["[X]", "Nairobi", "#12-3"]


def test_edge_spans_never_reach_the_translator_and_tokens_do_not_clash():
    text = "Tell me if [3] is Positive or Negative.\nReview: {text}\nSentiment:"
    m = mask(text, find_spans(text, labels=LABELS))
    assert m.base == 4  # `[3]` was already in the text
    pieces = protected_pieces(m, split_units)
    assert "".join(p for p, _ in pieces) == m.text and m.unmask(m.text) == text
    assert [p for p, tr in pieces if tr] == ["Tell me if [3] is [4] or [5]."]
    verbatim = protected_pieces(mask(FEW_SHOT, find_spans(FEW_SHOT, labels=LABELS)), split_units,
                                examples_verbatim=True)
    assert [p for p, tr in verbatim if tr] == ["You are an expert system that excels at Sentiment Analysis of "
                                               "User Reviews.", "Here are a few examples to refer to:"]


def test_repair_fixes_altered_repeated_and_lost_tokens_or_gives_up():
    src = "Tell me if the text is [1] or [2] in tone."
    assert repair(src, "Say if the text is [1] or [2] in tone.") == ("Say if the text is [1] or [2] in tone.", False)
    assert repair(src, "Say if the text is [ 1 ] or [2 ] in tone.") == ("Say if the text is [1] or [2] in tone.", True)
    assert repair(src, "Say if the text is [1] or [2] [2] in tone.") == ("Say if the text is [1] or [2] in tone.", True)
    assert repair(src, "Say if the text is [1] or in tone.") == ("Say if the text is [1] or [2] in tone.", True)
    assert repair(src, "Nothing at all.") == (None, True)  # no word to put [1] after
    assert repair(src, "Say if the text is [2] or [1] in tone.") == (None, True)  # swapped labels
    assert repair("[1] Great fun!", "Much fun!")[0] == "[1] Much fun!"
    assert repair("Great fun [1]", "Much fun")[0] == "Much fun [1]"


class DamagingTranslator:
    """Round trips that damage protected tokens in every way, and one that brings in a label word."""

    name = "damaging"
    identity = "damaging-test-double"
    placeholder_styles = ("brackets",)

    def supports(self, src, tgt):
        return {src, tgt} == {"en", "xx"}

    def translate(self, texts, src, tgt, n=1):
        if tgt == "xx":
            return [[Hypothesis("xx:" + t)] for t in texts]
        out = []
        for t in texts:
            t = t.removeprefix("xx:")
            if "[" not in t:  # free text: a harmless change, and one that says a label word
                out.append([Hypothesis(t.replace("Be brief", "Keep it short")),
                            Hypothesis(t.replace("Be brief", "Be Positive"))][:n])
                continue
            first = re.search(r"\[\d+\]", t).group(0)
            out.append([Hypothesis(t.replace("Tell me", "Say", 1).replace("[", "[ ")),  # altered -> repaired
                        Hypothesis(t.replace("Tell me", "Let me know", 1).replace(first, "", 1)),  # lost -> repaired
                        Hypothesis(t.replace("Tell me", "Show", 1).replace(first, first + " " + first, 1)),  # twice
                        Hypothesis("Nothing remains of it."),  # lost, nowhere to put it -> dropped
                        ][:n])
        return out


def test_damaging_translator_repairs_drops_and_never_changes_a_label():
    text = ("Tell me whether the review is Positive or Negative. Be brief.\n\n"
            "1. Lovely film // Positive\n2. Dull plot // Negative\n\nReview: {text}\nSentiment:")
    stats = RoundTripStats()
    out = paraphrase_text(text, DamagingTranslator(), ["xx"], beams=4, permutations=20, labels=LABELS,
                          cache=None, stats=stats)
    assert out[0]["template"] == text and out[0]["pivot"] is None
    variants = [r["template"] for r in out[1:]]
    # "[ 1 ]" is normalised on the way back; the lost and the repeated token are repaired
    assert variants and stats.span_repaired == 2 and stats.span_dropped >= 2  # "Nothing..." + "Be Positive"
    assert any(v.startswith("Let me know whether the review is Positive or Negative") for v in variants)
    want = span_texts(text, labels=LABELS)
    for v in variants:
        assert span_texts(v, labels=LABELS) == want
        assert re.findall(r"//\s*(\w+)", v) == ["Positive", "Negative"] and v.count("{text}") == 1
        assert "Be Positive" not in v and "Nothing remains" not in v
    assert any(v.startswith("Say whether") for v in variants)
    assert any("Keep it short" in v for v in variants)
    # without protection the label word the translator brought in gets through
    loose = paraphrase_text(text, DamagingTranslator(), ["xx"], beams=4, permutations=20, labels=LABELS,
                            cache=None, protect=False)
    assert any("Be Positive" in r["template"] for r in loose)


def test_examples_verbatim_paraphrases_only_the_instruction():
    text = "Tell me whether the review is Positive or Negative. Be brief.\nReview: Lovely film\nSentiment: Positive\n" \
           "Review: {text}\nSentiment:"
    out = paraphrase_text(text, DamagingTranslator(), ["xx"], beams=4, permutations=5, labels=LABELS, cache=None,
                          examples_verbatim=True)
    assert len(out) > 1
    for r in out[1:]:
        head, rest = r["template"].split("\n", 1)
        assert rest == text.split("\n", 1)[1] and head != text.split("\n", 1)[0]


def _check_variants(text, out, n_min):
    want = span_texts(text, labels=LABELS)
    assert out[0]["template"] == text and len(out) - 1 >= n_min
    for r in out[1:]:
        assert span_texts(r["template"], labels=LABELS) == want, r["template"]
        assert r["template"].count("\n") == text.count("\n")


@pytest.mark.integration
def test_bergamot_keeps_every_protected_span():
    from promptmine.models.translate.bergamot import BergamotTranslator

    tr = BergamotTranslator()
    _check_variants(FEW_SHOT, paraphrase_text(FEW_SHOT, tr, ["pt"], permutations=5, labels=LABELS, cache=None), 5)
    inline = "Decide whether the sentence {text} is Positive or Negative in tone, then answer.\nA:"
    out = paraphrase_text(inline, tr, ["pt"], permutations=1, labels=LABELS, cache=None)
    _check_variants(inline, out, 1)
    assert out[1]["template"].startswith("Decide whether the phrase {text} is Positive or Negative")


def test_apertium_keeps_every_protected_span():
    from promptmine.models.translate.apertium import ApertiumTranslator, installed_modes

    if "eng-spa" not in installed_modes():
        pytest.skip("apertium with apertium-eng-spa is not installed")
    out = paraphrase_text(FEW_SHOT, ApertiumTranslator(), ["es"], permutations=5, labels=LABELS, cache=None)
    _check_variants(FEW_SHOT, out, 5)


# -- the hosted adapter through the loopback server ----------------------------------------------

@pytest.fixture(scope="module")
def rule_server():
    from promptmine.testing.server import serve_in_subprocess

    with serve_in_subprocess() as srv:
        yield srv


def test_hosted_translator_keeps_protected_spans_and_retries_damaged_answers(rule_server, capsys):
    from promptmine.models.hosted import OpenAITranslator

    text = "The review below is Positive or Negative. It was written by a user.\nReview: {text}\nSentiment:"
    # the first two answers for the sentence with tokens come back without them: rejected and asked again
    rule_server.set_faults([{"match": "[1]", "faults": ["drop_tokens", "drop_tokens"]}])
    tr = OpenAITranslator(base_url=rule_server.url, model="m", api_key_env="PM_NO_KEY", backoff=0.01, max_retries=3)
    stats = RoundTripStats()
    out = paraphrase_text(text, tr, ["de"], beams=3, permutations=4, labels=LABELS, cache=None, stats=stats)
    _check_variants(text, out, 1)
    assert any("is known to be Positive or Negative" in r["template"] for r in out[1:])
    # with no retries left the damaged sentence fails (reported), and no variant loses a span
    rule_server.set_faults([{"match": "[1]", "faults": ["drop_tokens"] * 10}])
    tr = OpenAITranslator(base_url=rule_server.url, model="m2", api_key_env="PM_NO_KEY", backoff=0.01, max_retries=0)
    out = paraphrase_text(text, tr, ["de"], beams=3, permutations=4, labels=LABELS, cache=None)
    assert "lost or repeated a placeholder ([1], [2])" in capsys.readouterr().err
    _check_variants(text, out, 1)
    assert all("Positive or Negative" in r["template"].split("\n")[0] for r in out)


def test_hosted_paraphraser_rewrites_sentences_and_keeps_protected_spans(rule_server):
    from promptmine.models.hosted import OpenAIParaphraser

    text = "The review below is Positive or Negative. It was written by a user.\nReview: {text}\nSentiment:"
    # the first answer for the sentence with tokens loses them: rejected, asked again
    rule_server.set_faults([{"match": "[1]", "faults": ["drop_tokens"]}])
    pa = OpenAIParaphraser(base_url=rule_server.url, model="m3", api_key_env="PM_NO_KEY", backoff=0.01, max_retries=2)
    out = paraphrase_text(text, pa, [], beams=2, permutations=5, labels=LABELS, cache=None)
    _check_variants(text, out, 3)
    firsts = {r["template"].split("\n")[0] for r in out[1:]}
    assert "The review below is known to be Positive or Negative. It has been written by a user." in firsts


def test_paraphrase_direct_takes_free_text(rule_server):
    """`paraphrase(texts=..., direct=True)` rewrites a free-text prompt with a paraphraser backend."""
    from promptmine.paraphrasing import paraphrase

    text = "The review below is Positive or Negative. It was written by a user.\nReview: {text}\nSentiment:"
    rule_server.set_faults([])
    res = paraphrase(texts=[text], backend="openai", direct=True, beams=2, permutations=5, labels=LABELS,
                     cache=False, options={"base_url": rule_server.url, "model": "m4", "api_key_env": "PM_NO_KEY",
                                           "backoff": 0.01, "max_retries": 2})
    assert res.candidates == [] and len(res.texts) == 1
    _check_variants(text, res.texts[0], 3)
    assert res.texts[0][0]["template"] == text


# -- labels found without --labels (issue 18) -----------------------------------------------------
from promptmine.paraphrasing.spans import SpanSettings, example_labels  # noqa: E402


def test_example_labels_are_found_without_being_told():
    from promptmine.corpora import CORPORA_DIR

    assert example_labels((CORPORA_DIR / "sample_fewshot_prompt.txt").read_text()) == ["Positive", "Negative"]
    assert example_labels("Review: loved it\nLabel: Positive\nReview: {text}\nLabel:") == ["Positive"]
    assert example_labels("Q: Where is Rome?\nA: Italy\nQ: Where is Oslo?\nA: Norway\nQ: {text}\nA:") == \
        ["Italy", "Norway"]
    # a long value after a cue is an example's text, not a label
    assert example_labels("Review: it was long and dull\nReview: {text}") == []
    assert "Positive" in SpanSettings().texts("1. Lovely film // Positive\nReview: {text}")
    assert "Positive" not in SpanSettings(auto_labels=False).texts("1. Lovely film // Positive\nReview: {text}")


class LabelMovingTranslator:
    """Apertium's damage: moves the last word of a sentence before the word it followed (`... to all
    my Positive // friends`)."""

    name = "mover"
    identity = "label-mover-test-double"
    placeholder_styles = ("brackets",)

    def supports(self, src, tgt):
        return {src, tgt} == {"en", "xx"}

    def translate(self, texts, src, tgt, n=1):
        out = []
        for t in texts:
            words = t.split()
            if tgt == "en" and len(words) > 2:
                words[-2], words[-1] = words[-1], words[-2]
            out.append([Hypothesis(" ".join(words))])
        return out


def test_labels_of_examples_never_move_without_labels_given():
    text = "Classify the review.\n\n1. I recommend this to all my friends // Positive\n\nReview: {text}\nSentiment:"
    out = paraphrase_text(text, LabelMovingTranslator(), ["xx"], permutations=5, cache=None)
    assert len(out) > 1
    for v in out:
        assert v["template"].count("// Positive") == 1 and "Positive //" not in v["template"]
