"""`promptmine paraphrase`: flags -> `promptmine.paraphrase(...)` -> JSONL records."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from promptmine.cli.backends import BackendFlags, parse_option_items
from promptmine.cli.checks import check_output, positive_int, stdin_path
from promptmine.cli.settings import add_setting, settings_from_args
from promptmine.core.errors import InputError, PromptmineError
from promptmine.paraphrasing.settings import ParaphraseSettings
from promptmine.paraphrasing.slots import PLACEHOLDER_STYLES
from promptmine.paraphrasing.spans import SpanSettings

# A slot written almost right: `[x]`, `[ X ]`, `[X` or `Y]`; a one-line prompt with one is a template
# with a typo, not free text.
SLOT_LIKE = re.compile(r"\[\s*[XYxy]\s*\]|\[\s*[XYxy]\b|\b[XYxy]\s*\]")


def _flags() -> BackendFlags:
    from promptmine.models.translate import PARAPHRASERS, TRANSLATORS

    return BackendFlags([TRANSLATORS, PARAPHRASERS])


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "paraphrase",
        help="paraphrase prompts by back-translation through pivot languages",
        description="Paraphrase prompts by back-translation (LPAQA): translate each prompt into pivot "
                    "languages with B candidates, each back with B candidates, rank the B*B round trips by "
                    "forward+backward log-probability (or by agreement across pivots for backends without "
                    "scores) and keep the top T. [X]/[Y] are protected and restored; candidates that lose "
                    "one are dropped. Writes JSONL records {source, template, pivot, backend, score}, "
                    "the original prompt first (pivot null). A prompt that is not a one-line template "
                    "([X] and [Y] once each) is treated as free text: split into sentences, translated, "
                    "and reassembled into --permutations variants.",
        epilog="examples:\n"
               "  promptmine paraphrase '[X] was born in [Y] .' --backend bergamot --generations 2\n"
               "  promptmine paraphrase --input relations.jsonl --pivots de,fr,es --beams 7 --top 40 "
               "--model-dir ~/models --out paraphrases.jsonl\n"
               "  promptmine paraphrase '[X] was born in [Y] .' --routes bergamot:pt,apertium:es\n"
               "  promptmine paraphrase --text-file prompt.txt --backend bergamot --permutations 5\n"
               "  promptmine paraphrase '[X] died in [Y] .' --backend openai --direct --model gpt-4o-mini",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("prompts", nargs="*", metavar="PROMPT", help="prompts to paraphrase (templates with [X] and [Y])")
    p.add_argument("--input", "--templates", dest="input", metavar="FILE",
                   help="templates to paraphrase in one batched run: JSONL with a `template` field (and "
                        "optional `relation`, e.g. LAMA's relations.jsonl) or plain text, one a line")
    p.add_argument("--text-file", metavar="FILE", help="a long free-text prompt (e.g. with few-shot examples) "
                                                        "to paraphrase as a whole")
    from promptmine.models.translate import PARAPHRASERS, TRANSLATORS

    p.add_argument("--backend", default="auto",
                   help=f"translator: auto, {', '.join(TRANSLATORS.names())} (default auto: every route installed "
                        f"here together: marian where its opus-mt models are in the store, the shipped bergamot "
                        f"EN<->PT, each Debian apertium English pair; with --pivots or a backend flag, one "
                        f"backend: marian if it has models, else bergamot); with --direct, a paraphraser "
                        f"({', '.join(PARAPHRASERS.names())})")
    p.add_argument("--direct", action="store_true",
                   help="ask a paraphraser backend for rewrites directly instead of a round trip")
    p.add_argument("--routes", "--pivots", dest="routes", metavar="ROUTES",
                   help="back-translation routes BACKEND:LANG, comma-separated (bergamot:pt,apertium:es); a bare "
                        "LANG is a pivot of --backend (--pivots de,fr); `auto` for every route installed here "
                        "(default: the backend's pivots, e.g. de,fr for marian, pt for bergamot, es for apertium)")
    add_setting(p, ParaphraseSettings, "src", help="language of the prompts (default %(default)s)")
    add_setting(p, ParaphraseSettings, "beams", "--beams", "-B", type=positive_int,
                help="candidates per translation step, B (default %(default)s)")
    add_setting(p, ParaphraseSettings, "top", "--top", "-T", type=positive_int,
                help="paraphrases kept per template, T (default %(default)s)")
    add_setting(p, ParaphraseSettings, "generations", type=positive_int, metavar="G",
                help="rounds of back-translation for templates: 2 or more round-trips the best paraphrases "
                     "again (chained pivots) and tries more input variants, which greedy translators such "
                     "as the shipped bergamot need for more than a few paraphrases; 1 is LPAQA's single "
                     "round trip (default: 1, and 2 for the templates one round trip left unchanged)")
    add_setting(p, ParaphraseSettings, "permutations", type=positive_int, metavar="N",
                help="number of distinct variants of a free-text prompt (default %(default)s)")
    add_setting(p, ParaphraseSettings, "placeholders", type=comma_list, metavar="STYLES",
                help=f"how [X]/[Y] travel, comma-separated from {', '.join(PLACEHOLDER_STYLES)} "
                     "(default: the backend's choice)")
    g = p.add_argument_group("free-text prompts", "Spans that come back byte-for-byte: {placeholders}, [X]/[Y], "
                                                  "cues opening a line (`Sentence:`), and the ones named here.")
    add_setting(g, SpanSettings, "labels", type=comma_list, metavar="WORDS",
                help="comma-separated label words to keep (e.g. positive,negative)")
    add_setting(g, SpanSettings, "keep", action="append", metavar="TEXT", help="a string to keep as it is (repeatable)")
    add_setting(g, SpanSettings, "keep_regex", action="append", metavar="REGEX", help="keep every match (repeatable)")
    add_setting(g, SpanSettings, "examples_verbatim", action="store_true",
                help="keep the few-shot example lines as they are; paraphrase only the instruction")
    add_setting(g, SpanSettings, "protect", "--no-protect", action="store_false",
                help="translate the whole text, protecting nothing")
    p.add_argument("-o", "--out", metavar="FILE", help="write JSONL here (atomically); default stdout")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the translation cache")
    _flags().add_to(p, "backend options", "Each backend's own settings (the backends that take a flag in [...]).")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="any backend option by its field name, e.g. --option threads=2 (repeatable)")
    p.set_defaults(func=run)
    return p


def comma_list(value: str) -> tuple[str, ...]:
    """A comma-separated list (`positive,negative`), blank items left out."""
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _gather_inputs(args) -> tuple[list[tuple[str | None, str]], list[str]]:
    """(relation, template) pairs and free-text prompts from the command line and files."""
    from promptmine.core.records import check_template

    templates: list[tuple[str | None, str]] = []
    texts: list[str] = []
    for prompt in args.prompts:
        if "\n" in prompt.strip():
            texts.append(prompt)
            continue
        try:
            templates.append((None, check_template(prompt.strip())))
        except ValueError as e:
            if SLOT_LIKE.search(prompt):  # a template with a typo, not free text
                raise PromptmineError(f"{e}: a one-line prompt with a slot is a template; fix the slot "
                                      "(free text with slots goes in --text-file)") from None
            texts.append(prompt)
    if args.input == "-" and args.text_file == "-":
        raise InputError("only one of --input and --text-file can be `-` (stdin)")
    if args.input:
        from promptmine.core.io import read_templates

        templates += read_templates(stdin_path(args.input, "templates"))
    if args.text_file:
        path = Path(stdin_path(args.text_file, "text"))
        if not path.is_file():
            raise InputError("no such file", path)
        texts.append(path.read_text(encoding="utf-8"))
    if not templates and not texts:
        raise PromptmineError("nothing to paraphrase: give PROMPT arguments, --input FILE or --text-file FILE")
    return templates, texts


def output_record(record) -> dict:
    """The JSONL line for a candidate: {source, template, pivot, backend, score} always present (null when
    unknown: the original has no pivot, scoreless backends no score), then relation and method."""
    from promptmine.core.records import Candidate

    d = record.to_json() if isinstance(record, Candidate) else dict(record)
    out = {k: d.get(k) for k in ("source", "template", "pivot", "backend", "score")}
    out.update({k: v for k, v in d.items() if k not in out})
    return out


def default_backend(args) -> str:
    """Marian when its models for a pivot are present (or a model folder is given), else the shipped
    Bergamot translator, so the command works out of the box; says which one runs."""
    from promptmine.core.progress import log
    from promptmine.models.translate import PARAPHRASERS, TRANSLATORS

    if args.direct:
        return PARAPHRASERS.names()[0]
    given = TRANSLATORS.validate("marian", _flags().options(args, "marian", TRANSLATORS))
    pivots = TRANSLATORS.resolve("marian").offered_pivots(given)  # empty: it was given models of its own
    choice = "marian" if not pivots or any(fix is None for fix in pivots.values()) else "bergamot"
    log(f"backend: {choice}" + ("" if choice == "marian" else " (shipped EN<->PT; no Marian models in the store)"))
    return choice


def _routes(args) -> list[tuple[str, list[str]]] | None:
    """--routes/--pivots as [(backend, pivots)], None when not given (or with --direct). Bare languages
    (`de,fr`) are pivots of --backend, or of the default backend (`default_backend`), as before."""
    from promptmine.paraphrasing.routes import parse_routes

    if not args.routes or args.direct:
        return None
    items = [i.strip() for i in args.routes.split(",") if i.strip()]
    if any(":" not in i for i in items) and args.backend == "auto" and args.routes.strip().lower() != "auto":
        args.backend = default_backend(args)
    routes = parse_routes(args.routes, backend=None if args.backend == "auto" else args.backend)
    if not routes:
        raise PromptmineError("--routes none: no route to paraphrase through; name BACKEND:LANG routes or auto")
    return routes


def _own(options: dict, backend: str) -> dict:
    """The --option items `backend`'s Options has (each route backend takes its own)."""
    from promptmine.models.translate import TRANSLATORS

    fields = TRANSLATORS.options(backend).model_fields
    return {k: v for k, v in options.items() if k in fields}


