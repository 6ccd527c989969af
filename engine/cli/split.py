"""`promptmine split`: flags -> `promptmine.split(...)` -> training and test pairs files."""

from __future__ import annotations

import argparse

from promptmine.cli.checks import check_output, fraction, stdin_path
from promptmine.cli.settings import add_setting, settings_from_args
from promptmine.core.errors import PromptmineError
from promptmine.pipeline import SplitSettings


def outputs(args: argparse.Namespace) -> tuple[str, str]:
    """(train file, test file) from -o PREFIX or --train/--test, checked before any work."""
    if args.out and (args.train or args.test):
        raise PromptmineError("give -o PREFIX or --train FILE --test FILE, not both")
    if args.out:
        train, test = f"{args.out}.train.jsonl", f"{args.out}.test.jsonl"
    elif args.train and args.test:
        train, test = args.train, args.test
    else:
        raise PromptmineError("say where to write: -o PREFIX (PREFIX.train.jsonl, PREFIX.test.jsonl) "
                              "or --train FILE --test FILE")
    if train == test:
        raise PromptmineError(f"--train and --test are the same file ({train})")
    if args.pairs in (train, test):
        raise PromptmineError(f"the output {args.pairs} would overwrite the pairs file")
    for path, flag in ((train, "--train" if args.train else "-o"), (test, "--test" if args.test else "-o")):
        check_output(path, flag=flag)
    return train, test


def run(args: argparse.Namespace) -> int:
    from promptmine.pipeline import split

    train, test = outputs(args)
    split(stdin_path(args.pairs, "pairs"), settings_from_args(args, SplitSettings), train_out=train, test_out=test,
          strict=args.strict)
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "split", help="split facts per relation into training and test files (select on one, evaluate on the other)",
        description="Shuffle each relation's pairs with a fixed seed and split them into a training and a "
                    "test file, as `promptmine run` does, so that prompts chosen by `select` on the training "
                    "facts are measured by `evaluate` on facts they never saw. A relation with one pair "
                    "keeps it for training. Outputs are JSONL with subject, object and relation.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  promptmine split --pairs facts.jsonl -o facts        # facts.train.jsonl, facts.test.jsonl\n"
               "  promptmine split --pairs facts.jsonl --train train.jsonl --test test.jsonl --test-fraction 0.3")
    p.add_argument("--pairs", required=True, metavar="FILE",
                   help="facts: LAMA/T-REx JSONL (sub_label, obj_label, predicate_id), plain JSONL or TSV; - for stdin")
    p.add_argument("-o", "--out", default=None, metavar="PREFIX",
                   help="write PREFIX.train.jsonl and PREFIX.test.jsonl")
    p.add_argument("--train", default=None, metavar="FILE", help="where to write the training pairs")
    p.add_argument("--test", default=None, metavar="FILE", help="where to write the test pairs")
    add_setting(p, SplitSettings, "test_fraction", type=fraction,
                help="share of each relation's pairs for testing (default: %(default)s)")
    add_setting(p, SplitSettings, "seed", type=int, help="seed of the shuffle (default: %(default)s; run's --seed)")
    p.add_argument("--strict", action="store_true", help="stop at a malformed pair line instead of skipping it")
    p.set_defaults(func=run)
    return p
