"""`promptmine run`: flags -> `promptmine.run(...)` -> the report.

The scorer and the translators of the --routes (--pivots) routes share one set of flags: a flag goes to the
scorer when it takes it, and to a route's translator when the scorer does not take it (--model-dir,
--base-url with a local scorer) or the translator is the same backend (openai with --scorer openai).
Where both take a flag, `--translator-NAME` sets the translators' own value (--translator-device cpu).
"""

from __future__ import annotations

import argparse

from promptmine.cli.backends import BackendFlags
from promptmine.cli.checks import check_output, fraction, non_negative_int, positive_int, stdin_path
from promptmine.cli.evaluate import add_scorer_arguments, scorer_flags
from promptmine.cli.select import add_strategy_arguments, strategy_from_args
from promptmine.cli.settings import add_setting, settings_from_args
from promptmine.core.errors import PromptmineError
from promptmine.corpora import SAMPLE_PAIRS, SAMPLE_RELATIONS
from promptmine.pipeline import RUN_OUT, RunSettings
from promptmine.selection import OptimizedEnsemble, RankEnsemble
from promptmine.selection.stages import STAGES, SearchSettings
from promptmine.tasks.settings import DIMENSIONS, TASK_OUT, TASK_ROUTES, TaskSettings

PREFIX = "translator-"


def _translator_flags() -> tuple[BackendFlags, BackendFlags]:
    """(the translators' flags by their own names, the same with the --translator- prefix)."""
    from promptmine.models.translate import TRANSLATORS

    return BackendFlags([TRANSLATORS]), BackendFlags([TRANSLATORS], prefix=PREFIX)


def _colliding(scorer: BackendFlags, prefixed: BackendFlags) -> list[str]:
    """The prefixed flags whose plain name is also a scorer flag, for translators that are not also a
    scorer backend (a translator named like a scorer, e.g. openai, shares that scorer's flags)."""
    from promptmine.models.score import SCORERS

    return [f for f, flag in prefixed.flags.items() if "--" + f[2 + len(PREFIX):] in scorer.flags
            and set(flag.takers) - set(SCORERS.names())]


def translator_options(args: argparse.Namespace, routes: list[tuple[str, list[str]]]) -> dict[str, dict]:
    """Options per route backend, and an error for a flag that neither the scorer nor a route takes."""
    from promptmine.models.translate import TRANSLATORS

    scorer = scorer_flags()
    plain, prefixed = _translator_flags()
    colliding = _colliding(scorer, prefixed)
    backends = [b for b, _ in routes]
    out: dict[str, dict] = {}
    for backend in backends:
        try:
            TRANSLATORS.resolve(backend)
        except (PromptmineError, ImportError):
            continue  # an unknown or unavailable route is skipped with a note by `open_routes`
        passes = [f for f in plain.flags if backend == args.scorer or f not in scorer.flags
                  or args.scorer not in scorer.flags[f].takers]
        opts = plain.options(args, backend, TRANSLATORS, only=passes)
        opts.update(prefixed.options(args, backend, TRANSLATORS, only=colliding))
        out[backend] = opts
    for flag in {**scorer.given(args), **plain.given(args), **prefixed.given(args)}:
        takers = set(scorer.flags[flag].takers) & {args.scorer} if flag in scorer.flags else set()
        for flags in (plain, prefixed):
            if flag in flags.flags:
                takers |= set(flags.flags[flag].takers) & set(backends)
        if not takers:
            raise PromptmineError(f"neither the {args.scorer} scorer nor a --routes route "
                                  f"({', '.join(backends) or 'none'}) takes {flag}")
    return out


def held_out(text: str) -> int | float:
    """--held-out: a count of examples (300) or a share of them (0.4)."""
    return positive_int(text) if text.strip().isdigit() else fraction(text)


def dimensions(text: str) -> list[str]:
    """--dimensions: a comma-separated subset of the task search's dimensions (`all` for every one)."""
    if text.strip() == "all":
        return list(DIMENSIONS)
    out = [d.strip() for d in text.split(",") if d.strip()]
    bad = [d for d in out if d not in DIMENSIONS]
    if bad or not out:
        raise argparse.ArgumentTypeError(f"unknown dimension(s) {', '.join(bad) or '(none)'}; choose from "
                                         f"{', '.join(DIMENSIONS)} or all")
    return out


