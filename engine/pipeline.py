"""`promptmine run`: mine -> paraphrase -> select -> evaluate for a relations file, with a report.

Per relation, the pairs are split into a training half (mining, selection, ensemble weights) and a
test half (evaluation), and six ways of prompting are compared as in LPAQA's tables:
Manual (the relation's template), Mined top-1 (best mined template on the training facts),
Paraphrased top-1 (best of the manual template and its back-translations), Mined+Paraphrased top-1
(best of all), the top-K rank ensemble and the optimised ensemble (both over all candidates).
"""

from __future__ import annotations

import argparse
import glob
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from promptmine.core.errors import InputError, PromptmineError
from promptmine.scoring import (
    CachedScorer, RelationFacts, Scored, add_scorer_arguments, evaluate_selection, make_scorer,
    micro_average, relation_facts,
)
from promptmine.core.progress import log
from promptmine.core.records import Candidate, Pair, Score, Selection, WeightedTemplate, normalize_text
from promptmine.selection import Race, ensemble, race, race_rank, race_top1

SELECTION_METHODS = ("race", "exhaustive")

ROWS = ("Manual", "Mined top-1", "Paraphrased top-1", "Mined+Paraphrased top-1", "top-K rank ensemble",
        "Optimized ensemble")
from promptmine.corpora import CORPORA_DIR as CORPORA


@dataclass
class Pool:
    """One relation's candidate templates by origin (normalised duplicates removed, manual first)."""

    manual: str
    mined: list[str] = field(default_factory=list)
    paraphrased: list[str] = field(default_factory=list)

    def dedupe(self) -> Pool:
        seen = {normalize_text(self.manual)}
        mined, para = [], []
        for src, dst in ((self.mined, mined), (self.paraphrased, para)):
            for t in src:
                if normalize_text(t) not in seen:
                    seen.add(normalize_text(t))
                    dst.append(t)
        return Pool(self.manual, mined, para)

    @property
    def all(self) -> list[str]:
        return [self.manual] + self.mined + self.paraphrased


@dataclass
class Comparison:
    scores: dict[str, list[Score]]  # row -> per-relation test scores
    selections: dict[str, list[Selection]]  # row -> per-relation selections
    races: dict[str, Race] = field(default_factory=dict)  # relation -> how its candidates were raced

    def micro(self, row: str) -> tuple[float, float, int]:
        return micro_average(self.scores[row])

    @property
    def cost(self) -> int:
        """(fact, template) pairs scored for selection."""
        return sum(r.cost for r in self.races.values())


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


def compare(scorer, pools: dict[str, Pool], train: dict[str, RelationFacts | list[RelationFacts]],
            test: dict[str, RelationFacts], *, k: int = 3, seed: int = 0, method: str = "race",
            budget: int | None = None, block_size: int = 32, metric: str = "rr", z: float = 1.645,
            max_templates: int = 6) -> Comparison:
    """Select on `train`, evaluate on `test`, for every row of ROWS and every relation in `pools`.

    method="race": the candidates race over blocks of training facts (promptmine.selection.race;
    `budget` in (fact, template) pairs per relation), with the mined ones and the manual +
    paraphrased ones as groups that each keep a winner, and the `k` best kept for the ensembles;
    method="exhaustive": every candidate on every training fact. The top-1 rows are the best
    survivors of their pool; the rank ensemble the `k` best; the optimised ensemble learns weights
    over the best `max_templates` survivors on a held-out split, or falls back to the rank ensemble
    (its Selection says so in `note`). Each Selection's `facts` is how many training facts its
    templates were scored on. `train` values may be one RelationFacts or a list of blocks, each
    with its own candidate set."""
    if method not in SELECTION_METHODS:
        raise PromptmineError(f"unknown selection method {method!r}; choose from {', '.join(SELECTION_METHODS)}")
    scores: dict[str, list[Score]] = {r: [] for r in ROWS}
    sels: dict[str, list[Selection]] = {r: [] for r in ROWS}
    races: dict[str, Race] = {}
    for rel, pool in pools.items():
        pool = pool.dedupe()
        tr, te = train[rel], test[rel]
        n_train = tr.n if isinstance(tr, RelationFacts) else sum(b.n for b in tr)
        if n_train == 0 or te.n == 0:
            log(f"{rel}: skipped (train {n_train}, test {te.n} facts)")
            continue
        groups = [pool.mined, [pool.manual] + pool.paraphrased]
        if method == "exhaustive":
            result = race(scorer, pool.all, tr, seed=seed, block_size=block_size, eliminate=False, desc=f"select {rel}")
        else:
            result = race(scorer, pool.all, tr, budget=budget, seed=seed, block_size=block_size, metric=metric,
                          z=z, keep=max(k, 2), groups=groups, desc=f"select {rel}")
        races[rel] = result
        manual = Selection(relation=rel, method="manual", model=scorer.identity,
                           templates=[WeightedTemplate(template=pool.manual)], facts=result.seen[pool.manual])

        def pick(templates: list[str]) -> Selection:
            return race_top1(result, templates, rel, scorer.identity) or manual

        chosen = {
            "Manual": manual,
            # no mined template for this relation: the row falls back to the manual prompt
            "Mined top-1": pick(pool.mined) if pool.mined else manual,
            "Paraphrased top-1": pick([pool.manual] + pool.paraphrased),
            "Mined+Paraphrased top-1": pick(pool.all),
            "top-K rank ensemble": race_rank(result, rel, scorer.identity, k),
            "Optimized ensemble": ensemble(result.survivors, result.gold, rel, scorer.identity, k=k, seed=seed,
                                           max_templates=max_templates),
        }
        test_scored: dict[str, Scored] = {}
        for row, sel in chosen.items():
            sels[row].append(sel)
            scores[row].append(evaluate_selection(scorer, sel, te, test_scored))
    return Comparison(scores, sels, races)


