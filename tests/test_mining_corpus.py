"""Corpus readers (`promptmine.mining.corpus`): sentence splitting, folders, .txt/.gz/JSONL, bad lines and bytes."""

import gzip
from pathlib import Path

import pytest

from promptmine.mining.corpus import corpus_files, iter_corpus, split_sentences
from promptmine.mining.settings import MiningSettings
from promptmine.core.errors import InputError

TEXT = MiningSettings.default("text_field")


FIX = Path(__file__).resolve().parent / "fixtures"


# -------------------------------------------------------------------------------------- readers


def test_split_sentences_keeps_abbreviations_initials_and_decimals():
    text = ("Dr. Smith met J. R. R. Tolkien in Oxford. It lasted 2.5 hours at St. Giles. "
            "\"Then they left.\" The U.S. Army arrived.")
    assert split_sentences(text) == ["Dr. Smith met J. R. R. Tolkien in Oxford.", "It lasted 2.5 hours at St. Giles.",
                                     "\"Then they left.\"", "The U.S. Army arrived."]


def test_iter_corpus_reads_folders_txt_gz_and_jsonl_in_order():
    sentences = list(iter_corpus([FIX / "folder"], text_field=TEXT))
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
    texts = [s.text for s in iter_corpus([FIX / "bad.jsonl"], errors.append, text_field=TEXT)]
    assert texts == ["Emmy Noether was born in Erlangen.", "Lise Meitner was born in Vienna."]
    assert [(Path(e.path).name, e.line) for e in errors] == [("bad.jsonl", 2), ("bad.jsonl", 3), ("bad.jsonl", 4)]
    assert "malformed JSON" in str(errors[0]) and "`text`" in str(errors[1]) and "int" in str(errors[2])
    with pytest.raises(InputError, match=r"bad\.jsonl:2: malformed JSON"):
        list(iter_corpus([FIX / "bad.jsonl"], text_field=TEXT))


def test_undecodable_bytes_are_skipped_or_raised():
    errors = []
    texts = [s.text for s in iter_corpus([FIX / "bad_bytes.txt"], errors.append, text_field=TEXT)]
    assert texts == ["Enrico Fermi was born in Rome.", "Max Planck was born in Kiel."]
    assert len(errors) == 1 and errors[0].line == 2
    with pytest.raises(InputError, match=r"bad_bytes\.txt:2: undecodable bytes"):
        list(iter_corpus([FIX / "bad_bytes.txt"], text_field=TEXT))


def test_missing_paths_empty_folders_and_truncated_gzip(tmp_path):
    with pytest.raises(InputError, match="no such corpus file"):
        list(iter_corpus([tmp_path / "nope.txt"], text_field=TEXT))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no corpus files"):
        list(iter_corpus([tmp_path / "empty"], text_field=TEXT))
    data = gzip.compress(("A sentence about nothing.\n" * 2000).encode())
    (tmp_path / "cut.txt.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="cut.txt.gz: corrupt or truncated gzip"):
        list(iter_corpus([tmp_path / "cut.txt.gz"], text_field=TEXT))
    errors = []
    assert len(list(iter_corpus([tmp_path / "cut.txt.gz"], errors.append, text_field=TEXT))) < 2000 and len(errors) == 1