def run(args: argparse.Namespace) -> int:
    from promptmine.core.io import write_jsonl
    from promptmine.core.progress import log, plural
    from promptmine.models.translate import PARAPHRASERS, TRANSLATORS
    from promptmine.paraphrasing import paraphrase
    from promptmine.paraphrasing.routes import check_routes

    check_output(args.out)
    templates, texts = _gather_inputs(args)
    flags = _flags()
    registry = PARAPHRASERS if args.direct else TRANSLATORS
    routes, pivots = _routes(args), None
    if routes is not None and len(routes) == 1:  # one backend: --backend and its pivots
        (args.backend, pivots), routes = routes[0], None
    # the default: every installed route (Bergamot, each Apertium pair, Marian where its models are
    # here), unless a backend's own flag or pivots ask for one backend
    every_route = (args.backend == "auto" and not args.direct and not args.routes and not flags.given(args)
                   and not args.option)
    if routes is not None:  # several backends: each takes the flags and --option items it has
        flags.check_taken(args, {b: "route backend" for b, _ in routes})
        options = {b: {**flags.options(args, b, TRANSLATORS), **_own(parse_option_items(args.option), b)}
                   for b, _ in routes}
        check_routes(routes, options)
    else:
        if args.backend == "auto" and not every_route:
            args.backend = default_backend(args)
        if not every_route:
            flags.check_taken(args, {args.backend: "paraphraser" if args.direct else "backend"})
        options = {} if every_route else flags.options(args, args.backend, registry)
        options.update(parse_option_items(args.option))
        if pivots:
            check_routes([(args.backend, pivots)], {args.backend: options})
    settings = settings_from_args(args, ParaphraseSettings, placeholders=args.placeholders or None)
    if texts and args.permutations == ParaphraseSettings.default("permutations") and not args.direct:
        log("paraphrase: free-text prompt (not a one-line template with [X] and [Y]); "
            f"writing {settings.permutations} variants (--permutations N)")
    result = paraphrase([t for _, t in templates], texts=texts, backend=args.backend, options=options,
                        direct=args.direct, pivots=pivots, routes=routes, relations=[r for r, _ in templates],
                        cache=not args.no_cache, settings=settings, spans=settings_from_args(args, SpanSettings))
    stats = result.stats
    groups = result.candidates + result.texts
    summary = (f"{plural(stats.kept, 'paraphrase')} of {plural(stats.inputs, 'input')}; "
               f"{stats.dropped:,} dropped for a lost slot")
    if not any(len(group) > 1 for group in groups):  # each group starts with its input
        raise PromptmineError(f"no paraphrases ({summary}): every round trip came back the same or was dropped; "
                              "try other --routes, more --beams, --generations 2 or another --backend")
    records = [output_record(r) for group in groups for r in group]
    n = write_jsonl(args.out, records)
    if args.out not in (None, "-"):
        log(f"paraphrase: wrote {plural(n, 'record')} to {args.out} ({summary})")
    else:
        log(f"paraphrase: {summary}")
    return 0
