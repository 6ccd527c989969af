"""Corpus mining: readers, template extraction on known parses, counting/ranking, CLI and bad input."""

import gzip
import json
from pathlib import Path

import pytest

from promptmine.cli import main
from promptmine.mining.corpus import corpus_files, iter_corpus, split_sentences
from promptmine.core.errors import InputError
from promptmine.mining.extractors import keep
from promptmine.mining.extractors.dependency import dependency_path, dependency_template
from promptmine.mining.extractors.middle import middle_template
from promptmine.mining import MineCounts, PairIndex, mine, mine_batch, rank
from promptmine.core.records import Pair

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def vocab():
    import spacy

    return spacy.blank("en").vocab


@pytest.fixture(scope="module")
def nlp():
    from promptmine.models.parser import load_parser

    return load_parser(parse=True)


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
    assert dep.template == "The capital of [X] is [Y]." and keep(dep)
    mid = middle_template(doc, x, y)
    assert mid.template == "[X] is [Y]."
    assert not keep(mid)  # only stop words between the slots


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
    assert mid.template == "[Y] is the capital of [X]." and keep(mid)
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
    assert ex.words == 11 and not keep(ex)
    assert keep(ex, max_words=11)


# -------------------------------------------------------------------------------------- readers


def test_split_sentences_keeps_abbreviations_initials_and_decimals():
    text = ("Dr. Smith met J. R. R. Tolkien in Oxford. It lasted 2.5 hours at St. Giles. "
            "\"Then they left.\" The U.S. Army arrived.")
    assert split_sentences(text) == ["Dr. Smith met J. R. R. Tolkien in Oxford.", "It lasted 2.5 hours at St. Giles.",
                                     "\"Then they left.\"", "The U.S. Army arrived."]


def test_iter_corpus_reads_folders_txt_gz_and_jsonl_in_order():
    sentences = list(iter_corpus([FIX / "folder"]))
    names = [p.name for p in corpus_files([FIX / "folder"])]
    assert names == ["a.txt", "c.txt.gz", "b.jsonl"]  # sorted paths; notes.md is not a corpus file
    texts = [s.text for s in sentences]
    assert texts[0] == "Ada Lovelace was born in London."
    # the long paragraph line is split; its parts share the line number
    para = [s for s in sentences if s.pos[:2] == (0, 3)]
    assert [s.pos[2] for s in para] == [0, 1, 2, 3]
    assert para[2].text == "Alan Turing was born in Maida Vale."
    assert texts[-3:] == ["Niels Bohr was born in Copenhagen.", "Grace Hopper was born in New York City.",
                          "Kurt Gödel was born in Brno."]
    assert sentences == sorted(sentences)  # positions follow corpus order


def test_bad_lines_are_skipped_with_their_place_or_raised_when_strict():
    errors = []
    texts = [s.text for s in iter_corpus([FIX / "bad.jsonl"], errors.append)]
    assert texts == ["Emmy Noether was born in Erlangen.", "Lise Meitner was born in Vienna."]
    assert [(Path(e.path).name, e.line) for e in errors] == [("bad.jsonl", 2), ("bad.jsonl", 3), ("bad.jsonl", 4)]
    assert "malformed JSON" in str(errors[0]) and "`text`" in str(errors[1]) and "int" in str(errors[2])
    with pytest.raises(InputError, match=r"bad\.jsonl:2: malformed JSON"):
        list(iter_corpus([FIX / "bad.jsonl"]))


def test_undecodable_bytes_are_skipped_or_raised():
    errors = []
    texts = [s.text for s in iter_corpus([FIX / "bad_bytes.txt"], errors.append)]
    assert texts == ["Enrico Fermi was born in Rome.", "Max Planck was born in Kiel."]
    assert len(errors) == 1 and errors[0].line == 2
    with pytest.raises(InputError, match=r"bad_bytes\.txt:2: undecodable bytes"):
        list(iter_corpus([FIX / "bad_bytes.txt"]))


