"""`promptmine.run` (`promptmine run`): mine -> paraphrase -> select -> evaluate for a relations file, with a report.

Per relation, the pairs are split into a training half (mining, selection, ensemble weights) and a
test half (evaluation), and the ways of prompting of LPAQA's tables are compared
(`promptmine.selection.compare`); the report is `promptmine.report.write_report`'s.
"""

from __future__ import annotations

import glob
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from promptmine.core.errors import InputError, PromptmineError
from promptmine.core.io import staged_folder
from promptmine.core.progress import log, plural, stage
from promptmine.core.records import Candidate, Pair
from promptmine.core.settings import Seeded, take
from promptmine.models.score import DEFAULT_SCORER
from promptmine.paraphrasing.pool import GROWN
from promptmine.paraphrasing.routes import parse_routes
from promptmine.paraphrasing.settings import ParaphraseSettings
from promptmine.corpora import CORPORA_DIR as CORPORA, SAMPLE_PAIRS, SAMPLE_RELATIONS
from promptmine.report import comparison_tables, hygiene_note, write_report
from promptmine.scoring import RelationFacts, relation_facts
from promptmine.selection import Comparison, Exhaustive, OptimizedEnsemble, Pool, Race, RankEnsemble, compare
from promptmine.selection.stages import SearchSettings


class SplitSettings(Seeded):
    """How each relation's pairs are split into training and test facts (`split`, `run`)."""

    test_fraction: float = Field(0.5, description="share of each relation's pairs for testing (between 0 and 1)")


class RunSettings(SplitSettings):
    """`run`'s settings besides its inputs, outputs and backends (`promptmine run`)."""

    mined: int = Field(10, ge=0, description="mined templates kept per relation")
    paraphrased: int = Field(10, ge=0, description="paraphrases kept per relation")
    max_candidates: int | None = Field(None, ge=1, description="candidate objects per relation: the N most frequent "
                                                               "(None: all distinct objects)")
    strict: bool = Field(False, description="a malformed line of the pairs file is an error (else skipped and "
                                            "reported)")
    strategy: Race | Exhaustive = Field(Race(), description="how candidates are scored on training facts "
                                                            "(`promptmine.selection`)")
    rank: RankEnsemble = Field(RankEnsemble(), description="the top-K rank ensemble")
    optimized: OptimizedEnsemble = Field(OptimizedEnsemble(), description="the optimised ensemble")
    search: SearchSettings = Field(SearchSettings(), description="the relation search's stages after the wording "
                                                                 "(`promptmine.selection.stages`)")


def split_pairs(pairs: Sequence[Pair], test_fraction: float, seed: int) -> tuple[list[Pair], list[Pair]]:
    """(train, test) per relation, shuffled by a fixed seed; each relation keeps both halves non-empty
    when it has at least two pairs."""
    by_rel: dict[str | None, list[Pair]] = {}
    for p in pairs:
        by_rel.setdefault(p.relation, []).append(p)
    train, test = [], []
    for rel in sorted(by_rel, key=str):
        ps = list(by_rel[rel])
        random.Random(f"{seed}:{rel}").shuffle(ps)
        n_test = min(len(ps) - 1, max(1, round(len(ps) * test_fraction))) if len(ps) > 1 else 0
        test += ps[:n_test]
        train += ps[n_test:]
    return train, test


