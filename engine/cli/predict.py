"""`promptmine predict`: flags -> `promptmine.tasks.saved.predict(...)` -> one prediction a line."""

from __future__ import annotations

import argparse

from promptmine.cli.checks import check_output, positive_int, stdin_path
from promptmine.cli.evaluate import add_scorer_arguments, scorer_flags
from promptmine.core.errors import InputError
from promptmine.tasks.saved import TOP_K


def run(args: argparse.Namespace) -> int:
    from promptmine.models.score import DEFAULT_SCORER, SCORERS
    from promptmine.tasks.saved import load_prompt, predict

    check_output(args.out)
    if [args.input, args.candidates].count("-") > 1:
        raise InputError("only one input can be `-` (stdin)")
    saved = load_prompt(args.prompt, relation=args.relation, row=args.row, pairs=args.pairs,
                        candidates=args.candidates)
    # the scorer the prompt was chosen with, unless --scorer names another; its flags override its options
    own = getattr(saved, "scorer", None)
    own_name = own.name if own is not None else None
    name = args.scorer or own_name or DEFAULT_SCORER
    flags = scorer_flags()
    args.scorer = name
    flags.check_taken(args, {name: "scorer"})
    options = flags.options(args, name, SCORERS)
    scorer = None if name == own_name and not options else name
    predict(saved, stdin_path(args.input, "inputs"), scorer=scorer, options=options, cache=not args.no_cache,
            out=args.out or "-", k=args.top_k, candidates=None)
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "predict", help="apply a saved prompt (best_prompt.json, an ensemble, a relation's selection) to new inputs",
        description="Apply what a search chose to new inputs. A task prompt (`run --task`'s best_prompt.json, "
                    "rank_ensemble.json, optimized_ensemble.json) labels each input of a JSONL file (the "
                    "prompt's fields per line) and writes one JSON object a line: `id` (the input's `id`, else "
                    "its 0-based line number), the input's fields, `label`, `probabilities` (per label) and "
                    "`gold` (the input's own `label`, if any; the accuracy on those is said on stderr). A "
                    "relation's selection (`run`'s recommended.jsonl, what its report says to use, or "
                    "selections.jsonl; `select`'s output) ranks candidate objects for new subjects and writes "
                    "the top --top-k. The scorer is the one the prompt was chosen with (from the file; a "
                    "relation's selection names only its identity, so give --scorer and its flags); another "
                    "model, precision or engine is said on stderr and still runs. The prompts were chosen for "
                    "promptmine's calibrated log-probability readout (the label words' "
                    "or the objects' log-probabilities after the prompt), not for a model that generates its "
                    "answer: the labels here are that readout's, not generated text.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  promptmine predict --prompt task-report/best_prompt.json --input new.jsonl -o predictions.jsonl\n"
               "  promptmine predict --prompt task-report/rank_ensemble.json --input new.jsonl\n"
               "  promptmine predict --prompt report/recommended.jsonl --relation P19 --input subjects.txt \\\n"
               "      --pairs facts.jsonl --top-k 3")
    p.add_argument("--prompt", required=True, metavar="FILE",
                   help="a saved prompt (best_prompt.json, rank_ensemble.json, optimized_ensemble.json) or a "
                        "selections file (run's recommended.jsonl or selections.jsonl, select's output)")
    p.add_argument("--input", required=True, metavar="FILE",
                   help="tasks: JSONL with the prompt's fields (a `label` is kept as `gold`); relations: JSONL with "
                        "`subject` (or `sub_label`), optional `relation` and `candidates`, or one subject a line; "
                        "`-`: stdin")
    p.add_argument("-o", "--out", metavar="FILE",
                   help="write the predictions here (JSONL, atomically); default: stdout")
    r = p.add_argument_group("relation selections")
    r.add_argument("--relation", metavar="ID", help="use this relation's prompt only")
    r.add_argument("--row", metavar="NAME", help="which report row of a selections file (default: each relation's only "
                                                 "one, else `Mined+Paraphrased top-1`)")
    r.add_argument("--candidates", metavar="FILE", help="the candidate objects, one a line (inputs may give their own)")
    r.add_argument("--pairs", metavar="FILE", help="facts whose objects are each relation's candidates")
    r.add_argument("--top-k", type=positive_int, default=TOP_K, metavar="K", help="objects written per subject "
                                                                               "(default: %(default)s)")
    add_scorer_arguments(p)
    for action in p._actions:
        if action.dest == "scorer":
            action.help = ("the scorer to apply the prompt with (default: the one it was chosen with; for a relation's "
                           "selection, causal); its flags below override the saved options")
    p.set_defaults(func=run, scorer=None)
    return p