def test_missing_paths_empty_folders_and_truncated_gzip(tmp_path):
    with pytest.raises(InputError, match="no such corpus file"):
        list(iter_corpus([tmp_path / "nope.txt"]))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no corpus files"):
        list(iter_corpus([tmp_path / "empty"]))
    data = gzip.compress(("A sentence about nothing.\n" * 2000).encode())
    (tmp_path / "cut.txt.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.txt.gz: corrupt or truncated gzip"):
        list(iter_corpus([tmp_path / "cut.txt.gz"]))
    errors = []
    assert len(list(iter_corpus([tmp_path / "cut.txt.gz"], errors.append))) < 2000 and len(errors) == 1


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


# ---------------------------------------------------------------------------------------- mining


def _p19_pairs():
    return [Pair(subject=d["sub_label"], object=d["obj_label"], relation=d["predicate_id"])
            for d in map(json.loads, (FIX / "pairs.jsonl").read_text().splitlines())]


def test_mine_counts_distinct_pairs_across_files_and_formats(nlp):
    result = mine([FIX / "folder"], _p19_pairs(), nlp=nlp)
    [best, *_] = result.candidates["P19"]
    assert best.template == "[X] was born in [Y]."
    assert (best.pairs, best.sentences) == (5, 5)  # txt, split paragraph, gz and jsonl (Gödel) all matched
    assert best.examples[0] == "Ada Lovelace was born in London."
    assert {m for (_, m, t) in result.counts.templates if t == best.template} == {"middle", "dependency"}
    s = result.stats
    assert (s["sentences_matched"], s["sentences_parsed"], s["mentions"], s["skipped_lines"]) == (5, 5, 5, 0)


