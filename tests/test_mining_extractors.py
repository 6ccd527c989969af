"""Template extractors (`promptmine.mining.extractors`) on the backends' registry: each declares whether it needs the
dependency parse (so mining loads spaCy's parser only when one does), a new one plugs in by registering, and the shard
fingerprint hashes the chosen extractors' modules plus the mining core; and the templates the
built-in extractors read off known parses."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptmine.mining import extractors
from promptmine.core.records import Pair
from promptmine.mining.extractors import EXTRACTORS, keep
from promptmine.mining.extractors.base import Extractor, render
from promptmine.mining.settings import MiningSettings
from promptmine.models.registry import Backend, Registry
from promptmine.mining.extractors.dependency import dependency_path, dependency_template
from promptmine.mining.extractors.middle import middle_template

PAIRS = [Pair(subject="France", object="Paris", relation="P36"), Pair(subject="Japan", object="Tokyo", relation="P36")]
MAX_WORDS = MiningSettings.default("max_words")


def test_the_built_in_extractors_and_what_they_need():
    assert extractors.names()[:2] == ("middle", "dependency")
    assert not extractors.needs_parse(["middle"]) and extractors.needs_parse(["middle", "dependency"])
    assert extractors.resolve(["dependency"]) == ("dependency",)
    for bad in (["middle", "magic"], []):
        with pytest.raises(ValueError, match="unknown mining method .*; choose from middle, dependency"):
            extractors.resolve(bad)


def test_extractors_are_found_on_the_backends_registry():
    """The same `Registry` and `Backend` base as scorers and translators: built by `create`, with
    `Options` and `availability()`; the registry keeps registration order (ranking's tie order)."""
    assert isinstance(EXTRACTORS, Registry) and EXTRACTORS.ordered
    assert EXTRACTORS.names() == ["middle", "dependency"]  # not sorted
    for name in EXTRACTORS.names():
        cls = EXTRACTORS.resolve(name)
        assert issubclass(cls, Extractor) and issubclass(cls, Backend) and cls.name == name
        made = EXTRACTORS.create(name)
        assert isinstance(made, cls) and made.identity == name
    assert EXTRACTORS.resolve("middle").availability().ok  # a tokenizer is enough
    dependency = EXTRACTORS.resolve("dependency").availability()
    assert dependency.ok == bool(__import__("promptmine.models.parser").models.parser.available_models())
    with pytest.raises(Exception, match="unknown mining method 'magic'; choose from: middle, dependency"):
        EXTRACTORS.resolve("magic")


@pytest.mark.parametrize("methods, parse", [(("middle",), False), (("middle", "dependency"), True)])
def test_mining_loads_the_parser_only_when_an_extractor_needs_it(methods, parse, monkeypatch, tmp_path):
    import promptmine.models.parser as parser
    from promptmine.mining import mine
    from promptmine.mining.sharded import MiningJob

    asked = []
    real = parser.load_parser

    def spy(name=None, *, parse=True):
        asked.append(parse)
        return real(name, parse=parse)

    monkeypatch.setattr(parser, "load_parser", spy)
    corpus = tmp_path / "c.txt"
    corpus.write_text("The capital of France is Paris.\nTokyo is the capital of Japan.\n", encoding="utf-8")
    result = mine(corpus, PAIRS, methods=methods)
    assert asked == [parse] and result.stats["sentences_parsed"] == 2
    job = MiningJob(PAIRS, MiningSettings(methods=methods))
    job.setup()  # what each shard worker loads
    assert asked == [parse, parse]


class Reversed(Extractor):
    """A test source: the middle words in reverse order (needs no parse)."""

    name = "test-reversed"

    def extract(self, doc, xspan, yspan):
        lo, hi = min(xspan.start, yspan.start), max(xspan.end, yspan.end)
        ex = render(doc, range(lo, hi), xspan, yspan)
        return ex and type(ex)(" ".join(reversed(ex.template.split())), ex.words, ex.content)


@pytest.fixture
def reversed_extractor():
    EXTRACTORS.register(Reversed.name, Reversed)
    yield Reversed
    EXTRACTORS.unregister(Reversed.name)


def test_a_new_extractor_plugs_in_by_registering(reversed_extractor):
    from promptmine.mining.counting import PairIndex, mine_batch
    from promptmine.mining.corpus import Sentence
    from promptmine.models.parser import load_parser
    from promptmine.mining.sharded import MiningJob

    assert extractors.resolve(["test-reversed"]) == ("test-reversed",)
    assert not extractors.needs_parse(["test-reversed"])
    sentences = [Sentence(pos=(0, 1, 0), text="Paris is the capital of France.")]
    assert extractors.names()[-1] == "test-reversed"  # registered last, last on a tie
    counts = mine_batch(sentences, PairIndex(PAIRS), load_parser(parse=False),
                        MiningSettings(methods=["middle", "test-reversed"]))
    assert sorted((m, t) for _, m, t in counts.templates) == [
        ("middle", "[Y] is the capital of [X]."), ("test-reversed", "[X]. of capital the is [Y]")]
    # the fingerprint follows the registry: the new extractor's module is hashed, unchosen ones are not
    files = MiningJob(PAIRS, MiningSettings(methods=("test-reversed",))).code_files()
    assert Path(__file__) in files and Path(extractors.base.__file__) in files
    assert Path(extractors.middle.__file__) not in files and Path(extractors.dependency.__file__) not in files
    assert {"counting.py", "corpus.py", "match.py", "records.py"} <= {p.name for p in files}


def test_the_fingerprint_changes_with_the_chosen_extractors():
    from promptmine.mining.sharded import MiningJob

    middle = MiningJob(PAIRS, MiningSettings(methods=("middle",))).fingerprint()
    both = MiningJob(PAIRS, MiningSettings(methods=("middle", "dependency"))).fingerprint()
    assert middle["code"] != both["code"] and middle["methods"] == ["middle"]
    assert MiningJob(PAIRS, MiningSettings(methods=("middle",))).fingerprint() == middle


@pytest.fixture(scope="module")
def vocab():
    import spacy

    return spacy.blank("en").vocab


def make_doc(vocab, words, heads=None, deps=None):
    from spacy.tokens import Doc

    spaces = [i + 1 < len(words) and words[i + 1] not in {",", "."} for i in range(len(words))]
    return Doc(vocab, words=words, spaces=spaces, heads=heads, deps=deps)


# ------------------------------------------------------------------------------------ templates


def test_dependency_template_spans_the_path_beyond_the_middle_words(vocab):
    # The capital of France is Paris .   (a hand-written parse, so the answer is known)
    doc = make_doc(vocab, ["The", "capital", "of", "France", "is", "Paris", "."],
                   heads=[1, 4, 1, 2, 4, 4, 4], deps=["det", "nsubj", "prep", "pobj", "ROOT", "attr", "punct"])
    x, y = doc[3:4], doc[5:6]
    assert [t.text for t in dependency_path(x.root, y.root)] == ["France", "of", "capital", "is", "Paris"]
    dep = dependency_template(doc, x, y)
    assert dep.template == "The capital of [X] is [Y]." and keep(dep, MAX_WORDS)
    mid = middle_template(doc, x, y)
    assert mid.template == "[X] is [Y]."
    assert not keep(mid, MAX_WORDS)  # only stop words between the slots


def test_middle_and_dependency_templates_on_a_relative_clause(vocab):
    words = ["Mozart", ",", "who", "was", "born", "in", "Salzburg", ",", "composed", "operas", "."]
    doc = make_doc(vocab, words, heads=[8, 0, 4, 4, 0, 4, 5, 0, 8, 8, 8],
                   deps=["nsubj", "punct", "nsubjpass", "auxpass", "relcl", "prep", "pobj", "punct", "ROOT",
                         "dobj", "punct"])
    x, y = doc[0:1], doc[6:7]
    assert middle_template(doc, x, y).template == "[X], who was born in [Y]."
    # LPAQA's phrase keeps the whole stretch; the compact form keeps path words and their auxiliaries
    assert dependency_template(doc, x, y, compact=False).template == "[X], who was born in [Y]."
    assert dependency_template(doc, x, y).template == "[X] was born in [Y]."


def test_compact_dependency_template_drops_what_hangs_off_the_path(vocab):
    words = ["Mozart", "(", "born", "1756", "in", "Salzburg", ")", "wrote", "operas"]
    doc = make_doc(vocab, words, heads=[7, 2, 0, 2, 2, 4, 2, 7, 7],
                   deps=["nsubj", "punct", "acl", "npadvmod", "prep", "pobj", "punct", "ROOT", "dobj"])
    x, y = doc[0:1], doc[5:6]
    # the bracket left open by the cut is dropped
    assert middle_template(doc, x, y).template == "[X] born 1756 in [Y]."
    assert dependency_template(doc, x, y, compact=False).template == "[X] born 1756 in [Y]."
    assert dependency_template(doc, x, y).template == "[X] born in [Y]."


def test_compact_form_keeps_grammar_on_the_path(vocab):
    # "X is an American car which was produced by the automaker Y ."
    words = ["Edsel", "is", "an", "American", "car", "which", "was", "produced", "by", "the", "automaker", "Ford", "."]
    doc = make_doc(vocab, words, heads=[1, 1, 4, 4, 1, 7, 7, 4, 7, 10, 8, 10, 1],
                   deps=["nsubj", "ROOT", "det", "amod", "attr", "nsubjpass", "auxpass", "relcl", "agent", "det",
                         "pobj", "appos", "punct"])
    # path Edsel-is-car-produced-by-automaker-Ford; "American" hangs off it, "an" becomes "a",
    # the relative clause on "car" becomes the reduced relative
    assert dependency_template(doc, doc[0:1], doc[11:12]).template == "[X] is a car produced by the automaker [Y]."
    # "X is a footballer who plays as a Y": no auxiliary, so the relative pronoun stays
    words = ["Kane", "is", "a", "footballer", "who", "plays", "as", "a", "striker"]
    doc = make_doc(vocab, words, heads=[1, 1, 3, 1, 5, 3, 5, 8, 6],
                   deps=["nsubj", "ROOT", "det", "attr", "nsubj", "relcl", "prep", "det", "pobj"])
    assert dependency_template(doc, doc[0:1], doc[8:9]).template == "[X] is a footballer who plays as a [Y]."
    # coordinated verbs keep their "and"
    words = ["Doom", "was", "developed", "and", "published", "by", "id"]
    doc = make_doc(vocab, words, heads=[2, 2, 2, 2, 2, 4, 5],
                   deps=["nsubjpass", "auxpass", "ROOT", "cc", "conj", "agent", "pobj"])
    assert dependency_template(doc, doc[0:1], doc[6:7]).template == "[X] was developed and published by [Y]."
    # ... but a coordinated preposition does not: "a member of NATO and of the EU"
    words = ["Norway", "is", "a", "member", "of", "NATO", "and", "of", "EFTA"]
    doc = make_doc(vocab, words, heads=[1, 1, 3, 1, 3, 4, 4, 4, 7],
                   deps=["nsubj", "ROOT", "det", "attr", "prep", "pobj", "cc", "conj", "pobj"])
    assert dependency_template(doc, doc[0:1], doc[8:9]).template == "[X] is a member of [Y]."


def test_the_attached_to_a_mention_belongs_to_the_slot(vocab):
    from promptmine.mining.extractors import templates

    words = ["Norway", "is", "a", "member", "of", "the", "European", "Union"]
    doc = make_doc(vocab, words, heads=[1, 1, 3, 1, 3, 7, 7, 4],
                   deps=["nsubj", "ROOT", "det", "attr", "prep", "det", "compound", "pobj"])
    text = doc.text
    y = (text.index("European"), len(text))
    found = dict(templates(doc, (0, 6), y))
    assert found["middle"].template == found["dependency"].template == "[X] is a member of [Y]."


def test_object_first_templates_are_kept_and_capitalised(vocab):
    doc = make_doc(vocab, ["Berlin", "is", "the", "capital", "of", "Germany", "."])
    mid = middle_template(doc, doc[5:6], doc[0:1])
    assert mid.template == "[Y] is the capital of [X]." and keep(mid, MAX_WORDS)
    doc = make_doc(vocab, ["in", "Ulm", "was", "born", "Einstein"])
    assert middle_template(doc, doc[4:5], doc[1:2]).template == "[Y] was born [X]."


def test_no_dependency_template_across_sentences(vocab):
    doc = make_doc(vocab, ["Rome", "is", "old", ".", "Italy", "is", "big", "."],
                   heads=[1, 1, 1, 1, 5, 5, 5, 5], deps=["nsubj", "ROOT", "acomp", "punct"] * 2)
    assert dependency_path(doc[4], doc[0]) is None
    assert dependency_template(doc, doc[4:5], doc[0:1]) is None


def test_unmatched_brackets_and_quotes_are_dropped(vocab):
    doc = make_doc(vocab, ['"', "Help", "!", '"', "is", "a", "song", "by", "the", "Beatles", "(", "1965", ")"])
    assert middle_template(doc, doc[1:2], doc[9:10]).template == "[X]! is a song by the [Y]."
    doc = make_doc(vocab, ["Turing", "(", "a", "logician", ")", "worked", "at", "Manchester"])
    assert middle_template(doc, doc[0:1], doc[7:8]).template == "[X] (a logician) worked at [Y]."


def test_templates_over_ten_words_are_dropped(vocab):
    words = ["Ada"] + "then very slowly walked all the long way home to beautiful".split() + ["London"]
    doc = make_doc(vocab, words)
    ex = middle_template(doc, doc[0:1], doc[len(words) - 1:])
    assert ex.words == 11 and not keep(ex, MAX_WORDS)
    assert keep(ex, max_words=11)
