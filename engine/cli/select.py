"""`promptmine select`: flags -> `promptmine.select(...)` -> Selection records."""

from __future__ import annotations

import argparse

from promptmine.cli.checks import check_output, fraction, positive_int
from promptmine.cli.evaluate import add_facts_arguments, add_scorer_arguments, facts_from_args, scorer_options
from promptmine.cli.settings import add_setting, settings_from_args
from promptmine.core.errors import PromptmineError
from promptmine.scoring.facts import FactSettings
from promptmine.selection import (
    CHOOSERS, STRATEGIES, Chooser, OptimizedEnsemble, Race, RankEnsemble, Strategy, Top1, strategy_named,
)
from promptmine.selection.relations import SelectSettings


def add_strategy_arguments(p: argparse.ArgumentParser, what: str) -> None:
    """--selection and --budget, the strategy that scores `what` (templates, candidates) on training
    facts; their defaults are Race's (`select`'s and `run`'s, relation and task runs alike)."""
    p.add_argument("--selection", choices=tuple(STRATEGIES), default=Race.name,
                   help=f"race: {what} race over blocks of training facts and the weak ones stop early; "
                        f"exhaustive: every {what[:-1]} on every training fact (default: %(default)s)")
    p.add_argument("--budget", type=positive_int, default=Race.budget, metavar="N",
                   help="race: (fact, template) pairs scored per relation at most (default: no limit)")


def strategy_from_args(args: argparse.Namespace, like: Strategy = Race()) -> Strategy:
    """The strategy --selection and --budget name, with the block size and metric of `like` (the
    default strategy of the command's settings: the task search races blocks of 64 examples on hit@1)."""
    return strategy_named(args.selection, budget=args.budget, block_size=like.block_size, metric=like.metric)


def chooser_from_args(args: argparse.Namespace) -> Chooser:
    """The chooser --method names, with --k and --dev-fraction where it takes them."""
    if args.method == RankEnsemble.name:
        return RankEnsemble(k=args.k)
    if args.method == OptimizedEnsemble.name:
        return OptimizedEnsemble(k=args.k, dev_fraction=args.dev_fraction)
    return Top1()


def run(args: argparse.Namespace) -> int:
    from promptmine.core.io import write_jsonl
    from promptmine.core.progress import log, plural
    from promptmine.selection import select

    if not args.pairs:
        raise PromptmineError("the training facts are required: --pairs FILE")
    check_output(args.out)
    options = scorer_options(args)
    templates, facts = facts_from_args(args, args.pairs, args.templates)
    settings = settings_from_args(args, SelectSettings, strategy=strategy_from_args(args),
                                  choose=chooser_from_args(args))
    selections = select(templates, facts, settings=settings, scorer=args.scorer, options=options,
                        cache=not args.no_cache, facts=settings_from_args(args, FactSettings))
    if args.out in (None, "-"):  # the records on stdout, like mine and paraphrase
        write_jsonl(None, selections)
        return 0
    for sel in selections:
        for wt in sel.templates:
            print(f"{sel.relation}\t{sel.method}\t{wt.weight:.4f}\t{wt.template}")
    write_jsonl(args.out, selections)
    log(f"wrote {plural(len(selections), 'selection')} to {args.out}")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "select", help="pick the best prompts (top-1, top-K rank ensemble, optimised weights)",
        description="Score every candidate template on training facts and choose, per relation, the "
                    "best one (top1), the K best averaged (rank), or weights learnt to maximise the gold "
                    "object's probability (optimized, early-stopped on a dev split). Writes Selection "
                    "records (templates with weights) that `promptmine evaluate --templates` reads.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  promptmine select --templates candidates.jsonl --pairs train.jsonl "
               "--method optimized --out selected.jsonl")
    p.add_argument("--templates", required=True, metavar="FILE",
                   help="candidate templates: JSONL with `template` and optional `relation` (mine/paraphrase "
                        "output, LAMA relations) or plain text, one a line; `-`: stdin")
    p.add_argument("--pairs", metavar="FILE", help="training facts (LAMA/T-REx JSONL, plain JSONL or TSV; "
                                                    "`-`: stdin); required")
    p.add_argument("--train", dest="pairs", help=argparse.SUPPRESS)  # its old name
    add_facts_arguments(p, "training facts")
    p.add_argument("--method", choices=tuple(CHOOSERS), default=Top1.name,
                   help="selection method (default: %(default)s)")
    p.add_argument("--k", type=positive_int, default=RankEnsemble.k,
                   help="templates in the rank ensemble (default: %(default)s)")
    p.add_argument("--dev-fraction", type=fraction, default=OptimizedEnsemble.dev_fraction,
                   help="optimized: share of training facts held out for early stopping (default: %(default)s)")
    add_setting(p, SelectSettings, "seed", type=int, help="optimized: seed of the dev split (default: %(default)s)")
    add_strategy_arguments(p, "templates")
    add_setting(p, SelectSettings, "calibrate", action="store_true",
                help="rank by calibrated scores: log P(object | prompt) minus log P(object | the prompt with "
                     "a content-free subject), so objects the template favours whatever the subject stop winning")
    add_setting(p, FactSettings, "max_candidates", type=positive_int, metavar="N",
                help="keep the N most frequent objects as candidates (default: all distinct objects)")
    add_setting(p, FactSettings, "limit", type=positive_int, metavar="N",
                help="use the first N training facts per relation")
    p.add_argument("-o", "--out", metavar="FILE",
                   help="write the selections (JSONL, atomically) and print a summary; default: the JSONL on stdout")
    add_scorer_arguments(p)
    p.set_defaults(func=run)
    return p
