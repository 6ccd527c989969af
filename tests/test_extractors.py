"""Template extractors as a registry: each declares whether it needs the dependency parse (so
mining loads spaCy's parser only when one does), a new one plugs in by registering, and the shard
fingerprint hashes the chosen extractors' modules plus the mining core."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptmine.mining import extractors
from promptmine.core.records import Pair
from promptmine.mining.extractors.base import Extractor, register, render

PAIRS = [Pair(subject="France", object="Paris", relation="P36"), Pair(subject="Japan", object="Tokyo", relation="P36")]


def test_the_built_in_extractors_and_what_they_need():
    assert extractors.names()[:2] == ("middle", "dependency")
    assert not extractors.needs_parse(["middle"]) and extractors.needs_parse(["middle", "dependency"])
    assert extractors.resolve(["dependency"]) == ("dependency",)
    for bad in (["middle", "magic"], []):
        with pytest.raises(ValueError, match="unknown mining method"):
            extractors.resolve(bad)


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
    job = MiningJob(PAIRS, methods=methods)
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
    register(Reversed)
    yield Reversed
    extractors.REGISTRY.pop(Reversed.name)


def test_a_new_extractor_plugs_in_by_registering(reversed_extractor):
    from promptmine.mining.counting import PairIndex, mine_batch
    from promptmine.mining.corpus import Sentence
    from promptmine.models.parser import load_parser
    from promptmine.mining.sharded import MiningJob

    assert extractors.resolve(["test-reversed"]) == ("test-reversed",)
    assert not extractors.needs_parse(["test-reversed"])
    sentences = [Sentence(pos=(0, 1, 0), text="Paris is the capital of France.")]
    counts = mine_batch(sentences, PairIndex(PAIRS), load_parser(parse=False), methods=["middle", "test-reversed"])
    assert sorted((m, t) for _, m, t in counts.templates) == [
        ("middle", "[Y] is the capital of [X]."), ("test-reversed", "[X]. of capital the is [Y]")]
    # the fingerprint follows the registry: the new extractor's module is hashed, unchosen ones are not
    files = MiningJob(PAIRS, methods=("test-reversed",)).code_files()
    assert Path(__file__) in files and Path(extractors.base.__file__) in files
    assert Path(extractors.middle.__file__) not in files and Path(extractors.dependency.__file__) not in files
    assert {"counting.py", "corpus.py", "match.py", "records.py"} <= {p.name for p in files}


def test_the_fingerprint_changes_with_the_chosen_extractors():
    from promptmine.mining.sharded import MiningJob

    middle = MiningJob(PAIRS, methods=("middle",)).fingerprint()
    both = MiningJob(PAIRS, methods=("middle", "dependency")).fingerprint()
    assert middle["code"] != both["code"] and middle["methods"] == ["middle"]
    assert MiningJob(PAIRS, methods=("middle",)).fingerprint() == middle
