"""`promptmine select`: flags -> `promptmine.select(...)` -> Selection records."""

from __future__ import annotations

import argparse

from promptmine.cli.evaluate import add_scorer_arguments, scorer_options

METHODS = ("top1", "rank", "optimized")  # promptmine.selection.METHODS


def run(args: argparse.Namespace) -> int:
    from promptmine.core.io import write_jsonl
    from promptmine.core.progress import log
    from promptmine.selection import select

    selections = select(args.templates, args.train, method=args.method, k=args.k, dev_fraction=args.dev_fraction,
                        seed=args.seed, selection=args.selection, budget=args.budget, calibrate=args.calibrate,
                        scorer=args.scorer, options=scorer_options(args), relation=args.relation,
                        max_candidates=args.max_candidates, limit=args.limit, cache=not args.no_cache)
    for sel in selections:
        for wt in sel.templates:
            print(f"{sel.relation}\t{sel.method}\t{wt.weight:.4f}\t{wt.template}")
    write_jsonl(args.out, selections)
    log(f"wrote {len(selections)} selections to {args.out}")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "select", help="pick the best prompts (top-1, top-K rank ensemble, optimised weights)",
        description="Score every candidate template on training facts and choose, per relation, the "
                    "best one (top1), the K best averaged (rank), or weights learnt to maximise the gold "
                    "object's probability (optimized, early-stopped on a dev split). Writes Selection "
                    "records (templates with weights) that `promptmine evaluate --templates` reads.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  promptmine select --templates candidates.jsonl --train train.jsonl "
               "--method optimized --out selected.jsonl")
    p.add_argument("--templates", required=True, metavar="FILE",
                   help="candidate templates: JSONL with `template` and optional `relation` (mine/paraphrase "
                        "output, LAMA relations) or plain text, one a line")
    p.add_argument("--train", required=True, metavar="FILE", help="training facts (LAMA/T-REx JSONL, plain JSONL or TSV)")
    p.add_argument("--relation", default=None, help="relation of training pairs that name none")
    p.add_argument("--method", choices=METHODS, default="top1", help="selection method (default: %(default)s)")
    p.add_argument("--k", type=int, default=3, help="templates in the rank ensemble (default: %(default)s)")
    p.add_argument("--dev-fraction", type=float, default=0.3,
                   help="optimized: share of training facts held out for early stopping (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="optimized: seed of the dev split (default: %(default)s)")
    p.add_argument("--selection", choices=("race", "exhaustive"), default="race",
                   help="race: templates race over blocks of training facts and the weak ones stop early; "
                        "exhaustive: every template on every training fact (default: %(default)s)")
    p.add_argument("--budget", type=int, default=None, metavar="N",
                   help="race: (fact, template) pairs scored per relation at most (default: no limit)")
    p.add_argument("--calibrate", action="store_true",
                   help="rank by calibrated scores: log P(object | prompt) minus log P(object | the prompt with "
                        "a content-free subject), so objects the template favours whatever the subject stop winning")
    p.add_argument("--max-candidates", type=int, default=None, metavar="N",
                   help="keep the N most frequent objects as candidates (default: all distinct objects)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="use the first N training facts per relation")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the selections (JSONL)")
    add_scorer_arguments(p)
    p.set_defaults(func=run)
    return p
