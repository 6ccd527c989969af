"""The miner (`promptmine.mining.miner`): counting/ranking over a corpus, the `mine` command and bad input."""

import json
from pathlib import Path

import pytest

from promptmine.cli import main
from promptmine.mining.extractors import keep
from promptmine.mining import MineCounts, mine, rank
from promptmine.core.records import Pair


ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def nlp():
    from promptmine.models.parser import load_parser

    return load_parser(parse=True)


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