def split(pairs, settings: SplitSettings | None = None, *, train_out: str | Path | None = None,
          test_out: str | Path | None = None, strict: bool = False, **fields) -> tuple[list[Pair], list[Pair]]:
    """(train, test) facts, split per relation as `run` splits them (`split_pairs`, `settings`:
    `test_fraction` and `seed`, also as keywords), so one can `select` on the first and `evaluate` on
    the second. `pairs`: a pairs file or a list of Pairs (`strict`: a malformed line is an error, not
    skipped). With `train_out`/`test_out`, each set is written as JSONL of `subject`, `object`,
    `relation`."""
    from promptmine.core.io import read_pairs, write_jsonl
    from promptmine.core.progress import plural, warn

    [settings] = take(fields, (SplitSettings, settings), who="split")
    test_fraction, seed = settings.test_fraction, settings.seed

    if not 0 < test_fraction < 1:
        raise PromptmineError(f"test_fraction must be between 0 and 1, got {test_fraction:g}")
    path = pairs if isinstance(pairs, (str, Path)) else None
    pairs = read_pairs(path, strict=strict) if path is not None else list(pairs)
    if not pairs:
        raise InputError("no pairs", path)
    train, test = split_pairs(pairs, test_fraction, seed)
    alone = sorted({str(p.relation) for p in train} - {str(p.relation) for p in test})
    if alone:
        warn(f"split: {', '.join(alone)} {'has' if len(alone) == 1 else 'have'} one pair only, kept for training")
    for out, part, what in ((train_out, train, "training"), (test_out, test, "test")):
        if out is not None:
            write_jsonl(out, [p.model_dump(exclude_none=True) for p in part])
            log(f"split: {plural(len(part), what + ' pair')} to {out}")
    log(f"split: {plural(len({p.relation for p in pairs}), 'relation')}, seed {seed}, "
        f"test fraction {test_fraction:g}")
    return train, test

def relation_labels(path: str | Path) -> dict[str, str]:
    """relation -> its `label` in a relations JSONL (LAMA's relations.jsonl has them); {} for other files."""
    from promptmine.core.io import iter_jsonl

    if not str(path).endswith((".jsonl", ".json", ".jsonl.gz")):
        return {}
    return {obj["relation"]: obj["label"] for _, obj in iter_jsonl(path)
            if isinstance(obj.get("relation"), str) and isinstance(obj.get("label"), str) and obj["label"].strip()}

# -- candidates: mining and paraphrasing ---------------------------------------------------------

def mine_pools(corpus: Sequence[str], train_pairs: Sequence[Pair], top: int) -> dict[str, list[Candidate]]:
    from promptmine.mining import MiningSettings, mine

    result = mine(list(corpus), list(train_pairs), MiningSettings(top=top))
    log(f"mine: {result.stats.get('sentences_matched', '?')} sentences matched, "
        f"{plural(result.stats.get('templates_kept', 0), 'template')} kept")
    return result.candidates


def paraphrase_pools(manual: dict[str, str], routes: Sequence[tuple[str, list[str]]], settings: ParaphraseSettings,
                     options: dict[str, dict] | None = None, *, dropped: list[dict] | None = None
                     ) -> dict[str, list[Candidate]]:
    """Paraphrases of each manual template from all (backend, pivots) routes available here together,
    grown over `settings.generations` (None: `GROWN`; `promptmine.paraphrasing.grow_paraphrases`:
    chained pivots, round trips of the best round trips), best first, at most `settings.top` per
    relation; a missing backend or pivot is skipped with a note. Every relation is a key: an empty
    list means no paraphrase. `options`: per backend name, its options (e.g. `{"marian": {"model_dir":
    "~/models"}}`). `dropped`, when given, receives the paraphrases `filters.hygiene` dropped
    ({relation, template, method, reason})."""
    from promptmine.paraphrasing import RoundTripStats, grow_paraphrases, open_routes

    rels = list(manual)
    usable = open_routes(routes, options)
    if not usable:
        return {rel: [] for rel in rels}
    stats = RoundTripStats()
    found = grow_paraphrases([manual[r] for r in rels], usable, settings, relations=rels, stats=stats)
    if dropped is not None:
        dropped += [{"relation": rels[i], "template": text, "method": "paraphrase", "reason": why}
                    for i, text, why in stats.rejected]
    out = {rel: [c for c in cands if c.pivot] for rel, cands in zip(rels, found)}  # drop the original
    empty = [rel for rel in rels if not out[rel]]
    log(f"paraphrase: {plural(sum(map(len, out.values())), 'paraphrase')} via "
        + ", ".join(f"{t.name}:{','.join(p)}" for t, p in usable)
        + f" ({plural(settings.generations or GROWN, 'generation')})"
        + (f"; none for {', '.join(empty)}" if empty else ""))
    return out


def clean_mined(found: dict[str, list[Candidate]], manual: dict[str, str],
                dropped: list[dict]) -> dict[str, list[Candidate]]:
    """The mined candidates `filters.hygiene` keeps (relative to each relation's manual template);
    the others are appended to `dropped` with their reason."""
    from promptmine.filters import hygiene

    out = {}
    for rel, cands in found.items():
        out[rel] = []
        for c in cands:
            why = hygiene(c.template, manual[rel]) if rel in manual else None
            if why:
                dropped.append({"relation": rel, "template": c.template, "method": c.method, "reason": why})
            else:
                out[rel].append(c)
    return out