def row_label(row: str, k: int) -> str:
    return row.replace("top-K", f"top-{k}")


def comparison_tables(comp: Comparison, k: int) -> tuple[str, str]:
    """(main table: micro P@1 and MRR per row with the change over Manual; per-relation P@1 table)."""
    from promptmine.report import markdown_table

    base = comp.micro("Manual")[0]
    rows = []
    for row in ROWS:
        p1, m, n = comp.micro(row)
        change = f"{100 * (p1 - base) / base:+.1f}%" if base else "n/a"
        rows.append([row_label(row, k), f"{100 * p1:.1f}", f"{100 * m:.1f}", n, change])
    main = markdown_table(["method", "P@1", "MRR", "facts", "P@1 vs Manual (relative)"], rows)
    rels = [s.relation for s in comp.scores["Manual"]]
    per_rel = []
    for i, rel in enumerate(rels):
        per_rel.append([rel, comp.scores["Manual"][i].n] +
                       [f"{100 * comp.scores[row][i].p_at_1:.1f}" for row in ROWS])
    detail = markdown_table(["relation", "facts"] + [row_label(r, k) for r in ROWS], per_rel)
    return main, detail


def write_report(out_dir: Path, comp: Comparison, k: int, *, title: str, notes: Sequence[str] = ()) -> Path:
    """report.md (tables, chosen prompts), accuracy.png, selections.jsonl and scores.jsonl in out_dir."""
    from promptmine.core.io import atomic_write, write_jsonl
    from promptmine.report import bar_chart

    out_dir.mkdir(parents=True, exist_ok=True)
    main, detail = comparison_tables(comp, k)
    labels = [row_label(r, k) for r in ROWS]
    micro = [comp.micro(r) for r in ROWS]
    bar_chart(out_dir / "accuracy.png", labels, [m[0] for m in micro], [m[1] for m in micro],
              title=f"{title}: micro-averaged accuracy by method")
    lines = [f"# {title}", ""] + [part for note in notes for part in (note, "")] + [
             "## Micro-averaged over all test facts", "", main, "",
             "![accuracy by method](accuracy.png)", "", "## P@1 per relation", "", detail, "",
             "## Chosen prompts", ""]
    for row in ROWS:
        lines.append(f"### {row_label(row, k)}")
        for sel in comp.selections[row]:
            parts = [f"`{wt.template}`" + (f" ({wt.weight:.2f})" if len(sel.templates) > 1 else "")
                     for wt in sel.templates]
            seen = f" [{sel.facts} training facts]" if sel.facts is not None else ""
            note = f" ({sel.note})" if sel.note else ""
            lines.append(f"- {sel.relation}: " + ", ".join(parts) + seen + note)
        lines.append("")
    with atomic_write(out_dir / "report.md") as f:
        f.write("\n".join(lines))
    write_jsonl(out_dir / "selections.jsonl",
                [{"row": row_label(row, k), **s.model_dump()} for row in ROWS for s in comp.selections[row]])
    write_jsonl(out_dir / "scores.jsonl",
                [{"row": row_label(row, k), **s.model_dump()} for row in ROWS for s in comp.scores[row]])
    return out_dir / "report.md"