def run_task(args: argparse.Namespace) -> int:
    """`run --task`: search the prompt's calibration, label words, format, demonstrations and wording."""
    from promptmine.models.score import SCORERS
    from promptmine.paraphrasing.routes import check_routes, parse_routes
    from promptmine.tasks import optimize_task

    if (args.prompt is None) == (args.prompt_file is None):
        raise PromptmineError("--task needs the prompt: --prompt TEXT or --prompt-file FILE (one of them)")
    if args.prompt_file is not None:
        try:
            prompt = open(args.prompt_file, encoding="utf-8-sig").read().rstrip()
        except OSError as e:
            raise PromptmineError(f"cannot read --prompt-file {args.prompt_file}: {e.strerror}") from None
    else:
        prompt = args.prompt
    args.out = args.out or TASK_OUT
    if not args.dry_run:
        check_output(args.out, folder=True)
    routes = parse_routes(args.routes or TASK_ROUTES) if "wording" in args.dimensions else []
    per_backend = translator_options(args, routes)
    check_routes(routes, per_backend)
    settings = settings_from_args(args, TaskSettings,
                                  strategy=strategy_from_args(args, like=TaskSettings.default("strategy")))
    result = optimize_task(prompt, args.task, args.scorer, settings, heldout=args.heldout_file, pool=args.pool,
                           routes=routes, translator_options=per_backend,
                           options=scorer_flags().options(args, args.scorer, SCORERS),
                           out=None if args.dry_run else args.out, cache=None if args.no_cache else "default",
                           dry_run=args.dry_run)
    if args.dry_run:
        print(result.describe())
        return 0
    print(f"held-out split ({result.n_heldout} examples; chosen on {result.n_selection}):")
    for name, m in result.heldout_metrics.items():
        d = result.intervals.get(name)
        print(f"  {name:32} accuracy {100 * m.accuracy:5.1f}  macro-F1 {100 * m.macro_f1:5.1f}"
              + ("" if d is None else f"  vs original {100 * d[0]:+.1f} [{100 * d[1]:+.1f}, {100 * d[2]:+.1f}]"))
    print(result.recommendation)
    print(f"the prompt to use: {result.report.parent / 'best_prompt.txt'}; report: {result.report}")
    return 0


RELATION_FLAGS = {"relations": "--relations", "pairs": "--pairs", "corpus": "--corpus", "mined": "--mined",
                  "paraphrased": "--paraphrased", "test_fraction": "--test-fraction",
                  "max_candidates": "--max-candidates", "strict": "--strict"}
TASK_FLAGS = {"prompt": "--prompt", "prompt_file": "--prompt-file", "verbalisers": "--verbalisers",
              "label_names": "--label-names", "fixed_labels": "--fix-label", "any_words": "--any-label-words",
              "heldout_file": "--heldout-file", "held_out": "--held-out",
              "pool": "--pool",
              "selection_size": "--selection-size", "max_demos": "--max-demos",
              "permutations": "--permutations", "keep": "--keep", "keep_regex": "--keep-regex",
              "dry_run": "--dry-run"}


def _set(args: argparse.Namespace, flags: dict[str, str]) -> list[str]:
    """The flags among `flags` (dest -> flag) the user gave a value other than its default."""
    defaults = getattr(args, "_defaults", {})
    return [flag for dest, flag in flags.items() if getattr(args, dest, None) != defaults.get(dest)]