def warn_unmatched(pairs: Sequence[Pair], manual: dict[str, str], relations_path, pairs_path) -> None:
    """Say what `run` leaves out rather than dropping it silently: relations of the relations file
    without a fact, and facts without a relation or of a relation the file does not have."""
    from collections import Counter

    from promptmine.core.progress import warn

    have = {p.relation for p in pairs}
    empty = [r for r in manual if r not in have]
    if empty:
        warn(f"{relations_path}: {plural(len(empty), 'relation')} without a fact in {pairs_path}, left out: "
             + ", ".join(empty))
    loose = sum(p.relation is None for p in pairs)
    if loose:
        warn(f"{pairs_path}: {plural(loose, 'fact')} without a relation, left out (give each a "
             "`predicate_id`/`relation`, or a third TSV column)")
    other = Counter(p.relation for p in pairs if p.relation is not None and p.relation not in manual)
    if other:
        warn(f"{pairs_path}: {plural(sum(other.values()), 'fact')} of {plural(len(other), 'relation')} that "
             f"{relations_path} does not have, left out: " + ", ".join(sorted(other)[:10])
             + (" ..." if len(other) > 10 else ""))


RUN_FILES = ("report.md", "accuracy.png", "candidates.jsonl", "dropped.jsonl", "selections.jsonl", "recommended.jsonl",
             "scores.jsonl")


# -- the library function -------------------------------------------------------------------------

@dataclass
class RunResult:
    """What `run` produced: the comparison (per row, per relation scores and selections), the
    candidates it compared, the main table (markdown) and the report's path."""

    comparison: Comparison
    candidates: list[Candidate]
    table: str
    report: Path


RUN_OUT = "promptmine-run"  # run's report folder unless told otherwise