# -- candidates: mining and paraphrasing ---------------------------------------------------------

def mine_pools(corpus: Sequence[str], train_pairs: Sequence[Pair], top: int) -> dict[str, list[Candidate]]:
    from promptmine.mining import mine

    result = mine(list(corpus), list(train_pairs), top=top)
    log(f"mine: {result.stats.get('sentences_matched', '?')} sentences matched, "
        f"{result.stats.get('templates_kept', '?')} templates kept")
    return result.candidates


def paraphrase_pools(manual: dict[str, str], routes: Sequence[tuple[str, list[str]]], top: int,
                     hosted: dict | None = None) -> dict[str, list[Candidate]]:
    """Back-translations of each manual template through every (backend, pivots) route that is
    available here; a missing backend is skipped with a note. Best first, interleaved by route."""
    from promptmine.paraphrasing import paraphrase_templates
    from promptmine.models.translate import TRANSLATORS

    rels = list(manual)
    per_route: list[list[list[Candidate]]] = []
    for backend, pivots in routes:
        try:
            translator = TRANSLATORS.create(backend, **((hosted or {}) if backend == "openai" else {}))
            found = paraphrase_templates([manual[r] for r in rels], translator, pivots, top=top, relations=rels)
        except (PromptmineError, OSError, RuntimeError, ValueError) as e:
            log(f"paraphrase: {backend} ({','.join(pivots)}) unavailable, skipped: {e}")
            continue
        per_route.append([[c for c in cands if c.pivot] for cands in found])  # drop the original
        log(f"paraphrase: {backend} via {','.join(pivots)}: {sum(map(len, per_route[-1]))} paraphrases")
    out: dict[str, list[Candidate]] = {}
    for i, rel in enumerate(rels):
        merged: list[Candidate] = []
        for rank in range(max((len(r[i]) for r in per_route), default=0)):
            merged += [r[i][rank] for r in per_route if rank < len(r[i])]
        out[rel] = merged[:top]
    return out


def parse_routes(text: str) -> list[tuple[str, list[str]]]:
    """`bergamot:pt,apertium:es` -> [("bergamot", ["pt"]), ("apertium", ["es"])]; `none` -> []."""
    if text.strip().lower() in ("", "none"):
        return []
    routes: dict[str, list[str]] = {}
    for item in text.split(","):
        backend, sep, pivot = item.strip().partition(":")
        if not sep or not backend or not pivot:
            raise PromptmineError(f"--pivots expects BACKEND:LANG items separated by commas, got {item!r}")
        routes.setdefault(backend, []).append(pivot)
    return list(routes.items())


# -- the command ---------------------------------------------------------------------------------

