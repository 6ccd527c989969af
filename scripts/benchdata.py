"""The shared data the benchmarks read (`../shared/data`, beside the repository), read one way.

Every `scripts/bench_*.py` that measures on LAMA, T-REx or a task file takes from here its paths,
its "data is missing" message, its JSONL reading and its seeded samples, so two benchmarks that
say "bench_lpaqa's half-B test sample" score the same facts. Layout (see each folder's README):

    lama/relations.jsonl, lama/common_vocab_cased.txt    LAMA's relations (manual templates), vocabulary
    trex/test/P*.jsonl, trex/train/P*.jsonl               T-REx facts per relation (test: with evidences)
    sst2/{train,dev}.jsonl, agnews/test.jsonl, rte/{train,val}.jsonl    task examples

Benchmark scaffolding, not library code: nothing in `promptmine` reads `../shared`, so it lives
beside the scripts (each imports it as `benchdata`; `python scripts/bench_x.py` puts `scripts/` on
the path). promptmine is imported only inside the functions that build its records.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MISSING_EXIT = 2  # exit status of a benchmark whose data is missing

# The 41 T-REx relations of LAMA that LPAQA evaluates (trex/train has one file each; relations.jsonl
# lists 46 with P166, P69, P54, P1923 and P102 from outside them; trex/test has 28 of the 41).
TREX_41 = frozenset({
    "P1001", "P101", "P103", "P106", "P108", "P127", "P1303", "P131", "P136", "P1376", "P138", "P140", "P1412",
    "P159", "P17", "P176", "P178", "P19", "P190", "P20", "P264", "P27", "P276", "P279", "P30", "P31", "P36",
    "P361", "P364", "P37", "P39", "P407", "P413", "P449", "P463", "P47", "P495", "P527", "P530", "P740", "P937",
})


# -- paths and the missing-data message -----------------------------------------------------------

def relations_file(data: Path = DATA) -> Path:
    return data / "lama" / "relations.jsonl"


def common_vocab_file(data: Path = DATA) -> Path:
    """LAMA's common vocabulary (the masked scorer's `--vocab`, read by promptmine.models.score.masked)."""
    return data / "lama" / "common_vocab_cased.txt"


def trex_dir(data: Path = DATA, split: str = "test") -> Path:
    return data / "trex" / split


def missing(who: str, *paths: Path, hint: str | None = "pass --data DIR", then: str = "nothing to measure") -> bool:
    """Say on stderr which of `paths` is absent (a folder counts as absent without a .jsonl file) and
    return True, or return False when all are there. A benchmark with nothing left to measure then
    exits with MISSING_EXIT."""
    absent = [str(p) for p in paths
              if not (p.is_file() or (p.is_dir() and next(p.glob("*.jsonl"), None) is not None))]
    if absent:
        print(f"{who}: the shared data is missing ({', '.join(absent)}); {then}" + (f" ({hint})" if hint else ""),
              file=sys.stderr)
    return bool(absent)


# -- reading ------------------------------------------------------------------------------------

def read_jsonl(path: Path) -> list[dict]:
    """Every non-blank line of a JSONL file, parsed."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def lama_templates(path: Path) -> list[tuple[str, str]]:
    """(relation, manual template) of each line of a LAMA relations.jsonl, in file order (templates
    checked by promptmine's reader, errors as file:line)."""
    from promptmine.core.io import read_templates

    return read_templates(path)


def manual_templates(data: Path = DATA) -> dict[str, str]:
    """relation -> LAMA's manual template."""
    return dict(lama_templates(relations_file(data)))


def trex_facts(data: Path, split: str, rel: str) -> list[dict]:
    """One relation's T-REx facts of `split` (test or train), in file order."""
    return read_jsonl(trex_dir(data, split) / f"{rel}.jsonl")


def iter_trex(data: Path = DATA, split: str = "test") -> Iterator[dict]:
    """Every fact of every relation of `split`, files in name order (P101, P103, ..., P19, P20, ...)."""
    for path in sorted(trex_dir(data, split).glob("*.jsonl")):
        yield from read_jsonl(path)


def evidence_sentences(fact: dict) -> list[str]:
    """A fact's evidence sentences as a corpus has them: [MASK] replaced by the object's surface form,
    whitespace runs (newlines included) made single spaces."""
    return [" ".join(ev["masked_sentence"].replace("[MASK]", ev["obj_surface"]).split())
            for ev in fact.get("evidences", [])]


