"""Diagnostic companion to bench_lpaqa.py: how much better could selection do, and what limits it?

bench_lpaqa selects prompts on trex/train pairs and evaluates them on LAMA's half-B test facts. This
script scores *every* candidate prompt of the same pools on the same test facts (same seed, --test-skip,
--test-facts and blocks) and reports, against Manual, with the same paired bootstrap:
- the rows bench_lpaqa selected (read from its --out DIR/selected/*.jsonl), re-evaluated: a check that
  both scripts see the same facts;
- "in-distribution" selection: top-1 and top-3 rank ensemble chosen on one half of each relation's test
  facts and evaluated on the other half (2-fold, so every fact is evaluated by prompts chosen on other
  facts): what selection gains when its facts come from the distribution it is evaluated on;
- the oracle top-1 (the best candidate on the evaluated facts themselves): an optimistic upper bound of
  any single prompt from the pool, not a method.
The gap between the selected rows and in-distribution selection is what the train/test shift between
trex/train and LAMA's facts costs; the gap to the oracle is what the pool holds beyond that.

With --measure-facts N (default 60; 0 skips it) it also asks which training measure predicts held-out
P@1: every candidate the screening keeps is scored on the first N of bench_lpaqa's training facts
(same blocks, same --train-objects filter), and for each measure (hit@1, reciprocal rank, the gold
object's log-probability, the gold object's log-probability normalised over the block's candidates)
the table gives the mean rank correlation (Spearman, per relation, across candidates) with test P@1,
the test P@1 of the candidate the measure ranks first, and of the manual-unless-clearly-beaten rule
on that measure (paired lower bound above zero at --z).

    .venv/bin/python scripts/bench_lpaqa.py --test-facts 120 --test-skip 30 --test-block-size 30 --out DIR
    .venv/bin/python scripts/bench_lpaqa_oracle.py --test-facts 120 --test-skip 30 --test-block-size 30 --out DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_lpaqa as lp  # noqa: E402  (the same mining cache, pools and fact blocks)
import benchdata as bd  # noqa: E402  (the same data and sampling)


def hits_rr(score):
    """(hit at 1, reciprocal rank) per fact of a Score, as arrays."""
    import numpy as np

    r = np.asarray(score.ranks)
    return r == 1, 1.0 / r


def row(name: str, hits: list[bool], rr: list[float], base_hits: list[bool], per_rel_hits: dict, base_per_rel: dict):
    from promptmine.scoring.metrics import paired_bootstrap

    p1 = float(sum(hits)) / len(hits)
    b1 = float(sum(base_hits)) / len(base_hits)
    _, lo, hi = paired_bootstrap(base_hits, hits, relative=True)
    w = int(sum(sum(per_rel_hits[r]) > sum(base_per_rel[r]) for r in base_per_rel))
    l_ = int(sum(sum(per_rel_hits[r]) < sum(base_per_rel[r]) for r in base_per_rel))
    return {"row": name, "p_at_1": p1, "mrr": float(sum(rr)) / len(rr), "facts": len(hits), "rel_change": (p1 - b1) / b1,
            "ci95": [lo, hi], "wins": w, "ties": len(base_per_rel) - w - l_, "losses": l_}


def read_selected(path: Path):
    from promptmine.core.records import Selection, WeightedTemplate

    by_rel: dict[str, list] = {}
    method: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            by_rel.setdefault(obj["relation"], []).append(WeightedTemplate(template=obj["template"], weight=obj["weight"]))
            method[obj["relation"]] = obj["method"]
    return {rel: Selection(relation=rel, method=method[rel], model="", templates=wts) for rel, wts in by_rel.items()}


MEASURES = ("hit@1", "reciprocal rank", "gold log-prob", "gold log-prob over candidates")


def per_fact_measures(matrix, gold) -> dict:
    """Each measure per fact of one block's score matrix [facts, candidates]."""
    import numpy as np

    m = np.asarray(matrix, dtype=np.float64)
    g = m[np.arange(len(gold)), gold]
    rank = 1 + (m > g[:, None]).sum(axis=1)
    top = m.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(m - top).sum(axis=1))
    return {"hit@1": (rank == 1).astype(float), "reciprocal rank": 1.0 / rank, "gold log-prob": g,
            "gold log-prob over candidates": g - lse}


def spearman(a, b) -> float:
    """Spearman's rank correlation (ties get their average rank)."""
    import numpy as np

    def ranked(x):
        x = np.asarray(x, dtype=np.float64)
        order = np.argsort(x, kind="stable")
        r = np.empty(len(x))
        r[order] = np.arange(len(x), dtype=np.float64)
        for v in np.unique(x):  # average rank within ties
            r[x == v] = r[x == v].mean()
        return r

    return float(np.corrcoef(ranked(a), ranked(b))[0, 1])