def test_mine_ranks_by_distinct_pairs_not_sentences(nlp, tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("Rome lies in the heart of Italy.\n" * 3
                      + "Paris is the capital of France.\nRome is the capital of Italy.\n")
    pairs = [Pair(subject="France", object="Paris", relation="P36"), Pair(subject="Italy", object="Rome", relation="P36")]
    cands = mine([corpus], pairs, nlp=nlp, methods=("middle",), min_pairs=1).candidates["P36"]
    assert [(c.template, c.pairs, c.sentences) for c in cands] == [
        ("[Y] is the capital of [X].", 2, 2), ("[Y] lies in the heart of [X].", 1, 3)]
    # by default a template needs two distinct pairs, however many sentences it was seen in
    result = mine([corpus], pairs, nlp=nlp, methods=("middle",))
    assert [c.template for c in result.candidates["P36"]] == ["[Y] is the capital of [X]."]
    assert result.stats["removed_support"] == 1


def test_a_template_found_by_both_methods_counts_the_union_of_their_pairs():
    from promptmine.mining import TemplateCount

    counts = MineCounts()
    counts.templates[("P1", "middle", "[X] owns [Y].")] = TemplateCount({1, 2}, 2, [((0, 1, 0), "s1")])
    counts.templates[("P1", "dependency", "[X] owns [Y].")] = TemplateCount({2, 3, 4}, 2, [((0, 0, 0), "s0")])
    counts.templates[("P1", "middle", "[X] sold [Y].")] = TemplateCount({5, 6, 7}, 5, [((0, 2, 0), "s2")])
    [a, b] = rank(counts, 40)["P1"]
    assert (a.template, a.pairs, a.sentences, a.method, a.examples) == ("[X] owns [Y].", 4, 4, "dependency", ["s0", "s1"])
    assert (b.template, b.pairs, b.sentences) == ("[X] sold [Y].", 3, 5)
    assert [c.template for c in rank(counts, 1)["P1"]] == ["[X] owns [Y]."]


def test_variants_of_one_phrasing_are_one_candidate_in_its_written_form():
    from promptmine.mining import TemplateCount

    counts = MineCounts()
    # the dependency path drops the hyphen's token; the middle words keep it
    counts.templates[("P1", "dependency", "[X] co founded [Y].")] = TemplateCount({1, 2, 3}, 3, [((0, 0, 0), "s0")])
    counts.templates[("P1", "middle", "[X] co-founded [Y].")] = TemplateCount({3, 4}, 2, [((0, 1, 0), "s1")])
    counts.templates[("P1", "middle", "[X] co-founded the [Y].")] = TemplateCount({5}, 1, [((0, 2, 0), "s2")])
    counts.templates[("P1", "middle", "[X] founded [Y].")] = TemplateCount({1, 6}, 2, [((0, 3, 0), "s3")])
    removed: dict = {}
    [a, b] = rank(counts, 40, removed=removed)["P1"]
    assert (a.template, a.pairs, a.sentences, a.method) == ("[X] co-founded [Y].", 5, 6, "middle")  # 3 pairs each
    assert (b.template, b.pairs) == ("[X] founded [Y].", 2)
    assert removed == {"merged_variants": 2, "function_words": 0, "fillers": 0, "support": 0}


def test_filters_remove_junk_and_thin_support_and_count_it():
    from promptmine.mining import TemplateCount

    counts = MineCounts()
    for n, t in enumerate(["[X] July [Y].", "[X] Hiroshi born in [Y].", "[X] is in the [Y].", "[X] plays for [Y].",
                           "[X] played for [Y]."]):
        counts.templates[("P1", "middle", t)] = TemplateCount({10 * n, 10 * n + 1} if n < 4 else {99}, 2, [])
    removed: dict = {}
    assert [c.template for c in rank(counts, 40, removed=removed)["P1"]] == ["[X] plays for [Y]."]
    assert removed == {"merged_variants": 0, "function_words": 1, "fillers": 2, "support": 1}
    assert [c.template for c in rank(counts, 40, min_pairs=1)["P1"]] == ["[X] plays for [Y].", "[X] played for [Y]."]


def test_batches_merge_to_the_same_result_in_any_order(nlp):
    pairs = [Pair(subject=d["sub_label"], object=d["obj_label"], relation=d["predicate_id"])
             for d in map(json.loads, (ROOT / "corpora" / "sample_pairs.jsonl").read_text().splitlines())]
    corpus = [ROOT / "corpora" / "sample_corpus.txt"]
    whole = mine(corpus, pairs, nlp=nlp)
    small = mine(corpus, pairs, nlp=nlp, chunk=7)
    assert whole.candidates == small.candidates
    sentences = list(iter_corpus(corpus))
    index = PairIndex(pairs)
    parts = [mine_batch(sentences[i:i + 50], index, nlp) for i in range(0, len(sentences), 50)]
    backwards = MineCounts()
    for part in reversed(parts):
        backwards.merge(part)
    assert rank(backwards, 40) == whole.candidates


def test_bundled_sample_mines_real_templates(nlp):
    pairs = [Pair(subject=d["sub_label"], object=d["obj_label"], relation=d["predicate_id"])
             for d in map(json.loads, (ROOT / "corpora" / "sample_pairs.jsonl").read_text().splitlines())]
    result = mine([ROOT / "corpora" / "sample_corpus.txt"], pairs, nlp=nlp)
    top = {rel: [c.template for c in cands[:3]] for rel, cands in result.candidates.items()}
    # P106's templates in the sample are each seen with one pair only (or carry names): none kept
    assert set(top) == {"P19", "P36", "P37", "P463"}
    assert top["P19"][0] == "[X] was born in [Y]."
    assert "The capital of [X] is [Y]." in top["P36"]  # only the dependency path finds it
    assert "The official language of [X] is [Y]." in top["P37"]
    # folding: Coyoacán/Coyoacan, Málaga/Malaga and Brasília/Brasilia count as the same pair
    born = result.candidates["P19"][0]
    assert born.pairs == 30


# ------------------------------------------------------------------------------------------- CLI


def test_cli_writes_jsonl_for_one_relation(tmp_path, capsys):
    out = tmp_path / "out.jsonl"
    rc = main(["mine", "--corpus", str(ROOT / "corpora" / "sample_corpus.txt"), "--pairs",
               str(ROOT / "corpora" / "sample_pairs.jsonl"), "--relation", "P36", "--top", "5", "--out", str(out)])
    assert rc == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 5 and {r["relation"] for r in rows} == {"P36"}
    assert set(rows[0]) == {"relation", "template", "method", "pairs", "sentences", "examples"}
    assert [r["pairs"] for r in rows] == sorted((r["pairs"] for r in rows), reverse=True)
    err = capsys.readouterr().err
    assert "sentences read" in err and "matched" in err and "parsed" in err and "kept" in err


def test_cli_names_relation_after_pairs_file_and_prints_to_stdout(capsys):
    rc = main(["mine", "--corpus", str(FIX / "folder"), "--pairs", str(FIX / "pairs_plain.tsv"),
               "--methods", "middle"])
    assert rc == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == {"relation": "pairs_plain", "template": "[X] was born in [Y].", "method": "middle",
                       "pairs": 2, "sentences": 2,
                       "examples": ["Ada Lovelace was born in London.", "Niels Bohr was born in Copenhagen."]}


def test_cli_skips_bad_lines_or_stops_with_strict(tmp_path, capsys):
    pairs = tmp_path / "p.tsv"
    pairs.write_text("Enrico Fermi\tRome\nMax Planck\tKiel\n")
    out = tmp_path / "out.jsonl"
    assert main(["mine", "--corpus", str(FIX / "bad_bytes.txt"), "--pairs", str(pairs), "--default-relation", "P19",
                 "--methods", "middle", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "bad_bytes.txt:2" in err and "1 corpus line skipped" in err
    assert json.loads(out.read_text().splitlines()[0])["pairs"] == 2
    out2 = tmp_path / "strict.jsonl"
    assert main(["mine", "--corpus", str(FIX / "bad_bytes.txt"), "--pairs", str(pairs), "--strict",
                 "--methods", "middle", "--out", str(out2)]) == 1
    assert "bad_bytes.txt:2: undecodable bytes" in capsys.readouterr().err
    assert not out2.exists()


def test_cli_reports_bad_pairs_and_options(tmp_path, capsys):
    bad = tmp_path / "pairs.jsonl"
    bad.write_text('{"sub_label": "Ada Lovelace"}\n')
    assert main(["mine", "--corpus", str(FIX / "folder"), "--pairs", str(bad), "--strict"]) == 1
    assert "pairs.jsonl:1: missing field object" in capsys.readouterr().err
    assert main(["mine", "--corpus", str(FIX / "folder"), "--pairs", str(FIX / "pairs.jsonl"),
                 "--relation", "P999"]) == 1
    assert "unknown relation P999; it has P19" in capsys.readouterr().err
    assert main(["mine", "--corpus", str(FIX / "folder"), "--pairs", str(FIX / "pairs.jsonl"),
                 "--methods", "middle,magic"]) == 1
    assert "unknown mining method" in capsys.readouterr().err


def test_interrupted_run_leaves_no_output(tmp_path, monkeypatch, capsys):
    import promptmine.mining.miner

    out = tmp_path / "out.jsonl"
    out.write_text("previous result\n")

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(promptmine.mining.miner, "mine_batch", interrupted)
    assert main(["mine", "--corpus", str(FIX / "folder"), "--pairs", str(FIX / "pairs.jsonl"),
                 "--methods", "middle", "--out", str(out)]) == 130
    assert out.read_text() == "previous result\n"
    monkeypatch.undo()

    # interrupted while writing: the old file stays and no temporary file is left behind
    calls = {"n": 0}
    real_dumps = json.dumps

    def dumps_then_interrupt(obj, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_dumps(obj, **k)

    monkeypatch.setattr(json, "dumps", dumps_then_interrupt)  # the module is shared: write_jsonl sees it
    assert main(["mine", "--corpus", str(ROOT / "corpora" / "sample_corpus.txt"), "--methods", "middle",
                 "--out", str(out)]) == 130
    assert out.read_text() == "previous result\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_a_megabyte_line_without_a_sentence_end_is_skipped_with_its_file_and_line(tmp_path, caplog):
    corpus = tmp_path / "corpus.txt"
    long = "Mozart was born in Salzburg " + " ".join(["and so on"] * 120_000)  # ~1 MB, no full stop
    corpus.write_text("Mozart was born in Salzburg.\n" + long + "\nHaydn was born in Rohrau.\n")
    pairs = [Pair(subject="Mozart", object="Salzburg", relation="P19"), Pair(subject="Haydn", object="Rohrau", relation="P19")]
    result = mine([str(corpus)], pairs, top=5, methods=["middle"])  # no spaCy E088: the run goes on
    assert [c.template for c in result.candidates["P19"]] == ["[X] was born in [Y]."]
    assert f"{corpus}:2: a sentence of 1,200,027 characters (no sentence end within 10,000)" in caplog.text