def relations_with_data(data: Path, manual: dict[str, str], first: int = 0) -> list[str]:
    """The T-REx test relations (by id, sorted by number) that have a manual template and training
    facts; the `first` N (0: all 28)."""
    rels = sorted((p.stem for p in trex_dir(data, "test").glob("P*.jsonl")), key=lambda r: int(r[1:]))
    rels = [r for r in rels if r in manual and (trex_dir(data, "train") / f"{r}.jsonl").exists()]
    return rels[:first] if first else rels


def pairs(facts: Sequence[dict], rel: str) -> list:
    """The facts' (sub_label, obj_label) as promptmine Pairs of relation `rel`."""
    from promptmine.core.records import Pair

    return [Pair(subject=f["sub_label"], object=f["obj_label"], relation=rel) for f in facts]


# -- bench_lpaqa's seeded samples (bench_scoring and bench_lpaqa_oracle score the same facts) ------

def sample(items: Sequence, n: int, seed: str) -> list:
    """The first `n` of `items` shuffled by `seed` (0: all, shuffled)."""
    items = list(items)
    random.Random(seed).shuffle(items)
    return items[:n] if n else items


def halves(data: Path, rel: str, seed: int) -> tuple[list[dict], list[dict]]:
    """A relation's test facts shuffled by `seed` and halved: (half A, the mining corpus's facts;
    half B, the facts evaluated on)."""
    facts = sample(trex_facts(data, "test", rel), 0, f"{seed}:{rel}:split")
    half = len(facts) // 2
    return facts[:half], facts[half:]


def test_sample(half_b: Sequence[dict], rel: str, seed: int, n: int = 30, skip: int = 0) -> list[dict]:
    """`n` facts (0: all) of half B after the first `skip` of its seeded order; that order is the same
    for every `n`, so a larger sample extends a smaller one."""
    test = sample(half_b, 0, f"{seed}:{rel}:test")[skip:]
    return test[:n] if n else test


def common_vocab(data: Path = DATA) -> set[str]:
    """LAMA's common vocabulary as a set of words: every LAMA T-REx test fact's object is one of them."""
    return {w.strip() for w in common_vocab_file(data).read_text(encoding="utf-8").splitlines() if w.strip()}


def train_sample(data: Path, rel: str, seed: int, n: int = 0, objects: set[str] | None = None
                 ) -> tuple[list[dict], int]:
    """(`n` training facts (0: all) in a seeded order, the number available). With `objects`, only the
    facts whose object is one of them: LAMA kept only facts whose object is in its common vocabulary,
    and trex/train did not (P136: 430 of 1,000; P463: 161), so filtering the same way makes the
    training facts the kind of fact the test asks about."""
    facts = trex_facts(data, "train", rel)
    if objects is not None:
        facts = [f for f in facts if f["obj_label"] in objects]
    return sample(facts, n, f"{seed}:{rel}:train"), len(facts)


# -- task files ---------------------------------------------------------------------------------

TASK_FILES = {  # task -> (selection and demonstration pool, held-out file; None: a seeded split of the pool)
    "sst2": ("sst2/train.jsonl", "sst2/dev.jsonl"),
    "rte": ("rte/train.jsonl", "rte/val.jsonl"),
    "agnews": ("agnews/test.jsonl", None),
}


def task_files(name: str, data: Path = DATA) -> list[Path]:
    return [data / f for f in TASK_FILES[name] if f is not None]


def task_splits(name: str, slots: Sequence[str], heldout: int, seed: int = 0, data: Path = DATA):
    """(pool examples, held-out examples) of a task, read by promptmine.tasks.read_task; a task with
    one file (AG News) holds out the first `heldout` of a `seed`ed order of its examples."""
    from promptmine.tasks import read_task

    pool_file, held_file = TASK_FILES[name]
    if held_file is not None:
        return read_task(data / pool_file, slots), read_task(data / held_file, slots)
    examples = read_task(data / pool_file, slots)
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    held = set(order[:heldout])
    return [e for i, e in enumerate(examples) if i not in held], [e for i, e in enumerate(examples) if i in held]