def measure_study(args, scorer, rels, prepared, pools, per) -> str:
    """Which training measure predicts held-out P@1 (see the module docstring); a markdown section."""
    import numpy as np

    from promptmine.core.progress import log
    from promptmine.report import markdown_table
    from promptmine.scoring import score_template
    from promptmine.scoring.metrics import paired_bootstrap
    from promptmine.selection.stages import screen

    train = {p["relation"]: lp.fact_blocks(p["relation"], p["train"], args.block_size, args.max_candidates)
             for p in prepared}
    corr = {m: [] for m in MEASURES}
    top1 = {m: {} for m in MEASURES}
    bounded = {m: {} for m in MEASURES + ("both: reciprocal rank and normalised log-prob",)}
    for i, rel in enumerate(rels):
        manual = pools[rel].manual
        dropped = screen(manual, [t for t in pools[rel].all if t != manual])
        cands = [t for t in pools[rel].all if t not in dropped]
        blocks, n = [], 0
        for b in train[rel]:
            if n >= args.measure_facts:
                break
            blocks.append(b)
            n += b.n
        vals = {}
        for t in cands:
            parts = [per_fact_measures(score_template(scorer, t, b).matrix, b.gold) for b in blocks]
            vals[t] = {m: np.concatenate([p[m] for p in parts]) for m in MEASURES}
        test_p1 = np.array([per[rel][t][0].mean() for t in cands])
        for m in MEASURES:
            means = np.array([vals[t][m].mean() for t in cands])
            if len(cands) > 2 and test_p1.std() > 0 and means.std() > 0:
                corr[m].append(spearman(means, test_p1))
            top1[m][rel] = cands[int(np.argmax(means))]

        def clearly(t: str, m: str) -> bool:
            d = vals[t][m] - vals[manual][m]
            return len(d) > 1 and d.mean() - args.z * d.std(ddof=1) / np.sqrt(len(d)) > 0

        for m in bounded:
            ms = ("reciprocal rank", "gold log-prob over candidates") if m.startswith("both") else (m,)
            key = ms[0]
            best = max((t for t in cands if t != manual), key=lambda t: vals[t][key].mean(), default=None)
            bounded[m][rel] = best if best is not None and all(clearly(best, x) for x in ms) else manual
        log(f"measures: {rel} ({i + 1}/{len(rels)}): {len(cands)} candidates on {n} training facts")
    base = np.concatenate([per[r][pools[r].manual][0] for r in rels])

    def row(name: str, chosen: dict | None, rho: list | None) -> list:
        if chosen is None:
            return [name, f"{np.mean(rho):+.2f} ({len(rho)} relations)", "-", "-", "-", "-"]
        hits = np.concatenate([per[r][chosen[r]][0] for r in rels])
        _, lo, hi = paired_bootstrap(list(base), list(hits), relative=True)
        kept = sum(chosen[r] == pools[r].manual for r in rels)
        worst = min(per[r][chosen[r]][0].mean() - per[r][pools[r].manual][0].mean() for r in rels)
        return [name, f"{np.mean(rho):+.2f} ({len(rho)} relations)" if rho else "-", f"{100 * hits.mean():.1f}",
                f"{100 * (hits.mean() / base.mean() - 1):+.1f}% [{100 * lo:+.1f}, {100 * hi:+.1f}]",
                f"{kept}/{len(rels)}", f"{100 * worst:+.1f}"]

    rows = [[f"Manual", "-", f"{100 * base.mean():.1f}", "", "", ""]]
    for m in MEASURES:
        rows.append(row(f"{m}: best candidate", top1[m], corr[m]))
    for m in bounded:
        rows.append(row(f"{m}: manual unless clearly beaten (z={args.z})", bounded[m], None))
    return (f"Every screened candidate on the first {args.measure_facts} training facts per relation "
            f"(trex/train, {args.train_objects} objects, blocks of {args.block_size}) and on the test facts above.\n\n"
            + markdown_table(["selection by", "Spearman with test P@1 (mean)", "test P@1", "vs Manual [95% CI]",
                              "kept manual", "worst relation (points)"], rows))


