"""`promptmine evaluate`: flags -> `promptmine.evaluate(...)` -> a table and Score records."""

from __future__ import annotations

import argparse

from promptmine.cli.backends import BackendFlags
from promptmine.cli.checks import check_output, positive_int, split_ids, stdin_path
from promptmine.cli.settings import add_setting, settings_from_args
from promptmine.core.io import read_facts
from promptmine.core.errors import InputError
from promptmine.models.score import DEFAULT_SCORER
from promptmine.scoring.facts import FactSettings


def scorer_flags() -> BackendFlags:
    from promptmine.models.score import SCORERS

    return BackendFlags([SCORERS])


def add_scorer_arguments(p: argparse.ArgumentParser) -> BackendFlags:
    """--scorer, its options (from each scorer's Options) and --no-cache; shared by evaluate, select, run."""
    from promptmine.models.score import SCORERS

    p.add_argument("--scorer", default=DEFAULT_SCORER, choices=SCORERS.names(),
                   help="causal: any transformers causal LM (default, SmolLM2-135M shipped); masked: a "
                        "BERT-like masked LM ([Y] becomes the mask, single-token objects); openai: an "
                        "OpenAI-compatible server's log-probs")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the on-disk caches")
    flags = scorer_flags()
    flags.add_to(p, "language model", "Each scorer's own settings (the scorers that take a flag in [...]).")
    return flags


def scorer_options(args: argparse.Namespace, flags: BackendFlags | None = None) -> dict:
    """The chosen scorer's options from the flags; a flag it does not take is an error."""
    from promptmine.models.score import SCORERS

    flags = flags or scorer_flags()
    flags.check_taken(args, {args.scorer: "scorer"})
    return flags.options(args, args.scorer, SCORERS)


def add_facts_arguments(p: argparse.ArgumentParser, what: str = "facts") -> None:
    """--relation, --default-relation and --strict: which facts of the pairs file to use, the same on
    evaluate and select (`FactSettings`; mine has its own --default-relation)."""
    p.add_argument("--relation", action="append", metavar="ID",
                   help=f"use only this relation's {what} (repeat or comma-separate for several); default: "
                        "every relation in the pairs file")
    add_setting(p, FactSettings, "default_relation", metavar="ID",
                help="relation of pairs that name none (default: none; templates without a relation apply)")
    add_setting(p, FactSettings, "strict", action="store_true",
                help="a malformed line of the pairs file is an error (default: skipped and reported)")


def facts_from_args(args: argparse.Namespace, pairs: str, templates: str) -> tuple:
    """(templates path, facts) after the checks every scoring command makes before loading a model."""
    if [pairs, templates, getattr(args, "candidates", None)].count("-") > 1:
        raise InputError("only one input can be `-` (stdin)")
    templates = stdin_path(templates, "templates")
    facts = read_facts(stdin_path(pairs, "pairs"), relations=split_ids(args.relation),
                       default_relation=args.default_relation, strict=args.strict)
    return templates, facts


def run(args: argparse.Namespace) -> int:
    from promptmine.core.io import write_jsonl
    from promptmine.core.progress import log, plural
    from promptmine.report import format_scores
    from promptmine.scoring import evaluate

    check_output(args.out)
    options = scorer_options(args)
    templates, facts = facts_from_args(args, args.pairs, args.templates)
    scores = evaluate(templates, facts, scorer=args.scorer, options=options,
                      candidates=stdin_path(args.candidates, "candidates"), cache=not args.no_cache,
                      facts=settings_from_args(args, FactSettings))
    print(format_scores(scores))
    if args.out:
        write_jsonl(args.out, scores)
        log(f"wrote {plural(len(scores), 'score')} to {args.out}")
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "evaluate", help="rank candidate objects with a language model: P@1 and MRR per template",
        description="Measure how well each template (or selected ensemble) makes a language model "
                    "answer: for every fact, rank the candidate objects by log P(object | prompt) and "
                    "report precision@1 and mean reciprocal rank per relation and micro-averaged. "
                    "Scores are cached on disk, so a re-run is instant.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
               "  promptmine evaluate --templates corpora/sample_relations.jsonl --pairs corpora/sample_pairs.jsonl\n"
               "  promptmine evaluate --templates selected.jsonl --pairs test.jsonl --out scores.jsonl\n"
               "  promptmine evaluate --templates t.txt --pairs P19.jsonl --scorer masked "
               "--model bert-base-cased --vocab common_vocab_cased.txt")
    p.add_argument("--templates", required=True, metavar="FILE",
                   help="templates (JSONL with `template` and optional `relation`, e.g. mined or paraphrased "
                        "candidates, or plain text one a line) or a `promptmine select` output; `-`: stdin")
    p.add_argument("--pairs", required=True, metavar="FILE",
                   help="facts: LAMA/T-REx JSONL (sub_label, obj_label, predicate_id), plain JSONL or TSV; `-`: stdin")
    add_facts_arguments(p)
    p.add_argument("--candidates", default=None, metavar="FILE",
                   help="candidate objects, one a line (default: the distinct objects of each relation's pairs)")
    add_setting(p, FactSettings, "max_candidates", type=positive_int, metavar="N",
                help="keep the N most frequent objects as candidates; facts with other objects are dropped")
    add_setting(p, FactSettings, "limit", type=positive_int, metavar="N",
                help="evaluate the first N facts per relation")
    p.add_argument("-o", "--out", default=None, metavar="FILE",
                   help="write Score records as JSONL (per fact: subject, gold object, prediction, rank)")
    add_scorer_arguments(p)
    p.set_defaults(func=run)
    return p