def run_cli(args: argparse.Namespace) -> int:
    from promptmine.core.io import read_pairs, read_templates, write_jsonl

    started = time.perf_counter()
    corpus = args.corpus or sorted(glob.glob(str(CORPORA / "sample_corpus*.txt")))
    if not corpus:
        raise InputError("no corpus given and no bundled corpora/sample_corpus*.txt found")
    manual: dict[str, str] = {}
    for rel, t in read_templates(args.relations):
        if rel is None:
            raise InputError("every line needs a `relation`", args.relations)
        manual.setdefault(rel, t)
    pairs = [p for p in read_pairs(args.pairs) if p.relation in manual]
    if not pairs:
        raise InputError(f"no pairs of the relations in {args.relations} (pairs need a predicate_id/relation)",
                         args.pairs)
    manual = {r: t for r, t in manual.items() if any(p.relation == r for p in pairs)}
    train_pairs, test_pairs = split_pairs(pairs, args.test_fraction, args.seed)
    log(f"run: {len(manual)} relations, {len(train_pairs)} training and {len(test_pairs)} test pairs "
        f"(split per relation, seed {args.seed}); corpus: {', '.join(map(str, corpus))}")

    mined = mine_pools(corpus, train_pairs, args.mined)
    from promptmine.models.hosted import hosted_options  # an `openai:LANG` route uses the hosted options

    para = paraphrase_pools(manual, parse_routes(args.pivots), args.paraphrased,
                            hosted=hosted_options(args, model_from_model_flag=args.scorer == "openai"))
    pools = {r: Pool(t, [c.template for c in mined.get(r, [])], [c.template for c in para.get(r, [])])
             for r, t in manual.items()}
    out_dir = Path(args.out)
    write_jsonl(out_dir / "candidates.jsonl",
                [c for r in manual for c in mined.get(r, []) + para.get(r, [])])

    def facts(ps: list[Pair]) -> dict[str, RelationFacts]:
        return {r: relation_facts(r, [p for p in ps if p.relation == r], max_candidates=args.max_candidates)
                for r in manual}

    scorer = make_scorer(args)
    comp = compare(scorer, pools, facts(train_pairs), facts(test_pairs), k=args.k, seed=args.seed)
    main, _ = comparison_tables(comp, args.k)
    notes = [f"Model: `{scorer.identity}`. Relations: {len(manual)}; pairs split per relation into "
             f"{len(train_pairs)} training (mining, selection, weights) and {len(test_pairs)} test facts "
             f"(seed {args.seed}). Candidates per fact: the distinct objects of the relation in that split"
             + (f" (at most {args.max_candidates})" if args.max_candidates else "") + ".",
             f"Candidate prompts per relation: the manual one, up to {args.mined} mined, up to "
             f"{args.paraphrased} paraphrased ({args.pivots}). Scores: {scorer.computed} computed, "
             f"{scorer.reused} from the cache; {time.perf_counter() - started:.0f} s in all."]
    report = write_report(out_dir, comp, args.k, title="promptmine run", notes=notes)
    print(main)
    log(f"report: {report} (chart: {out_dir / 'accuracy.png'})")
    return 0


def add_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "run", help="the whole pipeline: mine, paraphrase, select, evaluate; writes a report",
        description="Mine templates from a corpus and paraphrase each relation's manual template, then "
                    "pick prompts on a training half of the pairs and compare, on the test half, the manual "
                    "prompt, the best mined, the best paraphrased, the best of all, a top-K rank ensemble and "
                    "an optimised ensemble. Writes report.md, accuracy.png (bar chart), candidates.jsonl, "
                    "selections.jsonl and scores.jsonl. With no arguments it runs on the bundled sample "
                    "(corpora/) in a few minutes on a CPU. Unlike evaluate/select, run defaults to "
                    "--dtype fast --threads 1.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  promptmine run\n"
               "  promptmine run --relations rels.jsonl --pairs facts.jsonl --corpus wiki1.txt wiki2.txt --out report/")
    p.add_argument("--relations", default=str(CORPORA / "sample_relations.jsonl"), metavar="FILE",
                   help="JSONL with `relation` and its manual `template` (default: the bundled sample)")
    p.add_argument("--pairs", default=str(CORPORA / "sample_pairs.jsonl"), metavar="FILE",
                   help="facts with a relation (LAMA/T-REx JSONL with predicate_id; default: the bundled sample)")
    p.add_argument("--corpus", nargs="+", default=None, metavar="FILE",
                   help="text to mine, one sentence or paragraph a line (default: corpora/sample_corpus*.txt)")
    p.add_argument("--out", default="promptmine-run", metavar="DIR", help="report folder (default: %(default)s)")
    p.add_argument("--mined", type=int, default=10, metavar="N", help="mined templates kept per relation (default: %(default)s)")
    p.add_argument("--paraphrased", type=int, default=10, metavar="N",
                   help="paraphrases kept per relation (default: %(default)s)")
    p.add_argument("--pivots", default="bergamot:pt,apertium:es",
                   help="back-translation routes BACKEND:LANG, comma-separated; unavailable ones are skipped, "
                        "`none` for no paraphrasing (default: %(default)s)")
    p.add_argument("--test-fraction", type=float, default=0.5, help="share of each relation's pairs for testing (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and the dev split (default: %(default)s)")
    p.add_argument("--k", type=int, default=3, help="templates in the rank ensemble (default: %(default)s)")
    p.add_argument("--max-candidates", type=int, default=None, metavar="N",
                   help="candidate objects per relation: the N most frequent (default: all distinct objects)")
    add_scorer_arguments(p)
    # A run scores thousands of statements: bfloat16 where the CPU has it natively, and one thread,
    # which on a shared machine is several times faster than two threads waiting for each other.
    p.set_defaults(func=run_cli, dtype="fast", threads=1)
