"""Reading inputs: a UTF-8 BOM is accepted; malformed pair lines have one policy (skip and report,
or stop with strict)."""

import gzip
import json

import pytest

from promptmine.core.errors import InputError
from promptmine.core.io import iter_jsonl, iter_lines, open_text, read_pairs, read_templates

BOM = "\ufeff"


def write(path, text, bom=True):
    path.write_bytes(((BOM if bom else "") + text).encode("utf-8"))
    return path


def test_bom_is_accepted_in_every_reader(tmp_path):
    pairs = write(tmp_path / "p.jsonl", '{"sub_label": "France", "obj_label": "Paris"}\n'
                                        '{"sub_label": "Japan", "obj_label": "Tokyo"}\n')
    assert [p.subject for p in read_pairs(pairs, strict=True)] == ["France", "Japan"]
    tsv = write(tmp_path / "p.tsv", "France\tParis\nJapan\tTokyo\n")
    assert [p.subject for p in read_pairs(tsv, strict=True)] == ["France", "Japan"]
    rels = write(tmp_path / "r.jsonl", '{"relation": "P36", "template": "The capital of [X] is [Y] ."}\n')
    assert read_templates(rels) == [("P36", "The capital of [X] is [Y] .")]
    txt = write(tmp_path / "t.txt", "[X] was born in [Y] .\n")
    assert read_templates(txt) == [(None, "[X] was born in [Y] .")]
    assert [line for _, line in iter_lines(txt)] == ["[X] was born in [Y] ."]
    assert [obj for _, obj in iter_jsonl(pairs)][0]["sub_label"] == "France"
    gz = tmp_path / "c.txt.gz"
    gz.write_bytes(gzip.compress((BOM + "first line\n").encode()))
    assert list(iter_lines(gz)) == [(1, "first line")]
    with open_text(gz) as f:
        assert f.read() == "first line\n"
    with open_text(txt) as f:
        assert f.read().startswith("[X]")


def test_bom_only_at_the_start(tmp_path):
    """A BOM-like character inside the file is content, not a marker."""
    path = write(tmp_path / "t.txt", "a\n" + BOM + "b\n", bom=False)
    assert [line for _, line in iter_lines(path)] == ["a", BOM + "b"]


def _mixed(tmp_path):
    lines = [json.dumps({"sub_label": f"S{i}", "obj_label": f"O{i}"}) for i in range(3)]
    bad = ["not json", '{"sub_label": "only subject"}', "[1, 2]", "{broken", '{"obj_label": "x"}', '"str"', "{{"]
    path = tmp_path / "facts.jsonl"
    path.write_text("\n".join(lines[:1] + bad + lines[1:]) + "\n", encoding="utf-8")
    return path, len(bad)


def test_malformed_pair_lines_are_skipped_and_reported_with_a_count(tmp_path, capsys):
    path, n_bad = _mixed(tmp_path)
    pairs = read_pairs(path)
    assert [p.subject for p in pairs] == ["S0", "S1", "S2"]
    err = capsys.readouterr().err
    assert f"{path}:2: malformed JSON" in err  # file:line of the first ones
    assert err.count("skipped ") == 5 + 1  # the first five one by one, then the count
    assert f"skipped {n_bad} malformed pair lines" in err
    assert f"{path}:8" not in err


def test_one_malformed_line_is_worded_in_the_singular(tmp_path, capsys):
    path = tmp_path / "facts.tsv"
    path.write_text("France\tParis\nno tab here\n", encoding="utf-8")
    assert len(read_pairs(path)) == 1
    err = capsys.readouterr().err
    assert f"{path}:2: expected `subject<TAB>object`" in err and "skipped 1 malformed pair line;" in err


def test_strict_stops_at_the_first_malformed_line(tmp_path):
    path, _ = _mixed(tmp_path)
    with pytest.raises(InputError, match=r"facts\.jsonl:2: malformed JSON"):
        read_pairs(path, strict=True)


def test_on_error_receives_the_skipped_lines_and_nothing_is_printed(tmp_path, capsys):
    path, n_bad = _mixed(tmp_path)
    seen = []
    assert len(read_pairs(path, on_error=seen.append)) == 3
    assert len(seen) == n_bad and all(isinstance(e, InputError) for e in seen)
    assert [e.line for e in seen] == list(range(2, 2 + n_bad))
    assert capsys.readouterr().err == ""


def test_undecodable_pair_lines_follow_the_same_policy(tmp_path, capsys):
    path = tmp_path / "facts.tsv"
    path.write_bytes(b"France\tParis\n\xff\xfe\tbad\nJapan\tTokyo\n")
    assert [p.subject for p in read_pairs(path)] == ["France", "Japan"]
    assert f"{path}:2: undecodable bytes" in capsys.readouterr().err
    with pytest.raises(InputError, match="undecodable"):
        read_pairs(path, strict=True)