def run(relations: str | Path = SAMPLE_RELATIONS, pairs: str | Path = SAMPLE_PAIRS,
        corpus: Sequence[str | Path] | None = None, *, out: str | Path = RUN_OUT,
        routes: str | Sequence[tuple[str, list[str]]] = "auto", translator_options: dict[str, dict] | None = None,
        scorer=DEFAULT_SCORER, options: dict | None = None, cache: bool = True, settings: RunSettings | None = None,
        **fields) -> RunResult:
    """Mine, paraphrase, select on a training half of each relation's pairs and compare the ways of
    prompting (ROWS) on the test half; writes report.md, accuracy.png, candidates.jsonl,
    selections.jsonl and scores.jsonl into `out`.

    `relations`: JSONL with each relation's manual `template`; `pairs`: its facts; `corpus`: text to
    mine (default: the bundled sample). `routes`: back-translation routes, `"auto"` (every route
    installed here), `"bergamot:pt,apertium:es"` or [(backend, [pivots])], unavailable ones skipped;
    `translator_options` per backend name.
    `scorer`/`options`/`cache`: as for `promptmine.scoring.load_scorer`, with the scorer's own
    defaults (the same as evaluate's and select's, so their score caches are shared).
    `settings` (`RunSettings`, its fields also as keywords): `mined`/`paraphrased` candidates kept per
    relation, the split (`test_fraction`, `seed`), `max_candidates`, `strict` (a malformed line of the
    pairs file is an error; default: skipped and reported), and how candidates are selected and
    ensembled (`promptmine.selection`): `strategy` (`Race(budget=...)` in (fact, template) pairs per
    relation, or `Exhaustive()`), `rank` (`RankEnsemble(k)`) and `optimized`."""
    [settings] = take(fields, (RunSettings, settings), who="run")
    seed, max_candidates, rank = settings.seed, settings.max_candidates, settings.rank
    mined, paraphrased = settings.mined, settings.paraphrased
    from promptmine.core.io import read_pairs, read_templates, write_jsonl
    from promptmine.scoring import load_scorer

    started = time.perf_counter()
    corpus = [str(c) for c in corpus] if corpus else sorted(glob.glob(str(CORPORA / "sample_corpus*.txt")))
    if not corpus:
        raise InputError("no corpus given and no bundled corpora/sample_corpus*.txt found")
    manual: dict[str, str] = {}
    for rel, t in read_templates(str(relations)):
        if rel is None:
            raise InputError("every line needs a `relation`", relations)
        manual.setdefault(rel, t)
    read = read_pairs(pairs, strict=settings.strict)
    facts_all = [p for p in read if p.relation in manual]
    if not facts_all:
        raise InputError(f"no pairs of the relations in {relations} (pairs need a predicate_id/relation)", pairs)
    warn_unmatched(read, manual, relations, pairs)
    manual = {r: t for r, t in manual.items() if any(p.relation == r for p in facts_all)}
    train_pairs, test_pairs = split_pairs(facts_all, settings.test_fraction, seed)
    log(f"run: {plural(len(manual), 'relation')}, {len(train_pairs)} training and {plural(len(test_pairs), 'test pair')} "
        f"(split per relation, seed {seed}); corpus: {', '.join(map(str, corpus))}")

    if isinstance(routes, str):
        routes = parse_routes(routes)
        routes_text = ",".join(f"{b}:{p}" for b, ps in routes for p in ps) or "none"
    else:
        routes = list(routes)
        routes_text = ",".join(f"{b}:{p}" for b, ps in routes for p in ps) or "none"
    scorer = load_scorer(scorer, options, cache=cache)
    stages = ("mine", "paraphrase", "select", "evaluate", "report")

    def at(name: str) -> None:
        stage(name, stages.index(name) + 1, len(stages))

    at("mine")
    found_mined = mine_pools(corpus, train_pairs, mined)
    at("paraphrase")
    dropped: list[dict] = []
    para = paraphrase_pools(manual, routes, ParaphraseSettings(top=paraphrased), translator_options, dropped=dropped)
    found_mined = clean_mined(found_mined, manual, dropped)
    pools = {r: Pool(t, [c.template for c in found_mined.get(r, [])], [c.template for c in para.get(r, [])])
             for r, t in manual.items()}
    final = Path(out)
    with staged_folder(final, RUN_FILES) as out_dir:  # an interrupted run leaves the earlier report whole
        candidates = [c for r in manual for c in found_mined.get(r, []) + para.get(r, [])]
        write_jsonl(out_dir / "candidates.jsonl", candidates)

        def facts(ps: list[Pair]) -> dict[str, RelationFacts]:
            return {r: relation_facts(r, [p for p in ps if p.relation == r], max_candidates=max_candidates)
                    for r in manual}

        comp = compare(scorer, pools, facts(train_pairs), facts(test_pairs), strategy=settings.strategy, rank=rank,
                       optimized=settings.optimized, seed=seed, search=settings.search, on_stage=at)
        at("report")
        hygiene_dropped = len(dropped)
        dropped += [{"relation": rel, "template": t, "method": "candidate", "reason": why}
                    for rel, found in comp.screened.items() for t, why in found.items()]
        write_jsonl(out_dir / "dropped.jsonl", dropped)
        table, _ = comparison_tables(comp, rank.k)
        notes = [f"Model: {scorer.description}; score cache id `{scorer.identity}`. "
                 f"Relations: {len(manual)}; pairs split per relation into "
                 f"{len(train_pairs)} training (mining, selection, weights) and {len(test_pairs)} test facts "
                 f"(seed {seed}). Candidates per fact: the distinct objects of the relation in that split"
                 + (f" (at most {max_candidates})" if max_candidates else "") + ".",
                 f"Candidate prompts per relation: the manual one, up to {mined} mined, up to "
                 f"{paraphrased} paraphrased ({routes_text}).",
                 hygiene_note(dropped[:hygiene_dropped], len(candidates))]
        # Not in the report, so that a warm run writes the same bytes as a cold one.
        log(f"scores: {scorer.computed} computed, {scorer.reused} from the cache; "
            f"{time.perf_counter() - started:.0f} s in all")
        report = write_report(out_dir, comp, rank.k, title="promptmine run", notes=notes, pools=pools,
                              labels=relation_labels(relations), seed=seed)
        report = final / report.name
    log(f"report: {report} (chart: {final / 'accuracy.png'})")
    return RunResult(comp, candidates, table, report)