def main() -> int:
    from promptmine.models.device import default_threads

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=bd.DATA, help="shared data folder (default: %(default)s)")
    ap.add_argument("--out", type=Path, required=True,
                    help="bench_lpaqa's --out folder: its mined.jsonl is reused and selected/*.jsonl re-evaluated; "
                         "oracle.md and oracle.json are written there")
    ap.add_argument("--relations", type=int, default=0, help="first N relations; 0 = all (default)")
    ap.add_argument("--test-facts", type=int, default=30, help="as bench_lpaqa (default: %(default)s)")
    ap.add_argument("--test-skip", type=int, default=0, help="as bench_lpaqa (default: %(default)s)")
    ap.add_argument("--test-block-size", type=int, default=0, help="as bench_lpaqa (default: one block)")
    ap.add_argument("--mine-sentences", type=int, default=1500)
    ap.add_argument("--mined", type=int, default=20)
    ap.add_argument("--paraphrased", type=int, default=10)
    ap.add_argument("--pivots", default="bergamot:pt,apertium:es")
    ap.add_argument("--max-candidates", type=int, default=30)
    ap.add_argument("--k", type=int, default=3, help="rank ensemble size (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=default_threads())
    ap.add_argument("--train-objects", choices=("common-vocab", "all"), default="common-vocab",
                    help="as bench_lpaqa (default: %(default)s)")
    ap.add_argument("--block-size", type=int, default=15, help="as bench_lpaqa (default: %(default)s)")
    ap.add_argument("--measure-facts", type=int, default=60,
                    help="training facts per relation for the which-measure study; 0 = skip it (default: %(default)s)")
    ap.add_argument("--z", type=float, default=1.645, help="the study's manual-unless-clearly-beaten bound")
    ap.add_argument("--only", default="", help="these relations only, comma-separated")
    ap.add_argument("--cache", choices=("memory", "disk"), default="memory",
                    help="memory: uncached; disk: the on-disk score cache bench_lpaqa --cache disk filled")
    args = ap.parse_args()
    args.train_facts = 0
    args.vocab = bd.common_vocab(args.data) if args.train_objects == "common-vocab" else None

    if lp.data_missing("bench_lpaqa_oracle", args.data):
        return bd.MISSING_EXIT
    if not (args.out / "mined.jsonl").is_file():
        print(f"bench_lpaqa_oracle: {args.out}/mined.jsonl is missing; run bench_lpaqa.py --out {args.out} first",
              file=sys.stderr)
        return 2

    import numpy as np

    from promptmine.core.progress import configure_logging, log
    from promptmine.core.records import Selection, WeightedTemplate
    from promptmine.models.score.causal import CausalScorer
    from promptmine.report import markdown_table
    from promptmine.scoring import CachedScorer, evaluate_blocks
    from promptmine.core.cache import DiskCache

    configure_logging()
    started = time.perf_counter()
    manual_all = bd.manual_templates(args.data)
    rels = bd.relations_with_data(args.data, manual_all, args.relations)
    try:
        rels = lp.only_relations(rels, args.only)
    except ValueError as e:
        ap.error(str(e))
    prepared = [lp.prepare_relation(r, args.data, args) for r in rels]
    pools = {r: pool.dedupe() for r, pool in lp.candidate_pools(args, prepared, manual_all).items()}
    test = {p["relation"]: lp.fact_blocks(p["relation"], p["test"], args.test_block_size, args.max_candidates)
            for p in prepared}
    scorer = CachedScorer(CausalScorer(threads=args.threads),
                          DiskCache(None, "scores") if args.cache == "memory" else True)

    # every candidate on every test fact: hits and reciprocal ranks per (relation, template)
    per: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for i, rel in enumerate(rels):
        per[rel] = {}
        for tpl in pools[rel].all:
            per[rel][tpl] = hits_rr(evaluate_blocks(scorer, Selection(
                relation=rel, method="manual", model="", templates=[WeightedTemplate(template=tpl)]), test[rel]))
        log(f"oracle: {rel} ({i + 1}/{len(rels)}): {len(pools[rel].all)} candidates on "
            f"{sum(b.n for b in test[rel])} facts")

    base = {rel: per[rel][pools[rel].manual] for rel in rels}
    base_hits = [h for rel in rels for h in base[rel][0]]
    base_per_rel = {rel: base[rel][0] for rel in rels}
    rows = [row("Manual", base_hits, [x for rel in rels for x in base[rel][1]], base_hits, base_per_rel, base_per_rel)]

    def add(name: str, per_rel: dict[str, tuple[np.ndarray, np.ndarray]]):
        rows.append(row(name, [h for rel in rels for h in per_rel[rel][0]],
                        [x for rel in rels for x in per_rel[rel][1]], base_hits,
                        {rel: per_rel[rel][0] for rel in rels}, base_per_rel))

    # bench_lpaqa's selections, re-evaluated on the same facts
    detail: dict[str, dict[str, float]] = {rel: {} for rel in rels}
    for name in ("Mined+Paraphrased top-1", f"top-{args.k} rank ensemble", "Optimized ensemble"):
        path = lp.selected_path(args.out, name)
        if not path.is_file():
            print(f"bench_lpaqa_oracle: {path} missing; row skipped", file=sys.stderr)
            continue
        sels = read_selected(path)
        got = {}
        for rel in rels:
            got[rel] = hits_rr(evaluate_blocks(scorer, sels[rel], test[rel]))
            detail[rel][name] = float(got[rel][0].mean())
        add(f"{name} (selected on trex/train)", got)

    # in-distribution selection: choose on one half of the test facts, evaluate on the other (2-fold)
    def in_distribution(k: int, templates_of) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {}
        for rel in rels:
            cands = templates_of(rel)
            n = len(per[rel][pools[rel].manual][0])
            fold = np.arange(n) % 2 == 0
            hits, rr = np.zeros(n, dtype=bool), np.zeros(n)
            for choose in (fold, ~fold):
                key = {t: (per[rel][t][0][choose].mean(), per[rel][t][1][choose].mean()) for t in cands}
                best = sorted(cands, key=lambda t: key[t], reverse=True)[:k]
                if k == 1:
                    h, x = per[rel][best[0]]
                else:  # rank ensemble: evaluated by scoring again (ranks combine, hits do not)
                    h, x = hits_rr(evaluate_blocks(scorer, Selection(relation=rel, method="rank", model="", templates=[
                        WeightedTemplate(template=t, weight=1.0 / k) for t in best]), test[rel]))
                hits[~choose], rr[~choose] = h[~choose], x[~choose]
            out[rel] = (hits, rr)
        return out

    add("Mined top-1 (selected in-distribution)", in_distribution(1, lambda r: pools[r].mined or [pools[r].manual]))
    add("Mined+Paraphrased top-1 (selected in-distribution)", in_distribution(1, lambda r: pools[r].all))
    add(f"top-{args.k} rank ensemble (selected in-distribution)", in_distribution(args.k, lambda r: pools[r].all))
    oracle = {rel: max(per[rel].values(), key=lambda v: (v[0].mean(), v[1].mean())) for rel in rels}
    add("Oracle top-1 (best candidate on these facts; an upper bound)", oracle)

    table = markdown_table(
        ["row", "P@1", "MRR", "facts", "vs Manual (relative)", "95% CI (paired bootstrap)", "W/T/L vs Manual"],
        [[r["row"], f"{100 * r['p_at_1']:.1f}", f"{100 * r['mrr']:.1f}", r["facts"], f"{100 * r['rel_change']:+.1f}%",
          f"[{100 * r['ci95'][0]:+.1f}%, {100 * r['ci95'][1]:+.1f}%]", f"{r['wins']}/{r['ties']}/{r['losses']}"]
         for r in rows])
    per_rel_rows = []
    for rel in rels:
        ranked = sorted(per[rel], key=lambda t: (per[rel][t][0].mean(), per[rel][t][1].mean()), reverse=True)
        sel = detail[rel].get("Mined+Paraphrased top-1")
        better = sum(per[rel][t][0].mean() > sel + 1e-12 for t in ranked) if sel is not None else None
        per_rel_rows.append([rel, len(ranked), f"{100 * base[rel][0].mean():.1f}",
                             f"{100 * sel:.1f}" if sel is not None else "-", better if better is not None else "-",
                             f"{100 * per[rel][ranked[0]][0].mean():.1f}", f"`{ranked[0]}`"])
    detail_table = markdown_table(["relation", "candidates", "Manual", "selected M+P top-1",
                                   "candidates better on test", "oracle", "oracle template"], per_rel_rows)
    n_pairs = sum(len(per[rel]) * len(base[rel][0]) for rel in rels)
    head = (f"Every candidate of bench_lpaqa's pools ({sum(len(pools[r].all) for r in rels)} in all, "
            f"{min(len(pools[r].all) for r in rels)}-{max(len(pools[r].all) for r in rels)} per relation) on "
            f"{len(base_hits)} half-B test facts (seed {args.seed}, skip {args.test_skip}, "
            f"{args.test_facts or 'all'} per relation, blocks of {args.test_block_size or 'all'}), raw scores, "
            f"{n_pairs} (fact, template) pairs in {time.perf_counter() - started:.0f} s.")
    report = f"# Selection vs in-distribution selection vs oracle\n\n{head}\n\n{table}\n\n## Per relation (P@1)\n\n{detail_table}\n"
    study = measure_study(args, scorer, rels, prepared, pools, per) if args.measure_facts else None
    if study:
        report += "\n## Which training measure predicts held-out P@1\n\n" + study + "\n"
        print("\n" + study)
    (args.out / "oracle.md").write_text(report, encoding="utf-8")
    (args.out / "oracle.json").write_text(json.dumps({"rows": rows, "args": {k: str(v) for k, v in vars(args).items()}},
                                                     indent=1))
    print(head + "\n\n" + table + "\n\n" + detail_table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
