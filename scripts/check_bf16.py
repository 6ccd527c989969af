"""The accuracy check behind the bfloat16 default: P@1 of the manual templates on the bundled facts
(corpora/sample_pairs.jsonl, templates from corpora/sample_relations.jsonl, every object of the
relation as a candidate) with the shipped SmolLM2, in float32 and in bfloat16, and the time each took.

    .venv/bin/python scripts/check_bf16.py [--dtypes float32,bfloat16] [--threads N] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

import numpy as np

from promptmine.core.io import read_pairs, read_templates
from promptmine.corpora import CORPORA_DIR
from promptmine.models.device import native_bf16, use_threads
from promptmine.models.score.causal import CausalScorer


def bundled_facts(limit: int | None = None) -> dict[str, tuple[str, list[str], list[str], list[int]]]:
    """relation -> (template, subjects, candidate objects, gold index per subject); `limit` facts a relation."""
    templates = dict(read_templates(CORPORA_DIR / "sample_relations.jsonl"))
    by_rel: dict[str, list] = defaultdict(list)
    for p in read_pairs(CORPORA_DIR / "sample_pairs.jsonl", strict=True):
        by_rel[p.relation].append(p)
    out = {}
    for rel, template in templates.items():
        objects = sorted({p.object for p in by_rel[rel]})  # every object of the relation is a candidate
        facts = by_rel[rel][:limit]
        out[rel] = (template, [p.subject for p in facts], objects, [objects.index(p.object) for p in facts])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtypes", default="float32,bfloat16")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--limit", type=int, default=None, help="facts per relation (default: all)")
    ap.add_argument("--json", help="also write the per-fact scores here")
    args = ap.parse_args()
    print(f"threads {use_threads(args.threads)}, native bfloat16: {native_bf16()}")
    facts = bundled_facts(args.limit)
    scores: dict[str, dict[str, np.ndarray]] = {}
    for dtype in args.dtypes.split(","):
        scorer = CausalScorer("smollm2-135m", device="cpu", dtype=dtype)
        t0 = time.perf_counter()
        scores[dtype] = {rel: np.array(scorer.score(t, s, o)) for rel, (t, s, o, _) in facts.items()}
        seconds = time.perf_counter() - t0
        hits = {rel: (scores[dtype][rel].argmax(1) == np.array(g)) for rel, (_, _, _, g) in facts.items()}
        total = np.concatenate(list(hits.values()))
        per_rel = ", ".join(f"{rel} {100 * h.mean():.1f}" for rel, h in hits.items())
        print(f"{dtype:9s} P@1 {100 * total.mean():.1f} over {len(total)} facts ({per_rel}); scoring took {seconds:.1f} s")
    if len(scores) > 1:
        first, *rest = scores
        for other in rest:
            diff = np.concatenate([np.abs(scores[other][r] - scores[first][r]).ravel() for r in facts])
            same = np.concatenate([scores[other][r].argmax(1) == scores[first][r].argmax(1) for r in facts])
            print(f"{other} vs {first}: |log-prob difference| mean {diff.mean():.3f}, max {diff.max():.3f}; "
                  f"same top prediction for {same.sum()} of {len(same)} facts")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({d: {r: v.tolist() for r, v in s.items()} for d, s in scores.items()}, f)


if __name__ == "__main__":
    main()
