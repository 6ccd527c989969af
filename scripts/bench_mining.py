"""Benchmark `promptmine mine` on T-REx: how often LAMA's manual template is among the mined top 40.

Corpus: every T-REx test evidence sentence (`masked_sentence` with [MASK] replaced by
`obj_surface`), de-duplicated, all 28 relations mixed into one corpus as a real corpus would be.
Pairs: each relation's facts (`sub_label`, `obj_label`) -- never the evidence's surface forms.

Prints, from the same run:
- the plain baseline: middle-word templates, exact (case-sensitive, unfolded) label matching;
- promptmine's default: case-blind folded matching, middle-word + dependency templates;
- per relation the top templates and the rank of LAMA's manual template (normalised comparison);
- throughput: the whole default run vs spaCy parsing alone of the same matched sentences.

LAMA's manual templates are often not how Wikipedia phrases a fact, so the total is a comparison
between miners, not a target of 28. Needs ../shared/data (T-REx test split and LAMA relations).

    .venv/bin/python scripts/bench_mining.py [--data ../shared/data] [--top 40] [--show 3]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.mine import PairIndex, mine  # noqa: E402
from engine.records import Pair, normalize_text  # noqa: E402


def comparable(template: str) -> str:
    """Normalised form for comparing templates: spacing, case, final period."""
    return normalize_text(template).lower().rstrip(" .")


def build_corpus(data: Path, out) -> tuple[list[Pair], dict[str, str], int]:
    pairs: list[Pair] = []
    seen: set[str] = set()
    relations: set[str] = set()
    for path in sorted(glob.glob(str(data / "trex" / "test" / "*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for line in f:
                fact = json.loads(line)
                relations.add(fact["predicate_id"])
                pairs.append(Pair(subject=fact["sub_label"], object=fact["obj_label"], relation=fact["predicate_id"]))
                for ev in fact.get("evidences", []):
                    sentence = " ".join(ev["masked_sentence"].replace("[MASK]", ev["obj_surface"]).split())
                    if sentence not in seen:
                        seen.add(sentence)
                        out.write(sentence + "\n")
    manual = {}
    with open(data / "lama" / "relations.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            if r["relation"] in relations:
                manual[r["relation"]] = r["template"]
    return pairs, manual, len(seen)


def rank_of(manual: str, cands) -> int | None:
    target = comparable(manual)
    for n, c in enumerate(cands, 1):
        if comparable(c.template) == target:
            return n
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"), help="folder with trex/ and lama/")
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--show", type=int, default=3, help="top templates printed per relation")
    ap.add_argument("--json", help="also write the numbers to this JSON file")
    args = ap.parse_args()
    data = Path(args.data)
    if not (data / "trex" / "test").is_dir() or not (data / "lama" / "relations.jsonl").is_file():
        print(f"bench_mining: shared data not found under {data} (need trex/test/*.jsonl and "
              f"lama/relations.jsonl); pass --data", file=sys.stderr)
        return 2

    from models.parser import load_parser, parse

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "trex_test_sentences.txt"
        with open(corpus, "w", encoding="utf-8") as f:
            pairs, manual, n_sent = build_corpus(data, f)
        rels = sorted(manual)
        print(f"corpus: {n_sent} distinct sentences, {len(pairs)} facts, {len(rels)} relations "
              f"(cpu cores: {os.cpu_count()}, shared with other jobs)")

        tok = load_parser(parse=False)
        t0 = time.perf_counter()
        base = mine([corpus], pairs, top=args.top, methods=("middle",), case_sensitive=True, loose=False, nlp=tok)
        t_base = time.perf_counter() - t0

        nlp = load_parser(parse=True)
        t0 = time.perf_counter()
        full = mine([corpus], pairs, top=args.top)
        t_full = time.perf_counter() - t0

        # spaCy alone on exactly the sentences the default run parsed.
        index = PairIndex(pairs)
        with open(corpus, encoding="utf-8") as f:
            matched = [s for s in (line.rstrip("\n") for line in f) if index.hits(s)]
        t0 = time.perf_counter()
        for _ in parse(nlp, matched):
            pass
        t_parse = time.perf_counter() - t0

    rows = []
    for rel in rels:
        rb = rank_of(manual[rel], base.candidates.get(rel, []))
        rf = rank_of(manual[rel], full.candidates.get(rel, []))
        rows.append((rel, manual[rel], rb, rf, full.candidates.get(rel, [])))

    fmt = lambda r: "-" if r is None else str(r)  # noqa: E731
    print(f"\nrank of LAMA's manual template among the top {args.top} (- = not there)")
    print(f"{'rel':6} {'manual template':42} {'base':>5} {'ours':>5}  top mined (distinct pairs, method)")
    for rel, man, rb, rf, cands in rows:
        top = "; ".join(f"{c.template} ({c.pairs}, {c.method[0]})" for c in cands[: args.show])
        print(f"{rel:6} {man:42} {fmt(rb):>5} {fmt(rf):>5}  {top}")
    n_base = sum(r[2] is not None for r in rows)
    n_full = sum(r[3] is not None for r in rows)
    print(f"\nmanual template in top {args.top}: baseline (middle-word, exact labels) {n_base} of {len(rows)}; "
          f"promptmine (folded case-blind matching, middle + dependency) {n_full} of {len(rows)}")
    for name, r in (("baseline", base), ("promptmine", full)):
        s = r.stats
        print(f"  {name:10}: {s['sentences_read']} read, {s['sentences_matched']} matched, {s['mentions']} pair "
              f"mentions, {s['templates_found']} distinct templates, {s['templates_kept']} kept")
    m = full.stats["sentences_matched"]
    print(f"\nthroughput (wall clock, 2 shared cores):")
    print(f"  baseline run (tokenizer only)     {t_base:7.1f} s  {base.stats['sentences_read'] / t_base:8.0f} corpus sent/s")
    print(f"  promptmine run (whole pipeline)   {t_full:7.1f} s  {full.stats['sentences_read'] / t_full:8.0f} corpus sent/s"
          f"  {m / t_full:6.0f} matched sent/s")
    print(f"  spaCy parsing alone, same {len(matched)} matched sentences {t_parse:6.1f} s  {len(matched) / t_parse:6.0f} sent/s")
    print(f"  whole run / parsing alone: {t_full / t_parse:.2f}x the parser's time")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"baseline": n_base, "promptmine": n_full, "relations": len(rows),
                       "ranks": {r[0]: {"baseline": r[2], "promptmine": r[3]} for r in rows},
                       "seconds": {"baseline": t_base, "promptmine": t_full, "parse_only": t_parse},
                       "stats": {"baseline": base.stats, "promptmine": full.stats}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
