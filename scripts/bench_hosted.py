"""Benchmark: the hosted adapter's concurrency against strictly sequential requests, in one run.

Paraphrases the 41 LAMA (T-REx) manual templates through the OpenAI-compatible adapter against the
project's loopback server (`promptmine.testing.server`, rule-based chat answers) that waits a fixed
latency before every answer (200 ms by default), so the wall time measures how requests overlap:

- direct: `OpenAIParaphraser`, one request per template;
- round trip: `engine.paraphrase.paraphrase_templates` with `OpenAITranslator` through a pivot
  (en->de->en), one request per template and direction.

Each is timed with `--concurrency` requests in flight (default 16) and with one at a time; the
disk cache is off, so both send every request. Usage:

    .venv/bin/python scripts/bench_hosted.py [--relations ../shared/data/lama/relations.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import benchdata as bd


def load_templates(path: Path) -> list[str]:
    """The manual templates of LAMA's 41 T-REx relations in `path` (a note when some are absent)."""
    templates = [t for rel, t in bd.lama_templates(path) if rel in bd.TREX_41]
    if len(templates) != len(bd.TREX_41):
        print(f"note: {path} has {len(templates)} of the 41 T-REx relations", file=sys.stderr)
    return templates


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--relations", default=str(bd.relations_file()),
                    help="LAMA relations.jsonl (default: ../shared/data/lama/relations.jsonl)")
    ap.add_argument("--latency", type=float, default=0.2, help="server latency per request, seconds (default 0.2)")
    ap.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    ap.add_argument("--n", type=int, default=5, help="paraphrases asked per template (default 5)")
    ap.add_argument("--out", help="also write the figures as JSON here")
    args = ap.parse_args()

    relations = Path(args.relations)
    if bd.missing("bench_hosted", relations, hint="pass --relations FILE"):
        return bd.MISSING_EXIT
    templates = load_templates(relations)
    os.environ.setdefault("PROMPTMINE_PROGRESS", "0")

    from promptmine.paraphrasing import paraphrase_templates
    from promptmine.models.hosted import OpenAIParaphraser, OpenAITranslator
    from promptmine.testing.server import serve_in_subprocess

    rows = []
    with serve_in_subprocess("--latency", str(args.latency)) as server:
        def adapter(cls, concurrency):
            return cls(base_url=server.url, model="bench", concurrency=concurrency, cache=False)

        tasks = {
            "direct paraphrase (OpenAIParaphraser)":
                lambda c: adapter(OpenAIParaphraser, c).paraphrase(templates, args.n),
            "round trip en->de->en (OpenAITranslator)":
                lambda c: paraphrase_templates(templates, adapter(OpenAITranslator, c), ["de"], beams=args.n,
                                               top=args.n, cache=None),
        }
        for name, task in tasks.items():
            server.set_faults([])  # resets the request counter
            t_seq, out_seq = timed(lambda: task(1))
            n_requests = server.stats()["requests"].get("chat", 0)
            server.set_faults([])
            t_con, out_con = timed(lambda: task(args.concurrency))
            stats = server.stats()
            assert out_seq == out_con, "concurrent and sequential runs must give the same results"
            rows.append({"task": name, "templates": len(templates), "requests": n_requests,
                         "sequential_s": round(t_seq, 2), f"concurrency_{args.concurrency}_s": round(t_con, 2),
                         "speedup": round(t_seq / t_con, 2), "max_in_flight": stats["max_in_flight"]})

    print(f"latency {args.latency * 1000:.0f} ms per request, concurrency {args.concurrency} vs 1, "
          f"{len(templates)} LAMA T-REx templates ({len(set(templates))} distinct: one request each), "
          "loopback test server\n")
    print(f"| task | requests | sequential (s) | concurrency {args.concurrency} (s) | speedup | max in flight |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['task']} | {r['requests']} | {r['sequential_s']:.2f} | "
              f"{r[f'concurrency_{args.concurrency}_s']:.2f} | {r['speedup']:.1f}x | {r['max_in_flight']} |")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