def run(args: argparse.Namespace) -> int:
    from promptmine.core.progress import warn

    if args.task:
        ignored = _set(args, RELATION_FLAGS)
        if ignored:
            warn(f"run --task: {', '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} for relation runs; ignored")
        return run_task(args)
    task_only = _set(args, TASK_FLAGS)
    if task_only:
        raise PromptmineError(f"{', '.join(task_only)} {'needs' if len(task_only) == 1 else 'need'} --task FILE "
                              "(the labelled examples); without --task, run compares relation prompts")
    from promptmine.models.score import SCORERS
    from promptmine.paraphrasing.routes import check_routes, parse_routes
    from promptmine.pipeline import run as run_pipeline

    args.out = args.out or RUN_OUT
    check_output(args.out, folder=True)
    routes = parse_routes(args.routes or "auto")
    per_backend = translator_options(args, routes)
    check_routes(routes, per_backend)
    if [args.relations, args.pairs, *(args.corpus or [])].count("-") > 1:
        raise PromptmineError("only one of --relations, --pairs and --corpus can be `-` (stdin)")
    args.relations, args.pairs = stdin_path(args.relations, "templates"), stdin_path(args.pairs, "pairs")
    args.corpus = [stdin_path(c, "corpus") for c in args.corpus] if args.corpus else args.corpus
    search = SearchSettings()
    if _set(args, {"dimensions": "--dimensions"}):
        given = STAGES if set(args.dimensions) == set(DIMENSIONS) else args.dimensions  # `all`
        bad = [d for d in given if d not in STAGES]
        if bad:
            raise PromptmineError(f"--dimensions: {', '.join(bad)} is for --task runs; a relation run searches "
                                  f"{', '.join(STAGES)}")
        search = SearchSettings(dimensions=tuple(given))
    settings = settings_from_args(args, RunSettings, strategy=strategy_from_args(args), rank=RankEnsemble(k=args.k),
                                  optimized=OptimizedEnsemble(k=args.k), search=search)
    result = run_pipeline(args.relations, args.pairs, args.corpus, out=args.out, routes=routes,
                          translator_options=per_backend, scorer=args.scorer,
                          options=scorer_flags().options(args, args.scorer, SCORERS), cache=not args.no_cache,
                          settings=settings)
    print(result.table)
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "run", help="the whole pipeline: mine, paraphrase, select, evaluate; writes a report",
        description="Mine templates from a corpus and paraphrase each relation's manual template, then "
                    "pick prompts on a training half of the pairs and compare, on the test half, the manual "
                    "prompt, the best mined, the best paraphrased, the best of all, a top-K rank ensemble and "
                    "an optimised ensemble. Writes report.md, accuracy.png (bar chart), candidates.jsonl, "
                    "selections.jsonl and scores.jsonl. With no arguments it runs on the bundled sample "
                    "(corpora/) in a few minutes on a CPU. The scorer's defaults are the same as in "
                    "evaluate and select, so they share the score cache.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  promptmine run\n"
               "  promptmine run --relations rels.jsonl --pairs facts.jsonl --corpus wiki1.txt wiki2.txt --out report/\n"
               "  promptmine run --routes marian:de,bergamot:pt --model-dir ~/opus-mt --translator-device cpu\n"
               "  promptmine run --task reviews.jsonl --prompt-file prompt.txt "
               "--verbalisers positive=Positive,negative=Negative -o task-report/")
    p.add_argument("--relations", default=str(SAMPLE_RELATIONS), metavar="FILE",
                   help="JSONL with `relation` and its manual `template` (default: the bundled sample)")
    p.add_argument("--pairs", default=str(SAMPLE_PAIRS), metavar="FILE",
                   help="facts with a relation (LAMA/T-REx JSONL with predicate_id; default: the bundled sample)")
    p.add_argument("--corpus", nargs="+", default=None, metavar="FILE",
                   help="text to mine, one sentence or paragraph a line (default: corpora/sample_corpus*.txt)")
    p.add_argument("-o", "--out", metavar="DIR", help=f"report folder (default: {RUN_OUT}; with --task: {TASK_OUT})")
    add_setting(p, RunSettings, "mined", type=non_negative_int, metavar="N",
                help="mined templates kept per relation (default: %(default)s)")
    add_setting(p, RunSettings, "paraphrased", type=non_negative_int, metavar="N",
                help="paraphrases kept per relation (default: %(default)s)")
    p.add_argument("--routes", "--pivots", dest="routes", default=None, metavar="ROUTES",
                   help="back-translation routes BACKEND:LANG, comma-separated; unavailable ones are skipped, "
                        "`auto` for every route installed here, `none` for no paraphrasing (default: auto; "
                        f"with --task: {TASK_ROUTES})")
    add_setting(p, RunSettings, "test_fraction", type=fraction,
                help="share of each relation's pairs for testing (default: %(default)s)")
    add_setting(p, RunSettings, "seed", type=int, help="seed of the split and the dev split (default: %(default)s)")
    p.add_argument("--k", type=positive_int, default=RankEnsemble.k,
                   help="templates in the rank ensemble (default: %(default)s)")
    add_setting(p, RunSettings, "max_candidates", type=positive_int, metavar="N",
                help="candidate objects per relation: the N most frequent (default: all distinct objects)")
    add_strategy_arguments(p, "candidates")
    add_setting(p, RunSettings, "strict", action="store_true",
                help="a malformed line of the pairs file is an error (default: skipped and reported)")
    t = p.add_argument_group(
        "task prompts (--task)",
        "A classification prompt with slots ({text}, or {premise} and {hypothesis}: the examples' fields) and "
        "labelled examples (JSONL, or CSV/TSV with a header row). The search varies, one after another, the "
        "calibration and label words, the format (field names, separators, casing, enumerators), the "
        "demonstrations (from --pool or the selection data) and the instruction's wording (back-translation "
        "through the --routes, protected spans kept), racing candidates on a selection split within --budget (example, prompt) scorings; the "
        "original, the selected prompt and the ensembles are reported on a held-out split. The relation flags "
        "above do not apply (except --routes, --selection, --budget, --seed, --k).")
    t.add_argument("--task", metavar="FILE", help="labelled examples with the prompt's slot fields and `label`: "
                                                  "JSONL (.jsonl), or CSV/TSV (.csv, .tsv) with a header row")
    t.add_argument("--prompt", metavar="TEXT", help="the prompt, with {text} (or other {field} slots) where an example goes")
    t.add_argument("--prompt-file", metavar="FILE", help="read the prompt from FILE")
    add_setting(t, TaskSettings, "verbalisers", metavar="SPEC",
                help="label=Word[|Word...],... e.g. positive=Positive,negative=Negative "
                     "(default: each label capitalised)")
    add_setting(t, TaskSettings, "label_names", metavar="SPEC",
                help="what labels stored as integers stand for: LABEL=NAME,... e.g. 0=negative,1=positive "
                     "(--verbalisers and --fix-label then use the names; default: the labels as they are)")
    add_setting(t, TaskSettings, "fixed_labels", "--fix-label", action="append", metavar="LABEL",
                help="keep this label's words as given (repeatable; default: the search may change them)")
    add_setting(t, TaskSettings, "any_words", "--any-label-words", action="store_true",
                help="label words: let the search use any word the model prefers, fragments, function words and "
                     "words of another label's meaning included (default: whole content words that do not "
                     "contradict your words)")
    t.add_argument("--heldout-file", metavar="FILE", help="held-out examples (default: --held-out of --task)")
    add_setting(t, TaskSettings, "held_out", type=held_out, metavar="N|F",
                help="without --heldout-file: examples of --task held out, a count or a share (default: a third)")
    t.add_argument("--pool", metavar="FILE", help="labelled examples to draw demonstrations from (default: what "
                                                  "--selection-size leaves of the selection data, else a tenth of it)")
    add_setting(t, TaskSettings, "selection_size", type=positive_int, metavar="N",
                help="selection examples the search judges on (default: %(default)s)")
    add_setting(t, TaskSettings, "dimensions", type=dimensions, metavar="LIST",
                help=f"what to search, in order: with --task {','.join(DIMENSIONS)}; in a relation run "
                     f"{','.join(STAGES)} (after the wording: the Searched rows); or all (default: all)")
    add_setting(t, TaskSettings, "max_demos", type=positive_int, metavar="K",
                help="demonstrations per label at most (default: %(default)s)")
    add_setting(t, TaskSettings, "permutations", type=positive_int, metavar="N",
                help="wording: variants per --routes route (default: %(default)s)")
    add_setting(t, TaskSettings, "keep", action="append", metavar="TEXT",
                help="a string no variant may change (repeatable)")
    add_setting(t, TaskSettings, "keep_regex", action="append", metavar="REGEX", help="keep every match (repeatable)")
    t.add_argument("--dry-run", action="store_true",
                   help="print the planned scorings per stage and a time estimate, then stop (no model work)")
    scorer = add_scorer_arguments(p)
    plain, prefixed = _translator_flags()
    plain.add_to(p, "translator options", "Options of the --routes' translators (the backends that "
                 "take a flag in [...]); flags the scorer also takes are under their --translator- name.",
                 skip=list(scorer.flags))
    prefixed.add_to(p, "translator options where the scorer has the same flag",
                    skip=[f for f in prefixed.flags if f not in _colliding(scorer, prefixed)])
    p.set_defaults(func=run, _defaults={dest: p.get_default(dest)
                                        for dest in {**RELATION_FLAGS, **TASK_FLAGS, "dimensions": None}})
    return p
