"""scripts/benchdata.py, the benchmarks' one reader of ../shared/data, on a tiny folder of the same layout."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import benchdata as bd  # noqa: E402


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "\n", encoding="utf-8")  # a blank last line


def fact(rel: str, i: int, evidences=()) -> dict:
    return {"sub_label": f"S{i}", "obj_label": f"O{i % 3}", "predicate_id": rel, "evidences": list(evidences)}


@pytest.fixture
def data(tmp_path):
    write_jsonl(tmp_path / "lama" / "relations.jsonl", [
        {"relation": "P19", "template": "[X] was born in [Y] ."},
        {"relation": "P20", "template": "[X] died in [Y] ."},
        {"relation": "P166", "template": "[X] was awarded the [Y] ."}])
    ev = {"sub_surface": "S0", "obj_surface": "Rome", "masked_sentence": "S0 was born in\n[MASK]  in 1900."}
    write_jsonl(tmp_path / "trex" / "test" / "P19.jsonl", [fact("P19", 0, [ev, ev])] + [fact("P19", i) for i in range(1, 11)])
    write_jsonl(tmp_path / "trex" / "test" / "P20.jsonl", [fact("P20", i) for i in range(4)])
    write_jsonl(tmp_path / "trex" / "test" / "P101.jsonl", [fact("P101", i) for i in range(4)])  # no manual template
    write_jsonl(tmp_path / "trex" / "train" / "P19.jsonl", [fact("P19", i) for i in range(100, 120)])
    write_jsonl(tmp_path / "trex" / "train" / "P101.jsonl", [fact("P101", i) for i in range(100, 104)])
    write_jsonl(tmp_path / "agnews" / "test.jsonl", [{"text": f"news {i}", "label": "world"} for i in range(10)])
    return tmp_path


def test_reading_lama_and_trex(data):
    assert bd.read_jsonl(data / "trex" / "test" / "P20.jsonl")[3]["sub_label"] == "S3"  # blank lines skipped
    assert bd.manual_templates(data) == {"P19": "[X] was born in [Y] .", "P20": "[X] died in [Y] .",
                                         "P166": "[X] was awarded the [Y] ."}
    # by number; P20 has no training facts, P101 no manual template
    assert bd.relations_with_data(data, bd.manual_templates(data)) == ["P19"]
    assert [f["predicate_id"] for f in bd.iter_trex(data, "test")][:5] == ["P101"] * 4 + ["P19"]  # files by name
    first = next(f for f in bd.iter_trex(data) if f["evidences"])
    assert bd.evidence_sentences(first) == ["S0 was born in Rome in 1900."] * 2
    assert [(p.subject, p.object, p.relation) for p in bd.pairs(bd.trex_facts(data, "test", "P20")[:1], "P20")] == \
        [("S0", "O0", "P20")]
    assert "P166" not in bd.TREX_41 and "P19" in bd.TREX_41 and len(bd.TREX_41) == 41


def test_seeded_halves_and_samples_are_stable_and_nested(data):
    half_a, half_b = bd.halves(data, "P19", seed=0)
    assert (len(half_a), len(half_b)) == (5, 6)
    assert sorted(f["sub_label"] for f in half_a + half_b) == sorted(f"S{i}" for i in range(11))
    assert bd.halves(data, "P19", seed=0) == (half_a, half_b)
    assert bd.halves(data, "P19", seed=1) != (half_a, half_b)
    everything = bd.test_sample(half_b, "P19", seed=0, n=0)
    assert sorted(map(str, everything)) == sorted(map(str, half_b))
    assert bd.test_sample(half_b, "P19", seed=0, n=3) == everything[:3]  # a larger sample extends a smaller one
    assert bd.test_sample(half_b, "P19", seed=0, n=2, skip=3) == everything[3:5]
    train, available = bd.train_sample(data, "P19", seed=0, n=5)
    assert available == 20 and len(train) == 5 and train == bd.train_sample(data, "P19", seed=0, n=0)[0][:5]


def test_task_split_holds_out_a_seeded_part(data):
    pool, held = bd.task_splits("agnews", ["text"], heldout=3, seed=0, data=data)
    assert len(pool) == 7 and len(held) == 3 and not {e.text for e in pool} & {e.text for e in held}
    assert bd.task_splits("agnews", ["text"], heldout=3, seed=0, data=data) == (pool, held)
    assert [p.name for p in bd.task_files("sst2", data)] == ["train.jsonl", "dev.jsonl"]


def test_missing_data_is_said_with_the_paths(data, capsys):
    assert not bd.missing("bench_x", bd.trex_dir(data, "test"), bd.relations_file(data))
    assert capsys.readouterr().err == ""
    gone = data / "elsewhere"
    assert bd.missing("bench_x", bd.trex_dir(gone, "test"), bd.relations_file(data))
    err = capsys.readouterr().err
    assert err.startswith("bench_x: the shared data is missing") and str(gone / "trex" / "test") in err
    assert str(bd.relations_file(data)) not in err and "--data" in err
    (data / "sst2").mkdir()  # a folder without its files is missing too
    assert bd.missing("bench_task", *bd.task_files("sst2", data), hint=None, then="sst2 skipped")
    assert "sst2 skipped" in capsys.readouterr().err
