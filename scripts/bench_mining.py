"""Benchmark `promptmine mine` on T-REx: how often LAMA's manual template is among the mined top 40.

Corpus: every T-REx test evidence sentence (`masked_sentence` with [MASK] replaced by
`obj_surface`), de-duplicated, all 28 relations mixed into one corpus as a real corpus would be.
Pairs: each relation's facts (`sub_label`, `obj_label`) -- never the evidence's surface forms.

Prints, from the same run:
- the plain baseline: middle-word templates, exact (case-sensitive, unfolded) label matching;
- middle-word templates with promptmine's matching (case-blind, accents/dashes/quotes folded);
- promptmine's default: that matching, middle-word + compact dependency templates;
- per relation the top templates and the rank of LAMA's manual template (normalised comparison:
  spacing, case, final period);
- what the filters of `promptmine.filters` removed (no content word, a filler, too little support)
  and how many variants of one phrasing (`promptmine.core.records.template_key`) were merged;
- throughput: the whole default run vs spaCy parsing alone of the same matched sentences (timed
  around `nlp.pipe` inside the run; `--separate-parse` parses them again on their own as a check).

LAMA's manual templates are often not how Wikipedia phrases a fact, so the total is a comparison
between miners, not a target of 28. Needs ../shared/data (T-REx test split and LAMA relations).

    .venv/bin/python scripts/bench_mining.py [--data ../shared/data] [--top 40] [--show 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from promptmine.filters import FILTERS, MIN_PAIRS
from promptmine.mining import MiningSettings, PairIndex, mine
from promptmine.core.records import Pair, normalize_text

import benchdata as bd


FILTER_LABELS = {"function_words": "without a content word", "fillers": "with a filler (date, number, name)",
                 "support": f"seen with fewer than {MIN_PAIRS} pairs"}


def comparable(template: str) -> str:
    """Normalised form for comparing templates: spacing, case, final period."""
    return normalize_text(template).lower().rstrip(" .")


def build_corpus(data: Path, out) -> tuple[list[Pair], dict[str, str], int]:
    """Write the distinct evidence sentences of every T-REx test fact to `out`; (the facts as pairs,
    the manual templates of their relations, sentences written)."""
    pairs: list[Pair] = []
    seen: set[str] = set()
    for fact in bd.iter_trex(data, "test"):
        pairs.append(Pair(subject=fact["sub_label"], object=fact["obj_label"], relation=fact["predicate_id"]))
        for sentence in bd.evidence_sentences(fact):
            if sentence not in seen:
                seen.add(sentence)
                out.write(sentence + "\n")
    relations = {p.relation for p in pairs}
    manual = {rel: t for rel, t in bd.manual_templates(data).items() if rel in relations}
    return pairs, manual, len(seen)


def rank_of(manual: str, cands) -> int | None:
    target = comparable(manual)
    for n, c in enumerate(cands, 1):
        if comparable(c.template) == target:
            return n
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(bd.DATA), help="folder with trex/ and lama/")
    ap.add_argument("--top", type=int, default=MiningSettings.default("top"))
    ap.add_argument("--show", type=int, default=3, help="top templates printed per relation")
    ap.add_argument("--json", help="also write the numbers to this JSON file")
    ap.add_argument("--separate-parse", action="store_true",
                    help="also time spaCy on the matched sentences in a separate pass (adds minutes)")
    args = ap.parse_args()
    data = Path(args.data)
    if bd.missing("bench_mining", bd.trex_dir(data, "test"), bd.relations_file(data)):
        return bd.MISSING_EXIT

    from promptmine.models.parser import load_parser, parse

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "trex_test_sentences.txt"
        with open(corpus, "w", encoding="utf-8") as f:
            pairs, manual, n_sent = build_corpus(data, f)
        rels = sorted(manual)
        print(f"corpus: {n_sent} distinct sentences, {len(pairs)} facts, {len(rels)} relations "
              f"(cpu cores: {os.cpu_count()}, shared with other jobs)")

        tok = load_parser(parse=False)
        t0 = time.perf_counter()
        middle = MiningSettings(top=args.top, methods=("middle",))
        base = mine([corpus], pairs, middle.model_copy(update={"case_sensitive": True, "fold": False}), nlp=tok)
        t_base = time.perf_counter() - t0
        folded = mine([corpus], pairs, middle, nlp=tok)

        nlp = load_parser(parse=True)
        t0 = time.perf_counter()
        full = mine([corpus], pairs, MiningSettings(top=args.top))
        t_full = time.perf_counter() - t0

        t_parse = full.stats["parse_seconds"]  # inside the run, around nlp.pipe only
        t_separate = None
        if args.separate_parse:  # spaCy alone, again, on exactly the sentences the default run parsed
            index = PairIndex(pairs)
            with open(corpus, encoding="utf-8") as f:
                matched = [s for s in (line.rstrip("\n") for line in f) if index.hits(s)]
            t0 = time.perf_counter()
            for _ in parse(nlp, matched, batch_size=MiningSettings.default("batch_size")):
                pass
            t_separate = time.perf_counter() - t0

    runs = {"baseline": base, "folded": folded, "promptmine": full}
    ranks = {rel: {name: rank_of(manual[rel], r.candidates.get(rel, [])) for name, r in runs.items()} for rel in rels}

    fmt = lambda r: "-" if r is None else str(r)  # noqa: E731
    print(f"\nrank of LAMA's manual template among the top {args.top} (- = not there); base = plain middle-word "
          f"miner, fold = + case-blind folded matching, ours = + compact dependency templates (promptmine default)")
    print(f"{'rel':6} {'manual template':40} {'base':>4} {'fold':>4} {'ours':>4}  top mined by promptmine "
          f"(distinct pairs, m=middle d=dependency)")
    for rel in rels:
        r = ranks[rel]
        top = "; ".join(f"{c.template} ({c.pairs}, {c.method[0]})" for c in full.candidates.get(rel, [])[: args.show])
        print(f"{rel:6} {manual[rel]:40} {fmt(r['baseline']):>4} {fmt(r['folded']):>4} {fmt(r['promptmine']):>4}  {top}")
    found = {name: sum(ranks[rel][name] is not None for rel in rels) for name in runs}
    print(f"\nmanual template in the top {args.top}, of {len(rels)} relations: baseline (middle-word, exact labels) "
          f"{found['baseline']}; + folded case-blind matching {found['folded']}; promptmine (+ dependency "
          f"templates) {found['promptmine']}")
    for name, r in runs.items():
        s = r.stats
        print(f"  {name:10}: {s['sentences_read']} read, {s['sentences_matched']} matched, {s['mentions']} pair "
              f"mentions, {s['templates_found']} distinct templates, {s['merged_variants']} merged as variants of "
              f"another; removed: " + ", ".join(f"{s['removed_' + f]} {FILTER_LABELS[f]}" for f in FILTERS)
              + f"; {s['templates_kept']} kept (top {args.top} per relation)")
    m = full.stats["sentences_parsed"]
    print("\nthroughput (wall clock; 2 CPU cores shared with other jobs):")
    print(f"  baseline run (tokenizer only)        {t_base:7.1f} s  {base.stats['sentences_read'] / t_base:7.0f} corpus sent/s")
    print(f"  promptmine run (whole pipeline)      {t_full:7.1f} s  {full.stats['sentences_read'] / t_full:7.0f} corpus "
          f"sent/s = {m / t_full:5.0f} parsed sent/s")
    print(f"  spaCy alone on those {m} sentences {t_parse:7.1f} s  {m / t_parse:7.0f} sent/s (timed around nlp.pipe in the run)")
    if t_separate is not None:
        print(f"  spaCy alone, separate pass          {t_separate:7.1f} s  {m / t_separate:7.0f} sent/s")
    print(f"  whole run / parsing alone: {t_full / t_parse:.2f}x the parser's time")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"found": found, "relations": len(rels), "ranks": ranks,
                       "seconds": {"baseline": t_base, "promptmine": t_full, "parse_in_run": t_parse,
                                   "parse_separate": t_separate},
                       "stats": {name: r.stats for name, r in runs.items()}}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
