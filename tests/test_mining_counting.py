"""Per-batch mining (`promptmine.mining.counting`): the pair index and mergeable batch counts."""

import json
from pathlib import Path

import pytest

from promptmine.mining.corpus import iter_corpus
from promptmine.mining import MineCounts, MiningSettings, PairIndex, mine, mine_batch, rank
from promptmine.core.records import Pair


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def nlp():
    from promptmine.models.parser import load_parser

    return load_parser(parse=True)


# -------------------------------------------------------------------------------------- matching


def test_pair_index_needs_subject_and_object_of_the_same_pair():
    index = PairIndex([Pair(subject="France", object="Paris", relation="P36"),
                       Pair(subject="Italy", object="Rome", relation="P36"),
                       Pair(subject="Marie Curie", object="Warsaw", relation="P19"),
                       Pair(subject="Poland", object="Warsaw", relation="P36")])
    assert index.hits("Paris and Rome are capitals.") == []  # objects of two pairs, no subject
    hits = index.hits("Marie Curie was born in Warsaw, the capital of poland.")
    assert [index.pairs[i].relation for i, _, _ in hits] == ["P19", "P36"]  # one pass, two relations
    text = "Paris is in France, as is the old town of Paris."
    [(i, xs, ys)] = index.hits(text)
    assert text[slice(*xs)] == "France" and ys == (0, 5)  # closest occurrence of the object
    with pytest.raises(ValueError, match="no relation"):
        PairIndex([Pair(subject="a", object="b")])


def test_batches_merge_to_the_same_result_in_any_order(nlp):
    pairs = [Pair(subject=d["sub_label"], object=d["obj_label"], relation=d["predicate_id"])
             for d in map(json.loads, (ROOT / "corpora" / "sample_pairs.jsonl").read_text().splitlines())]
    corpus = [ROOT / "corpora" / "sample_corpus.txt"]
    whole = mine(corpus, pairs, nlp=nlp)
    small = mine(corpus, pairs, nlp=nlp, chunk=7)
    assert whole.candidates == small.candidates
    settings = MiningSettings()
    sentences = list(iter_corpus(corpus, text_field=settings.text_field))
    index = PairIndex(pairs)
    parts = [mine_batch(sentences[i:i + 50], index, nlp) for i in range(0, len(sentences), 50)]
    backwards = MineCounts()
    for part in reversed(parts):
        backwards.merge(part)
    assert rank(backwards, settings.top) == whole.candidates
