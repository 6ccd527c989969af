"""The miner (`promptmine.mine`): find the templates a corpus uses for relations, given their (subject, object) pairs.

One pass over the corpus mines every relation at once:

1. stream sentences (`promptmine.mining.corpus`), in batches;
2. find all subject and object mentions with one Aho-Corasick automaton (`promptmine.mining.match`) and keep
   sentences that mention the subject and the object of the same pair;
3. parse only those sentences (spaCy `nlp.pipe`, batched; tokenizer only when no chosen extractor
   needs the parse);
4. turn each mention into templates with the chosen extractors (`promptmine.mining.extractors`: middle
   words, dependency path);
5. count each template per distinct pair and per sentence, and rank by distinct pairs.

Steps 2-4 are `promptmine.mining.counting.mine_batch`, a pure function of one batch, so `mine` runs it here
(serial) or in shards on a process pool or a Ray cluster (`promptmine.mining.sharded`) with the
same result.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from promptmine import filters
from promptmine.core.errors import InputError
from promptmine.core.records import Candidate, Pair, template_key
from promptmine.core.settings import take
from promptmine.mining import extractors
from promptmine.mining.corpus import Sentence, iter_corpus
from promptmine.mining.counting import MineCounts, PairIndex, TemplateCount, mine_batch
from promptmine.mining.settings import MiningSettings
from promptmine.sharding import ShardReport, ShardSettings


# ----------------------------------------------------------------------------------------- ranking


def rank(counts: MineCounts, top: int, *, min_pairs: int = filters.MIN_PAIRS,
         removed: dict[str, int] | None = None) -> dict[str, list[Candidate]]:
    """Best first per relation: distinct pairs, then sentences, then text.

    Variants of one phrasing (`template_key`: spacing, punctuation, the determiner before a slot),
    from any method, are one candidate: its pairs are the union of theirs, it is shown in the form
    `filters.display_order` prefers (then the best supported), and labelled with the method that saw
    it with more pairs (the first registered on a tie). `promptmine.filters` then removes templates
    that are not phrasings of the relation or have fewer than `min_pairs` pairs; `removed`, if given,
    receives the count per filter and of variants merged (`merged_variants`)."""
    order = {m: n for n, m in enumerate(extractors.names())}
    groups: dict[tuple[str, str], dict[tuple[str, str], TemplateCount]] = defaultdict(dict)
    for (relation, method, template), c in counts.templates.items():
        groups[(relation, template_key(template))][(method, template)] = c
    removed = removed if removed is not None else {}
    for name in ("merged_variants",) + filters.FILTERS:
        removed.setdefault(name, 0)
    kept: list[tuple[str, str, TemplateCount, str]] = []
    for (relation, _), variants in groups.items():
        total = TemplateCount()
        by_method: dict[str, set[int]] = defaultdict(set)
        by_text: dict[str, set[int]] = defaultdict(set)
        for (method, template), c in variants.items():
            total.absorb(c)  # sentences add up: each sentence was counted once per template and method
            by_method[method] |= c.pairs
            by_text[template] |= c.pairs
        removed["merged_variants"] += len(by_text) - 1
        text = min(by_text, key=lambda t: (filters.display_order(t), -len(by_text[t]), t))
        reason = filters.rejection(text, len(total.pairs), min_pairs=min_pairs)
        if reason is not None:
            removed[reason] += 1
            continue
        method = min(by_method, key=lambda m: (-len(by_method[m]), order.get(m, len(order)), m))
        kept.append((relation, text, total, method))
    per_rel: dict[str, list[Candidate]] = defaultdict(list)
    for relation, template, c, method in sorted(kept, key=lambda k: (k[0], -len(k[2].pairs), -k[2].sentences, k[1])):
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
    shards: ShardReport | None = None  # what a sharded run processed and resumed; None when serial


# ------------------------------------------------------------------------------------- pipeline


def mine(corpus: str | Path | Sequence[str | Path], pairs: Sequence[Pair], settings: MiningSettings | None = None,
         shards: ShardSettings | None = None, *, nlp=None, chunk: int | None = None, **fields) -> MineResult:
    """Mine templates for every relation in `pairs` (each pair must have `.relation`) in one corpus pass.

    `corpus`: files or folders (text, .gz, JSONL with the text under `settings.text_field`).
    `settings`: `MiningSettings` (`methods`: template extractors by name, `promptmine.mining.extractors`;
    `case_sensitive`/`fold` control matching, see `promptmine.mining.match.Matcher`; `strict` turns
    skipped bad lines into an error; `top`, `min_pairs`, ...); its fields may also be given as
    keywords (`mine(corpus, pairs, top=10)`), as may `shards`' fields. `nlp` is a spaCy pipeline,
    else `settings.spacy_model` (default: the best installed model) is loaded, with the parser only
    when a chosen extractor needs it; `chunk`: sentences held at a time (default 8 parse batches).
    Templates seen with fewer than `min_pairs` distinct pairs, or that `promptmine.filters` rejects,
    are dropped (counted in `.stats`, `removed_*`).

    Serial in this process by default. With `shards` (`ShardSettings`) asking for `workers > 1`,
    `engine="ray"`, `resume` or a `work_dir`, the corpus is mined in shards of `shard_lines` lines by
    `workers` processes (or Ray actors on the cluster at `address`; None starts a local Ray), keeping
    shard results in `work_dir` (a temporary folder when None) so `resume=True` continues an
    interrupted run. Both give the same result; a sharded one carries its `ShardReport` in `.shards`.
    Bad arguments raise ValueError."""
    settings, shards = take(fields, (MiningSettings, settings), (ShardSettings, shards), who="mine")
    paths = [corpus] if isinstance(corpus, (str, Path)) else list(corpus)
    extractors.resolve(settings.methods)
    if shards.workers > 1 or shards.engine != "local" or shards.resume or shards.work_dir is not None:
        if nlp is not None:
            raise ValueError("a sharded run loads its own spaCy pipeline in each worker: pass spacy_model, not nlp")
        return _mine_sharded(paths, pairs, settings, shards)
    return _mine_serial(paths, pairs, settings, nlp=nlp, chunk=chunk)


def _mine_serial(paths: list, pairs: Sequence[Pair], settings: MiningSettings, *, nlp,
                 chunk: int | None) -> MineResult:
    """`mine_batch` over the corpus in chunks, in this process."""
    from promptmine.core.progress import log, progress
    from promptmine.models.parser import has_parser, load_parser

    index = PairIndex(pairs, settings)
    parse = extractors.needs_parse(settings.methods)
    if nlp is None:
        nlp = load_parser(settings.spacy_model, parse=parse)
    if parse and not has_parser(nlp):
        needing = [m for m in settings.methods if extractors.EXTRACTORS.resolve(m).needs_parse]
        raise ValueError(f"{', '.join(needing)} templates need a spaCy pipeline with a parser")

    skipped = 0

    def on_error(err: InputError) -> None:
        nonlocal skipped
        if settings.strict:
            raise err
        skipped += 1
        if skipped <= 5:
            log(f"skipped: {err}")

    total = MineCounts()
    chunk = chunk or settings.batch_size * 8
    batch: list[Sentence] = []
    bar = progress(desc="mining", unit="sent")

    def flush() -> None:
        total.merge(mine_batch(batch, index, nlp, settings))
        bar.update(len(batch))
        bar.set_postfix(matched=total.matched, refresh=False)
        batch.clear()

    try:
        for sentence in iter_corpus(paths, None if settings.strict else on_error, text_field=settings.text_field):
            batch.append(sentence)
            if len(batch) >= chunk:
                flush()
        if batch:
            flush()
    finally:
        bar.close()
    if skipped > 5:
        log(f"skipped {skipped:,} bad corpus lines in all (use --strict to stop at the first)")
    return mine_result(total, skipped, settings)


def _mine_sharded(paths: list, pairs: Sequence[Pair], settings: MiningSettings, shards: ShardSettings) -> MineResult:
    """The corpus in shards (`promptmine.mining.sharded`), ranked as the serial run."""
    import shutil
    import tempfile

    from promptmine.core.progress import log
    from promptmine.mining.sharded import mine_counts

    if shards.work_dir is None and shards.resume:
        raise ValueError("resume needs a work_dir, where the earlier run kept its shard results")
    temporary = shards.work_dir is None
    work = Path(tempfile.mkdtemp(prefix="promptmine-shards-")) if temporary else shards.work_dir
    ray_init = {"num_cpus": shards.workers} if shards.engine == "ray" and shards.address in (None, "", "local") \
        else None
    try:
        total, skipped, report = mine_counts(paths, list(pairs), settings, shards.model_copy(update={"work_dir": work}),
                                             ray_init=ray_init)
    finally:
        if temporary:
            shutil.rmtree(work, ignore_errors=True)
    if skipped > 5:
        log(f"skipped {skipped:,} bad corpus lines in all (use --strict to stop at the first)")
    log(report.summary().split("; shard results in")[0] if temporary else report.summary())
    result = mine_result(total, skipped, settings)
    result.shards = report
    return result


def mine_result(total: MineCounts, skipped: int, settings: MiningSettings) -> MineResult:
    """Rank merged counts (`settings.top`, `settings.min_pairs`) and summarise the run; the serial and
    sharded miners both end here. `stats` has `merged_variants` and `removed_<filter>` for each of
    `filters.FILTERS`."""
    removed: dict[str, int] = {}
    candidates = rank(total, settings.top, min_pairs=settings.min_pairs, removed=removed)
    stats = {"sentences_read": total.read, "sentences_matched": total.matched, "sentences_parsed": total.parsed,
             "mentions": total.mentions, "skipped_lines": skipped, "parse_seconds": round(total.parse_seconds, 3),
             "templates_found": len({(r, t) for r, _, t in total.templates}),
             "templates_kept": sum(len(v) for v in candidates.values()), "relations": len(candidates),
             "merged_variants": removed.pop("merged_variants"), **{f"removed_{k}": v for k, v in removed.items()}}
    return MineResult(candidates, stats, total)
