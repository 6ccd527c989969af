"""Benchmark: LPAQA's protocol at small scale, with SmolLM2-135M on CPU.

For each T-REx relation in ../shared/data/trex/test (28):
- its test facts are split in half by a fixed seed; half A's evidence sentences (the masked sentence
  with [MASK] replaced by the object's surface form) are the corpus templates are mined from, with
  half A's (subject, object) surface forms and labels as the pairs;
- the manual LAMA template (../shared/data/lama/relations.jsonl) is paraphrased by back-translation
  (Bergamot via pt; Apertium via es when installed);
- prompts are selected, and ensemble weights learnt, on ../shared/data/trex/train pairs (~1000 per
  relation) by racing (promptmine.selection.Race) within --budget (fact, template) pairs per relation,
  or exhaustively on --train-facts of them; the training facts come in blocks of --block-size, each
  ranked over its own distinct objects, so selection solves the same kind of ranking problem as the
  evaluation and never sees a test fact or the test candidate list;
- everything is evaluated on a sample of half B (never used for selection), ranked over the distinct
  objects of the sampled test facts (capped by --max-candidates).
Rows: Manual, Mined top-1, Paraphrased top-1, Mined+Paraphrased top-1, top-3 rank ensemble, optimised
ensemble (weights early-stopped on a held-out split, or the rank ensemble where too few facts), each
with raw and with calibrated scores (log P(y | prompt) - log P(y | prompt with the subject replaced by
"N/A"), --calibration). Columns: micro P@1 and MRR, relative P@1 change over Manual (raw) with a paired
bootstrap 95% interval over test facts, per-relation wins/ties/losses against Manual, and the training
facts each selected prompt was scored on. The cost (pairs raced, scores computed, seconds) is printed.

--json FILE writes the table; --out DIR gets report.md, summary.json, selected/<row>.jsonl (one line
per relation and template: relation, template, weight, facts, method, note) for re-evaluation, and
stages.jsonl (each row's verdicts per relation: the best challenger, its paired advantage and bound).
--cache memory (default) is an uncached run; --cache disk reuses the on-disk score cache.

    .venv/bin/python scripts/bench_lpaqa.py                                  # the full table, 2 CPU cores
    .venv/bin/python scripts/bench_lpaqa.py --relations 3 --test-facts 10 --budget 100   # a quick look
    # the same selection on 120 more facts per relation that the default run never evaluated
    .venv/bin/python scripts/bench_lpaqa.py --test-skip 30 --test-facts 120 --test-block-size 30
    # bigger, on a GPU: every half-B fact, racing on up to all training pairs, exhaustive check
    .venv/bin/python scripts/bench_lpaqa.py --device cuda --dtype float16 --batch-size 512 \
        --test-facts 0 --budget 6000 --block-size 30 --mined 40 --paraphrased 20 --max-templates 8
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import benchdata as bd
from promptmine.selection.stages import SearchSettings

ROOT = bd.ROOT

LPAQA_BERT_BASE = (31.1, 39.6)  # LPAQA (Jiang et al. 2020), BERT-base on T-REx: manual -> best ensemble P@1


def prepare_relation(rel: str, data: Path, args) -> dict:
    """Split, sample (benchdata's seeded halves and samples) and build the mining corpus of one relation."""
    from promptmine.core.records import Pair

    half_a, half_b = bd.halves(data, rel, args.seed)
    sentences, mine_pairs = [], set()
    for f in half_a:
        mine_pairs.add((f["sub_label"], f["obj_label"]))
        for ev in f.get("evidences", []):
            if "[MASK]" in ev.get("masked_sentence", "") and ev.get("obj_surface"):
                sentences.append(ev["masked_sentence"].replace("[MASK]", ev["obj_surface"]))
                mine_pairs.add((ev.get("sub_surface") or f["sub_label"], ev["obj_surface"]))
    sentences = list(dict.fromkeys(s.replace("\n", " ") for s in sentences))
    if args.mine_sentences:
        sentences = bd.sample(sentences, args.mine_sentences, f"{args.seed}:{rel}:mine")
    train, train_available = bd.train_sample(data, rel, args.seed, args.train_facts, args.vocab)
    test = bd.test_sample(half_b, rel, args.seed, args.test_facts, args.test_skip)
    return {
        "relation": rel,
        "half_sizes": (len(half_a), len(half_b)),
        "train_available": train_available,
        "sentences": sentences,
        "mine_pairs": [Pair(subject=s, object=o, relation=rel) for s, o in sorted(mine_pairs)],
        "train": bd.pairs(train, rel),
        "test": bd.pairs(test, rel),
    }


def mine_cached(out: Path, prepared: list[dict], top: int, seed: int) -> dict[str, list[str]]:
    """Mine all relations in one pass over their half-A sentences; kept in --out for re-runs."""
    from promptmine.core.io import write_jsonl
    from promptmine.core.records import Candidate

    key = {"relations": [p["relation"] for p in prepared], "sentences": sum(len(p["sentences"]) for p in prepared),
           "top": top, "seed": seed}
    path = out / "mined.jsonl"
    meta = out / "mined.key.json"
    if path.exists() and meta.exists() and json.loads(meta.read_text()) == key:
        cands = [Candidate.model_validate_json(line) for line in path.read_text().splitlines() if line.strip()]
        print(f"mined templates: reused {path}", file=sys.stderr)
    else:
        from promptmine.mining import mine

        corpus = out / "corpus_half_a.txt"
        with open(corpus, "w", encoding="utf-8") as f:
            for p in prepared:
                for s in p["sentences"]:
                    f.write(s + "\n")
        pairs = [pair for p in prepared for pair in p["mine_pairs"]]
        t = time.perf_counter()
        result = mine([corpus], pairs, top=top)
        print(f"mined {sum(map(len, result.candidates.values()))} templates in {time.perf_counter() - t:.0f} s "
              f"from {sum(len(p['sentences']) for p in prepared)} sentences", file=sys.stderr)
        cands = [c for cs in result.candidates.values() for c in cs]
        write_jsonl(path, cands)
        meta.write_text(json.dumps(key))
    by_rel: dict[str, list[str]] = {}
    for c in cands:
        by_rel.setdefault(c.relation, []).append(c.template)
    return by_rel


def throughput(scorer, template_sets: list[tuple[str, list[str], list[str]]]) -> dict:
    """(fact, template) pairs per second: engine scorer vs one full forward pass per candidate."""
    import numpy as np

    pairs = sum(len(subjects) for _, subjects, _ in template_sets)
    t = time.perf_counter()
    fast = [scorer.score(tpl, subjects, objects) for tpl, subjects, objects in template_sets]
    fast_s = time.perf_counter() - t
    t = time.perf_counter()
    naive = [scorer.score_naive(tpl, subjects, objects) for tpl, subjects, objects in template_sets]
    naive_s = time.perf_counter() - t
    diff = max(float(np.abs(np.array(a) - np.array(b)).max()) for a, b in zip(fast, naive))
    return {"pairs": pairs, "candidates": sum(len(o) * len(s) for _, s, o in template_sets),
            "engine_s": fast_s, "naive_s": naive_s, "engine_pairs_per_s": pairs / fast_s,
            "naive_pairs_per_s": pairs / naive_s, "speedup": naive_s / fast_s, "max_abs_diff": diff}


def fact_blocks(rel: str, pairs: list, size: int, max_candidates: int | None) -> list:
    """Facts in blocks of `size` (0: one block), each ranked over the distinct objects of its block
    (capped). Training blocks shaped like the test sample make selection solve the same kind of
    ranking problem as the evaluation (the gold is one of a few dozen objects drawn with it, not
    always one of the most frequent objects of all training pairs) without seeing a test fact or test
    object list; test blocks let a large sample pose the same problem as a small one."""
    from promptmine.scoring import relation_facts

    size = size or len(pairs) or 1
    return [relation_facts(rel, pairs[a:a + size], max_candidates=max_candidates) for a in range(0, len(pairs), size)]


def only_relations(rels: list[str], only: str) -> list[str]:
    """`rels` narrowed to `--only`'s comma-separated ids ("" keeps all); an id without data is an error."""
    wanted = [r.strip() for r in only.split(",") if r.strip()]
    if not wanted:
        return rels
    unknown = sorted(set(wanted) - set(rels))
    if unknown:
        raise ValueError(f"--only: no test and training data or manual template for {', '.join(unknown)}")
    return [r for r in rels if r in wanted]


def data_missing(who: str, data: Path) -> bool:
    """Whether the data bench_lpaqa and bench_lpaqa_oracle read is missing (said on stderr)."""
    return bd.missing(who, bd.trex_dir(data, "test"), bd.trex_dir(data, "train"), bd.relations_file(data))


def candidate_pools(args, prepared: list[dict], manual_all: dict[str, str]) -> dict:
    """Per relation: the manual template, its top --mined mined templates (mined once, kept in --out)
    and its top --paraphrased back-translations."""
    from promptmine.paraphrasing import ParaphraseSettings, parse_routes
    from promptmine.pipeline import paraphrase_pools
    from promptmine.selection import Pool

    rels = [p["relation"] for p in prepared]
    mined = mine_cached(args.out, prepared, args.mined, args.seed)
    manual = {r: manual_all[r] for r in rels}
    para = paraphrase_pools(manual, parse_routes(args.pivots), ParaphraseSettings(top=args.paraphrased))
    return {r: Pool(manual[r], mined.get(r, [])[:args.mined], [c.template for c in para.get(r, [])]) for r in rels}


def selected_path(out: Path, label: str) -> Path:
    """Where a row's selected prompts are written (bench_lpaqa) and read back (bench_lpaqa_oracle)."""
    return out / "selected" / ("".join(ch if ch.isalnum() or ch in "-+" else "_" for ch in label).strip("_") + ".jsonl")


def table_rows(comps: dict, base_row: tuple[str, str]) -> list[dict]:
    """Per row: P@1, MRR, relative change over the base with its bootstrap interval, W/T/L per relation."""
    from promptmine.scoring.metrics import paired_bootstrap

    base = comps[base_row[0]].scores[base_row[1]]
    base_hits = [r == 1 for s in base for r in s.ranks]
    out = []
    for variant, comp in comps.items():
        for row in comp.scores:
            scores = comp.scores[row]
            hits = [r == 1 for s in scores for r in s.ranks]
            p1, m, n = comp.micro(row)
            b1 = sum(base_hits) / len(base_hits)
            _, lo, hi = paired_bootstrap(base_hits, hits, relative=True)
            w = sum(s.p_at_1 > t.p_at_1 + 1e-12 for s, t in zip(scores, base))
            l_ = sum(s.p_at_1 < t.p_at_1 - 1e-12 for s, t in zip(scores, base))
            facts = [sel.facts for sel in comp.selections[row] if sel.facts is not None]
            notes = sum(1 for sel in comp.selections[row] if sel.note and "instead" in sel.note)
            out.append({"row": row + variant, "p_at_1": p1, "mrr": m, "facts": n,
                        "rel_change": (p1 - b1) / b1 if b1 else None, "ci95": [lo, hi],
                        "wins": w, "ties": len(scores) - w - l_, "losses": l_,
                        "train_facts_min": min(facts) if facts else None,
                        "train_facts_median": sorted(facts)[len(facts) // 2] if facts else None,
                        "fallbacks": notes})
    return out


def reference_rows(comp, scorer, pools: dict, train: dict, test: dict, search, seed: int) -> None:
    """Two rows without the relation search's judgement, for reading its rows against (added to `comp`):
    the Mined+Paraphrased winner with no paired bound (today's top-1 before the bound), and the manual
    prompt after 3 training facts one a line with no search (the issue's measurement)."""
    from promptmine.core.records import Selection, WeightedTemplate
    from promptmine.scoring import evaluate_blocks
    from promptmine.selection import Top1, as_blocks
    from promptmine.selection.comparison import DEMO_POOL
    from promptmine.selection.stages import RelationVariant, demo_variants, reserve_demos

    rows = {"M+P top-1 (no bound)": {}, "Manual + 3 demonstrations (no search)": {}}
    for rel, result in comp.races.items():
        pool = pools[rel].dedupe()
        rest = [t for t in pool.mined + pool.paraphrased if t not in comp.screened.get(rel, {})]
        top = Top1().choose(result, rel, scorer.identity, among=rest)
        rows["M+P top-1 (no bound)"][rel] = top or Selection(relation=rel, method="manual", model=scorer.identity,
                                                             templates=[WeightedTemplate(template=pool.manual)])
        blocks = as_blocks(train[rel])
        n = sum(b.n for b in blocks)
        demo_pool, _ = reserve_demos(blocks, min(DEMO_POOL, n // 4),
                                     avoid={s for b in as_blocks(test[rel]) for s in b.subjects})
        three = [p for p, what in demo_variants(RelationVariant(pool.manual), demo_pool, search, seed, rel)
                 if len(p.demos) == 3 and p.sep == "\n"][:1]
        text = three[0].text if three else pool.manual
        rows["Manual + 3 demonstrations (no search)"][rel] = Selection(
            relation=rel, method="manual", model=scorer.identity, templates=[WeightedTemplate(template=text)])
    for row, by_rel in rows.items():
        comp.selections[row] = [s.model_copy(update={"row": row}) for s in by_rel.values()]
        comp.scores[row] = [evaluate_blocks(scorer, s, as_blocks(test[s.relation])) for s in comp.selections[row]]


def main() -> int:
    from promptmine.models.device import default_threads

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=bd.DATA, help="shared data folder (default: %(default)s)")
    ap.add_argument("--relations", type=int, default=0, help="first N relations (sorted by id); 0 = all 28")
    ap.add_argument("--only", default="", help="these relations only, comma-separated (e.g. P19,P136)")
    ap.add_argument("--train-objects", choices=("common-vocab", "all"), default="common-vocab",
                    help="training facts used for selection and demonstrations: those whose object is in LAMA's "
                         "common vocabulary, as every test fact's is (common-vocab), or all of trex/train "
                         "(default: %(default)s)")
    ap.add_argument("--train-facts", type=int, default=0,
                    help="training pairs per relation the racing may draw from, in a seeded order; 0 = all (default)")
    ap.add_argument("--budget", type=int, default=1500,
                    help="selection budget per relation in (fact, template) pairs (default: %(default)s)")
    ap.add_argument("--selection", choices=("race", "exhaustive"), default="race",
                    help="race (adaptive, within --budget) or exhaustive (every candidate on every sampled "
                         "training fact; use with --train-facts) (default: %(default)s)")
    ap.add_argument("--block-size", type=int, default=15,
                    help="training facts per block; a block's facts are ranked over its distinct objects "
                         "(default: %(default)s)")
    ap.add_argument("--max-templates", type=int, default=8,
                    help="survivors the optimised ensemble may weight (default: %(default)s)")
    ap.add_argument("--test-facts", type=int, default=30, help="half-B test facts sampled per relation; 0 = all (default: %(default)s)")
    ap.add_argument("--test-skip", type=int, default=0,
                    help="skip the first N facts of each relation's seeded half-B order, the ones a run with "
                         "--test-facts N evaluated, to test on facts no earlier run looked at (default: %(default)s)")
    ap.add_argument("--test-block-size", type=int, default=0,
                    help="evaluate in blocks of N test facts, each ranked over its own distinct objects, so a "
                         "large sample poses the same ranking problem as the default 30; 0 = one block (default)")
    ap.add_argument("--mine-sentences", type=int, default=1500,
                    help="half-A evidence sentences sampled per relation for mining; 0 = all (default: %(default)s)")
    ap.add_argument("--mined", type=int, default=20, help="mined templates kept per relation (default: %(default)s)")
    ap.add_argument("--paraphrased", type=int, default=10, help="paraphrases kept per relation (default: %(default)s)")
    ap.add_argument("--pivots", default="bergamot:pt,apertium:es", help="back-translation routes (default: %(default)s)")
    ap.add_argument("--max-candidates", type=int, default=30,
                    help="candidate objects per test sample / training block: its most frequent N distinct "
                         "objects (default: %(default)s)")
    ap.add_argument("--calibration", choices=("both", "off", "on"), default="both",
                    help="rows with raw scores, calibrated scores (log P(y|prompt) - log P(y|prompt with "
                         "the subject replaced by a filler)), or both (default: %(default)s)")
    ap.add_argument("--fillers", default="N/A", help="content-free subjects for calibration, |-separated (default: %(default)s)")
    ap.add_argument("--k", type=int, default=3, help="rank ensemble size (default: %(default)s)")
    ap.add_argument("--dimensions", default=",".join(SearchSettings.default("dimensions")),
                    help="relation search stages for the Searched rows, comma-separated (default: %(default)s)")
    ap.add_argument("--z", type=float, default=SearchSettings.default("z"),
                    help="a choice replaces the manual prompt when its paired advantage on training facts is above "
                         "zero by z standard errors (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", default="fast", help="scorer dtype: fast (bfloat16 where native), float32 (default: %(default)s)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (default: %(default)s)")
    ap.add_argument("--batch-size", type=int, default=None, help="scorer batch size (default: the scorer's)")
    ap.add_argument("--threads", type=int, default=default_threads(),
                    help="torch CPU threads (default: the cores this process may use, %(default)s)")
    ap.add_argument("--cache", choices=("memory", "disk"), default="memory",
                    help="memory: an uncached run (scores shared within the run only); disk: the on-disk "
                         "score cache, so a re-run is fast (default: %(default)s)")
    ap.add_argument("--throughput-facts", type=int, default=0,
                    help="facts per template in the engine-vs-naive throughput measurement; 0 = skip (default)")
    ap.add_argument("--json", type=Path, default=None, help="write the table (and costs) as JSON here")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "bench_lpaqa",
                    help="report folder; selected prompts per row in selected/<row>.jsonl (default: %(default)s)")
    args = ap.parse_args()

    if data_missing("bench_lpaqa", args.data):
        return bd.MISSING_EXIT

    import torch

    from promptmine.core.cache import DiskCache
    from promptmine.core.io import write_jsonl
    from promptmine.models.score.causal import CausalScorer
    from promptmine.report import comparison_tables, markdown_table, write_report
    from promptmine.selection import OptimizedEnsemble, RankEnsemble, compare, row_label, strategy_named
    from promptmine.scoring import CachedScorer, calibrated

    from promptmine.core.progress import configure_logging

    configure_logging()  # racing and scoring status lines on stderr, so a long run shows where it is
    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    manual_all = bd.manual_templates(args.data)
    rels = bd.relations_with_data(args.data, manual_all, args.relations)
    try:
        rels = only_relations(rels, args.only)
    except ValueError as e:
        ap.error(str(e))
    args.vocab = bd.common_vocab(args.data) if args.train_objects == "common-vocab" else None
    prepared = [prepare_relation(r, args.data, args) for r in rels]
    pools = candidate_pools(args, prepared, manual_all)
    train = {p["relation"]: fact_blocks(p["relation"], p["train"], args.block_size, args.max_candidates)
             for p in prepared}
    test = {p["relation"]: fact_blocks(p["relation"], p["test"], args.test_block_size, args.max_candidates)
            for p in prepared}
    prep_s = time.perf_counter() - started

    t = time.perf_counter()
    raw = CausalScorer(dtype=args.dtype, device=args.device, threads=args.threads,
                       **({"batch_size": args.batch_size} if args.batch_size else {}))
    load_s = time.perf_counter() - t
    scorer = CachedScorer(raw, DiskCache(None, "scores") if args.cache == "memory" else True)
    variants = {"": scorer} if args.calibration == "off" else \
        {" (calibrated)": calibrated(scorer, args.fillers.split("|"))} if args.calibration == "on" else \
        {"": scorer, " (calibrated)": calibrated(scorer, args.fillers.split("|"))}
    search = SearchSettings(dimensions=tuple(d for d in args.dimensions.split(",") if d), z=args.z)
    comps, costs = {}, {}
    for name, sc in variants.items():
        t = time.perf_counter()
        before = scorer.computed
        comps[name] = compare(sc, pools, train, test, strategy=strategy_named(args.selection, budget=args.budget),
                              rank=RankEnsemble(k=args.k),
                              optimized=OptimizedEnsemble(k=args.k, max_templates=args.max_templates), seed=args.seed,
                              search=search)
        reference_rows(comps[name], sc, pools, train, test, search, args.seed)
        costs[name] = {"seconds": time.perf_counter() - t, "selection_pairs": comps[name].cost,
                       "scores_computed": scorer.computed - before}
        print(f"{name or 'raw'}: {costs[name]['seconds']:.0f} s, {comps[name].cost} (fact, template) pairs "
              f"raced, {costs[name]['scores_computed']} (fact, object) scores computed", file=sys.stderr)

    tp = tp32 = None
    r0 = rels[0]
    t0 = test[r0][0]
    sets = [(tpl, t0.subjects[:args.throughput_facts], t0.objects) for tpl in pools[r0].dedupe().all[:2]]
    if args.throughput_facts:
        tp = throughput(raw, sets)
        if raw.dtype != torch.float32:
            tp32 = throughput(CausalScorer(dtype="float32", device=args.device, threads=args.threads), sets)
    total_s = time.perf_counter() - started

    # -- report ------------------------------------------------------------------------------
    first = next(iter(comps))
    base_row = ("" if "" in comps else first, "Manual")
    rows = table_rows(comps, base_row)
    n_templates = [len(pools[r].dedupe().all) for r in rels]
    n_train = {r: sum(b.n for b in train[r]) for r in rels}
    n_test = {r: sum(b.n for b in test[r]) for r in rels}
    main_comp = comps[first]
    seen = [s.facts for row in main_comp.selections for s in main_comp.selections[row] if s.facts is not None]
    sampling = [
        f"Sampling (seed {args.seed}): {len(rels)} relations. Per relation the test facts are shuffled and "
        f"halved; half A gives the mining corpus ({args.mine_sentences or 'all'} evidence sentences at most, "
        f"[MASK] -> obj_surface; {sum(len(p['sentences']) for p in prepared)} sentences in all, mined with "
        f"half A's labels and surface forms as pairs). Selection and weights: trex/train/<rel>.jsonl "
        + ("facts whose object is in LAMA's common vocabulary (as every test fact's is) " if args.vocab else "")
        + f"({min(n_train.values())}-{max(n_train.values())} pairs per relation available, in blocks of "
        f"{args.block_size} ranked over their block's distinct objects), {args.selection}"
        + (f" with a budget of {args.budget} (fact, template) pairs per relation" if args.selection == "race" else "")
        + f"; evaluation: {args.test_facts or 'all'} facts sampled from half B (never seen by selection)"
        + (f" after skipping the first {args.test_skip} of its seeded order (those a --test-facts "
           f"{args.test_skip} run evaluated)" if args.test_skip else "")
        + (f", in blocks of {args.test_block_size}" if args.test_block_size else "")
        + f", each ranked over its distinct objects (at most {args.max_candidates}; "
        f"{min(n_test.values())}-{max(n_test.values())} facts per relation, "
        f"{min(len(b.objects) for r in rels for b in test[r])}-{max(len(b.objects) for r in rels for b in test[r])} "
        f"candidates per block).",
        f"Candidate prompts per relation: manual + up to {args.mined} mined + up to {args.paraphrased} "
        f"paraphrased ({args.pivots}); {min(n_templates)}-{max(n_templates)} distinct, {sum(n_templates)} in all "
        f"(mined: {sum(len(pools[r].dedupe().mined) for r in rels)}, paraphrased: "
        f"{sum(len(pools[r].dedupe().paraphrased) for r in rels)}). Training facts each selected prompt was "
        f"scored on: {min(seen)}-{max(seen)} (median {sorted(seen)[len(seen) // 2]}).",
        f"Model: SmolLM2-135M-Instruct (Q4_1 GGUF dequantised), scorer `{raw.identity}`, {args.threads} torch "
        f"thread(s), {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs (shared with other jobs); "
        f"calibration fillers: {args.fillers}.",
        f"Cost: {total_s:.0f} s in all (prepare+mine+paraphrase {prep_s:.0f} s, model load {load_s:.1f} s; "
        + "; ".join(f"{n or 'raw'} rows {c['seconds']:.0f} s, {c['selection_pairs']} (fact, template) pairs raced, "
                    f"{c['scores_computed']} (fact, object) scores computed" for n, c in costs.items())
        + f"); scores computed in all {scorer.computed}, reused {scorer.reused}.",
    ]
    table = markdown_table(
        ["method", "P@1", "MRR", "facts", "vs Manual (relative)", "95% CI (paired bootstrap)", "W/T/L vs Manual",
         "train facts seen (min/median)"],
        [[row_label(r["row"], args.k), f"{100 * r['p_at_1']:.1f}", f"{100 * r['mrr']:.1f}", r["facts"],
          f"{100 * r['rel_change']:+.1f}%", f"[{100 * r['ci95'][0]:+.1f}%, {100 * r['ci95'][1]:+.1f}%]",
          f"{r['wins']}/{r['ties']}/{r['losses']}",
          f"{r['train_facts_min']}/{r['train_facts_median']}" if r["train_facts_min"] is not None else "-"]
         for r in rows])
    fallbacks = [f"{s.relation}: {s.note}" for c in comps.values() for s in c.selections["Optimized ensemble"]
                 if s.note and "instead" in s.note]
    def tp_text(tp: dict, dtype: str) -> str:
        return (f"Throughput, {dtype} ({tp['pairs']} (fact, template) pairs of {r0}, {len(sets[0][2])} candidates "
                f"each): engine {tp['engine_pairs_per_s']:.2f} pairs/s ({tp['engine_s']:.1f} s), naive "
                f"one-forward-per-candidate {tp['naive_pairs_per_s']:.2f} pairs/s ({tp['naive_s']:.1f} s): "
                f"{tp['speedup']:.1f}x; max |engine - naive| log-prob {tp['max_abs_diff']:.3g}.")
    tp_lines = ([tp_text(tp, str(raw.dtype).removeprefix("torch."))] if tp else []) + ([tp_text(tp32, "float32")] if tp32 else [])
    notes = sampling + ["## Table (relative change, interval and W/T/L against raw-score Manual)", "", table]
    if fallbacks:
        notes.append(f"Optimised ensemble fell back to the rank ensemble for {len(fallbacks)} relation(s): "
                     + "; ".join(fallbacks))
    notes += tp_lines
    report = write_report(args.out, comps[first], args.k, title="LPAQA at small scale (SmolLM2-135M)", notes=notes)
    for name, comp in comps.items():  # per-relation tables of every variant
        _, detail = comparison_tables(comp, args.k)
        with open(report, "a", encoding="utf-8") as f:
            f.write(f"\n## P@1 per relation{name or ' (raw scores)'}\n\n{detail}\n")
    sel_dir = args.out / "selected"
    sel_dir.mkdir(exist_ok=True)
    for name, comp in comps.items():
        for row, sels in comp.selections.items():
            write_jsonl(selected_path(args.out, row_label(row + name, args.k)), [{"relation": s.relation, "template": wt.template, "weight": wt.weight,
                                           "facts": s.facts, "method": s.method, "note": s.note}
                                          for s in sels for wt in s.templates])
    write_jsonl(args.out / "stages.jsonl",  # each row's verdicts per relation: what replaced what, and how clearly
                [{"variant": name or "raw", "row": row_label(row, args.k), "relation": rel, **vars(st),
                  "replaced": st.replaced}
                 for name, comp in comps.items() for row, by_rel in comp.searches.items()
                 for rel, stages in by_rel.items() for st in stages])
    summary = {"rows": [{**r, "row": row_label(r["row"], args.k)} for r in rows],
               "per_relation": {row_label(row + name, args.k): {s.relation: {"p_at_1": s.p_at_1, "mrr": s.mrr, "n": s.n}
                                                              for s in comp.scores[row]}
                                for name, comp in comps.items() for row in comp.scores},
               "costs": costs, "scores_computed": scorer.computed, "seconds": total_s,
               "throughput": tp, "throughput_float32": tp32, "args": {k: str(v) for k, v in vars(args).items()}}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1))
    print("\n".join(sampling))
    print()
    print(table)
    for line in ([f"fallbacks: {len(fallbacks)}"] if fallbacks else []) + tp_lines:
        print(line)
    print(f"\nreport: {report}; selected prompts: {sel_dir}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
