"""A small corpus with known facts for mining tests: pairs of two relations, a text file, a gzipped
file and a JSONL file with filler, a paragraph, a blank line and bad lines, and a mining job that
fails on one shard (an interrupted run)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from promptmine.core.records import Pair
from promptmine.mining.sharded import MiningJob

PAIRS = [
    Pair(subject="Ada Lovelace", object="London", relation="P19"),
    Pair(subject="Alan Turing", object="Maida Vale", relation="P19"),
    Pair(subject="Marie Curie", object="Warsaw", relation="P19"),
    Pair(subject="France", object="Paris", relation="P36"),
    Pair(subject="Germany", object="Berlin", relation="P36"),
    Pair(subject="Japan", object="Tokyo", relation="P36"),
]

FACTS = [
    "Ada Lovelace was born in London.",
    "Alan Turing was born in Maida Vale, London.",
    "Marie Curie was born in Warsaw in 1867.",
    "The capital of France is Paris.",
    "Berlin is the capital of Germany.",
    "Tokyo is the capital of Japan.",
    "Marie Curie, who was born in Warsaw, studied in Paris.",
]
FILLER = "The committee met on a rainy Tuesday to discuss the budget."


def make_corpus(root: Path) -> list[Path]:
    """A text file (27 lines, the last one not UTF-8), a gzipped text file (11 lines) and a JSONL
    file (11 lines, one malformed and one without `text`), with filler, a long line and a blank one."""
    root.mkdir(parents=True, exist_ok=True)
    txt = root / "a.txt"
    lines = []
    for i in range(24):
        lines.append(FACTS[i % len(FACTS)] if i % 3 == 0 else f"{FILLER} Item {i}.")
    lines.insert(5, " ".join(FACTS[:4] + [FILLER] * 4))  # a paragraph: split into sentences
    lines.insert(9, "")
    txt.write_bytes(("\n".join(lines) + "\n").encode() + b"Caf\xe9 bytes that are not UTF-8.\n")
    gz = root / "b.txt.gz"
    with gzip.open(gz, "wt", encoding="utf-8") as f:
        for i in range(11):
            f.write((FACTS[(i + 2) % len(FACTS)] if i % 2 else FILLER) + "\n")
    js = root / "c.jsonl"
    rows = [json.dumps({"text": FACTS[i % len(FACTS)]}) for i in range(9)]
    rows.insert(3, "{not json")
    rows.insert(6, json.dumps({"title": "no text field"}))
    js.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return [txt, gz, js]


def rows(result) -> list[dict]:
    """A MineResult's candidates as the JSON rows `promptmine mine` writes."""
    return [c.to_json() for cands in result.candidates.values() for c in cands]


def counts(result) -> dict:
    """A MineResult's statistics without timings."""
    return {k: v for k, v in result.stats.items() if not k.endswith("seconds")}


class FailOnShard(MiningJob):
    """The real mining job, except that it raises on the shard of the first file starting at
    line `fail_start` (as if its worker were lost)."""

    def __init__(self, *args, fail_start: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fail_start = fail_start

    def process(self, shard, lines):
        if shard.file_index == 0 and shard.start == self.fail_start:
            raise RuntimeError("worker lost")
        return super().process(shard, lines)
