"""Benchmark: how fast the causal scorer is, alone and in whole runs, before and after packing, in one run.

Speed report (default; SmolLM2-135M, --dtype fast = bfloat16 where native, --threads 2), each part
timed --repeats times, before and after interleaved, best kept:
- scorer: --subjects P19 test subjects x --objects objects (manual template): pairs/s and fed tokens/s
  (prefixes + trie nodes, no pads) before (the path before issue 21: one template per call, subjects
  grouped into passes of 128 continuations padded to the widest row, every kept row's logits converted
  to float32 at once; see `old_path`) and after (rows of all calls' templates padded to a length of
  their own and packed into passes of the scorer's automatic batch size in tokens, chunked logsumexp);
  max |log-prob difference| against `score_naive` (one full forward per candidate);
- ceiling: a plain batched forward of as many tokens (rows of the trie's mean width, no mask), with
  logits of the last position only and of every position; the scorer's tokens/s as a share of each;
- logsumexp alone on one pass's kept logits (random, the model's vocabulary): before vs after;
- end to end: bench_lpaqa's raw rows (racing selection on trex/train, evaluation on half-B test facts;
  its sampling and seeds, uncached) on the first --e2e-relations relations, before and after, taking
  turns relation by relation: (fact, object) pairs and fed tokens per second of the whole `compare`, as a
  share of the scorer's rate above and of the scorer's own rate on this workload (the same score_many
  calls replayed alone, no selection logic, no cache), and how far P@1 moved.

    .venv/bin/python scripts/bench_scoring.py                        # 40 x 30 pairs, 3 relations end to end
    .venv/bin/python scripts/bench_scoring.py --subjects 8 --objects 15 --e2e-relations 1 --e2e-mined 4

Measured 2026-12-05 on the idle 2-core AMD EPYC (AVX512-BF16, no AMX), bfloat16, 2 threads, best of 1
(`--repeats 1 --e2e-relations 2 --e2e-mined 10`):
- scorer, 40 x 30 pairs: 579 -> 671 pairs/s (1.16x), 1,058 fed tokens/s = 88% of the plain forward with
  every position's logits (1,196 tokens/s), 83% of it with the last only (1,282); before: 76% / 71%;
- logsumexp of 1,024 kept rows: 151 -> 34 ms (4.4x, bit-identical);
- end to end, P19 + P20 (budget 1500, 49,200 scores): 315.8 s -> 239.2 s (1.32x), P@1 unchanged (ranks
  differ by bfloat16 rounding: rows are padded differently); the scorer alone on the same calls: 307.9 s
  before, 240.2 s after, so whole runs go at 97% / 100% of the scorer's own rate on their workload;
  950 fed tokens/s = 90% of the scorer's tokens/s on the 40 x 30 workload (pairs/s 31%: 4.6 fed tokens a
  pair there against 1.6);
- agreement with score_naive (4 subjects): 0.32 in bfloat16 before and after.
Again 2026-12-06 on the same machine, idle, `--repeats 7 --e2e-relations 0`: 682 pairs/s, 1,077 tokens/s =
88% of the all-logits plain forward (1,223 tokens/s), repeat by repeat 86-89% (median 88%); 72% of the
last-logits one. Rows padded to multiples of 4 or 2 instead of 8 (less padding, more passes), SDPA vs
eager attention, 2,048-4,096-token passes: all within this machine's run-to-run noise (about 7%).
Earlier, under load from three other jobs (load 4-14), the same comparison gave 2.3-4.3x for the scorer:
packing matters most when passes are small and the machine is busy.

Variants table (--variants a,b,...: the earlier comparison of ways of scoring, described below).

Variants (SmolLM2-135M, shipped GGUF dequantised), all through `CausalScorer`:
- current: bfloat16 where native ("fast"), prefix KV cache + padded continuation batches of 128 (the
  path before the token trie: `trie=False`);
- trie: the same dtype, candidates packed as a token trie (`trie=True`, the default), batch 128;
- trie b512: the same with 512 continuations per pass (several subjects per forward);
- trie eager: the trie with the eager attention instead of torch's SDPA;
- int8: float32 weights, every linear layer but the output head dynamically quantised to int8
  (torch.ao.quantization.quantize_dynamic, per-channel weights), trie, batch 512;
- float32: float32 weights, trie, batch 512: the accuracy reference (equal to one full forward pass
  per candidate within ~1e-4).

For each thread count (`--thread-counts`, default 1 and 2), variants are timed in turn, `--repeats` times,
interleaved so that load from other jobs falls on all of them alike; the best time is reported.
Per variant: (fact, template) pairs per second and its ratio to `current` at the same thread count,
P@1, the facts whose top-1 prediction differs from `current` and from `float32`, and the max
|log-prob difference| against both.

Measured 2026-11-25 on the quiet 2-core AMD EPYC (AVX512-BF16), 112 pairs, best of 2, pairs/s at 1 / 2 threads:
current 17.0 / 25.9; trie 32.2 / 50.6 (1.90x / 1.96x); trie b512 32.2 / 50.8; trie eager 34.4 / 52.9;
int8 29.0 / 43.4; float32 (trie) 10.2 / 17.4. P@1 37.5 for current and trie (top-1 differs on 3 of 112 facts,
bfloat16 rounding; trie is nearer float32: 3 differences vs 6); int8 23.2 (60 top-1 changes, log-probs off
by up to 21): not kept. With the load average at ~14 (other jobs), 2 threads ran at 0.09-0.18x of 1 thread.

    .venv/bin/python scripts/bench_scoring.py --variants current,trie,trie\ b512,trie\ eager,int8,float32
    .venv/bin/python scripts/bench_scoring.py --facts 10 --thread-counts 1 --variants current,trie --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

import benchdata as bd
from benchdata import read_jsonl

ROOT = bd.ROOT

VARIANTS = {  # name: (CausalScorer options, int8 quantisation, attention)
    "current": ({"dtype": "fast", "trie": False, "batch_size": 128}, False, None),
    "trie": ({"dtype": "fast", "trie": True, "batch_size": 128}, False, None),
    "trie b512": ({"dtype": "fast", "trie": True, "batch_size": 512}, False, None),
    "trie eager": ({"dtype": "fast", "trie": True, "batch_size": 512}, False, "eager"),
    "int8": ({"dtype": "float32", "trie": True, "batch_size": 512}, True, None),
    "float32": ({"dtype": "float32", "trie": True, "batch_size": 512}, False, None),
}


def workload(data: Path, n_facts: int, max_candidates: int, seed: int, n_relations: int):
    """[(relation, template, RelationFacts)]: bench_lpaqa's default half-B test sample (30 facts) of each
    relation, ranked over its distinct objects, its first `n_facts` scored."""
    from promptmine.scoring import RelationFacts, relation_facts

    manual = bd.manual_templates(data)
    out = []
    for rel in bd.relations_with_data(data, manual, n_relations):
        test = bd.test_sample(bd.halves(data, rel, seed)[1], rel, seed, 30)
        f = relation_facts(rel, bd.pairs(test, rel), max_candidates=max_candidates)
        out.append((rel, manual[rel], RelationFacts(rel, f.subjects[:n_facts], f.gold[:n_facts], f.objects)))
    return out


def build(name: str):
    import torch

    from promptmine.models.score.causal import CausalScorer

    opts, int8, attn = VARIANTS[name]
    s = CausalScorer(device="cpu", **opts)
    if int8:
        import warnings

        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        head = s.model.get_output_embeddings()
        spec = {n: per_channel_dynamic_qconfig for n, m in s.model.named_modules()
                if isinstance(m, torch.nn.Linear) and m is not head}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao.quantization is deprecated in favour of torchao
            s.model = quantize_dynamic(s.model, spec, dtype=torch.qint8)
    if attn:
        s.model.config._attn_implementation = attn
    return s


def variants_main(args) -> int:
    """The variants table (--variants)."""
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        print(f"bench_scoring: unknown variants {unknown}; choose from {list(VARIANTS)}", file=sys.stderr)
        return 2
    threads = [int(t) for t in args.thread_counts.split(",")]

    import numpy as np
    import torch

    from promptmine.models.score.causal import token_trie
    from promptmine.scoring import p_at_1, ranks

    work = workload(args.data, args.facts, args.max_candidates, args.seed, args.relations)
    n_pairs = sum(f.n for _, _, f in work)
    scorers = {}
    for name in names:
        t = time.perf_counter()
        scorers[name] = build(name)
        print(f"loaded {name} ({scorers[name].identity}) in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    first = scorers[names[0]]

    # How many tokens each (fact, template) pair feeds the model with the trie, and how many of them
    # are template text before [X] (what a KV cache of the template head shared across subjects saves).
    fed = head = unshared = 0
    for _, tpl, f in work:
        before_x = tpl.split("[X]")[0].rstrip() if tpl.index("[X]") < tpl.index("[Y]") else ""
        head_n = len(first._encode(before_x)) if before_x else 0
        for s in f.subjects:
            prefix, _ = first.split(tpl, s, "")
            conts = [first._encode(first.split(tpl, s, o)[1]) for o in f.objects]
            fed += 1 + len(first._encode(prefix)) + len(token_trie(conts)[0])
            unshared += 1 + len(first._encode(prefix)) + sum(len(c) - 1 for c in conts)
            head += head_n

    def top1(name):
        return np.concatenate([out.argmax(1) for out in scores[name]])

    def maxdiff(a, b):
        return max(float(np.abs(x - y).max()) for x, y in zip(scores[a], scores[b]))

    def report() -> None:
        """The table so far (after each thread count, so a slow one still leaves the others)."""
        done = list(results)
        base, ref = names[0], ("float32" if "float32" in names else names[0])
        quality = {}
        for name in names:
            r = [rk for out, (_, _, f) in zip(scores[name], work) for rk in ranks(out, f.gold)]
            quality[name] = {"p_at_1": p_at_1(r), "top1_differs_from_" + base: int((top1(name) != top1(base)).sum()),
                             "top1_differs_from_" + ref: int((top1(name) != top1(ref)).sum()),
                             "max_abs_diff_vs_" + base: maxdiff(name, base), "max_abs_diff_vs_" + ref: maxdiff(name, ref)}
        print(f"\n{len(work)} relations x {args.facts} facts = {n_pairs} (fact, template) pairs (manual templates), "
              f"{min(len(f.objects) for *_, f in work)}-{max(len(f.objects) for *_, f in work)} candidates each; "
              f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} now (shared machine); best of {args.repeats}.")
        print(f"Tokens fed per pair: {fed / n_pairs:.1f} with the trie, {unshared / n_pairs:.1f} without sharing first "
              f"tokens (before any padding); template text before [X]: {100 * head / fed:.1f}% of the trie's "
              "(the most a template-head KV cache shared across subjects could save).")
        header = f"{'variant':<12} {'identity':<44} " + " ".join(f"{f'{t} thr pairs/s (x)':>21}" for t in done)
        header += f" {'P@1':>6} {'top1 != ' + base:>16} {'top1 != ' + ref:>16} {'max|d| ' + base:>14} {'max|d| ' + ref:>14}"
        print(header)
        for name in names:
            q = quality[name]
            speed = " ".join(f"{results[t][name]['pairs_per_s']:>12.2f} ({results[t][name]['pairs_per_s'] / results[t][base]['pairs_per_s']:>5.2f}x)"
                             for t in done)
            print(f"{name:<12} {scorers[name].identity + (' +int8' if VARIANTS[name][1] else ''):<44} {speed} "
                  f"{100 * q['p_at_1']:>6.1f} {q['top1_differs_from_' + base]:>16} {q['top1_differs_from_' + ref]:>16} "
                  f"{q['max_abs_diff_vs_' + base]:>14.3g} {q['max_abs_diff_vs_' + ref]:>14.3g}")
        for t in done[1:]:
            print(f"{t} threads vs {done[0]}: " + ", ".join(
                f"{name} {results[t][name]['pairs_per_s'] / results[done[0]][name]['pairs_per_s']:.2f}x" for name in names))
        sys.stdout.flush()
        if args.json:
            args.json.write_text(json.dumps({
                "pairs": n_pairs, "relations": len(work), "facts": args.facts, "speed": results, "quality": quality,
                "fed_tokens_per_pair": fed / n_pairs, "unshared_tokens_per_pair": unshared / n_pairs,
                "head_token_share": head / fed, "load_average": os.getloadavg(),
                "args": {k: str(v) for k, v in vars(args).items()}}, indent=1))

    results: dict[int, dict[str, dict]] = {}
    scores: dict[str, list] = {}
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        best = {name: float("inf") for name in names}
        for _ in range(args.repeats):
            for name in names:
                s = scorers[name]
                s.score(work[0][1], work[0][2].subjects[:1], work[0][2].objects)  # warm-up
                t = time.perf_counter()
                out = [np.array(s.score(tpl, f.subjects, f.objects)) for _, tpl, f in work]
                best[name] = min(best[name], time.perf_counter() - t)
                scores.setdefault(name, out)
                print(f"threads {n_threads} {name}: {n_pairs / best[name]:.2f} pairs/s", file=sys.stderr)
        results[n_threads] = {name: {"seconds": best[name], "pairs_per_s": n_pairs / best[name]} for name in names}
        report()
    return 0

# -- speed: scorer vs plain-forward ceiling vs whole runs, before and after packing ----------------

def old_path(scorer, on: bool) -> None:
    """Switch a CausalScorer to the code path before issue 21 (one template per call, subjects grouped
    in passes of 128 continuations padded to the group's widest row, every kept row's logits converted
    to float32 at once: `before_score_many`) or back."""
    import types

    import torch

    from promptmine.models.score import causal

    if not hasattr(causal, "_chunked_logsumexp"):
        causal._chunked_logsumexp = causal.row_logsumexp
    causal.row_logsumexp = (lambda logits, rows=None: torch.logsumexp(
        (logits if rows is None else logits[rows]).float(), dim=-1)) if on else causal._chunked_logsumexp
    if on:
        scorer.score_many = types.MethodType(before_score_many, scorer)
    else:
        scorer.__dict__.pop("score_many", None)


def before_score_many(scorer, jobs):
    """`CausalScorer.score_many` as it was before issue 21: job by job, groups of 128 continuations."""
    from promptmine.models.score.causal import token_trie

    out = []
    with scorer._torch.inference_mode():
        for template, subjects, objects in jobs:
            if not objects or not subjects:
                out.append([[] for _ in subjects])
                continue
            prefixes, conts = scorer._encode_job(template, subjects, objects, {})
            head = scorer._head(prefixes, scorer._probes(template))
            h = 0 if head is None else head[0]
            group, rows = max(1, 128 // len(objects)), []
            for g in range(0, len(prefixes), group):
                p, c = prefixes[g:g + group], conts[g:g + group]
                widest = max(len(x) - h + len(token_trie(y)[0]) for x, y in zip(p, c))
                rows.extend(scorer._score_trie(p, c, head=head, width=widest))
            out.append(rows)
    return out


def fed_tokens(scorer, template: str, subjects, objects) -> int:
    """Tokens the trie feeds the model for these pairs (prefixes + trie nodes, no pads)."""
    from promptmine.models.score.causal import token_trie

    n = 0
    for s in subjects:
        n += 1 + len(scorer._encode(scorer.split(template, s, "")[0]))
        n += len(token_trie([scorer._encode(scorer.split(template, s, o)[1]) for o in objects])[0])
    return n


def speed_main(args) -> int:
    import numpy as np
    import torch

    from promptmine.core.cache import DiskCache
    from promptmine.models.score.causal import CausalScorer
    from promptmine.scoring import CachedScorer

    sys.path.insert(0, str(ROOT / "scripts"))
    import bench_lpaqa as lp

    torch.set_num_threads(args.threads)
    scorer = CausalScorer(device="cpu", dtype=args.dtype, threads=args.threads)
    auto = scorer.batch_size
    manual = {r["relation"]: r["template"] for r in read_jsonl(args.data / "lama" / "relations.jsonl")}
    # scorer workload: the 40 P19 test subjects x 30 objects (manual template)
    facts = read_jsonl(args.data / "trex" / "test" / "P19.jsonl")
    random.Random(f"{args.seed}:P19:scorer").shuffle(facts)
    subjects = [f["sub_label"] for f in facts[:args.subjects]]
    objects = list(dict.fromkeys(f["obj_label"] for f in facts))[:args.objects]
    template = manual["P19"]
    n_pairs = len(subjects) * len(objects)
    n_tok = fed_tokens(scorer, template, subjects, objects)
    print(f"scorer workload: {len(subjects)} P19 subjects x {len(objects)} objects = {n_pairs} pairs, {n_tok} tokens "
          f"fed with the trie; {scorer.identity}, {args.threads} threads; auto batch {auto}", file=sys.stderr)

    # the ceiling: plain batched forwards of the same number of tokens, no mask, rows of the trie's width
    width = max(8, round(n_tok / len(subjects)))
    rows_per_pass = max(1, auto // len(objects))
    ids = torch.randint(1000, 40000, (len(subjects), width))

    def plain(keep_all: bool) -> float:
        t = time.perf_counter()
        with torch.inference_mode():
            for a in range(0, len(subjects), rows_per_pass):
                x = ids[a:a + rows_per_pass]
                scorer.model(input_ids=x, use_cache=False,
                             logits_to_keep=torch.ones(x.shape, dtype=torch.bool) if keep_all else 1)
        return time.perf_counter() - t

    def timed(before: bool) -> tuple[float, list]:
        old_path(scorer, before)
        t = time.perf_counter()
        out = scorer.score(template, subjects, objects)
        return time.perf_counter() - t, out

    # log-probabilities alone: one pass's kept logits (auto batch rows), old vs chunked logsumexp
    from promptmine.models.score import causal

    logits = (torch.randn(min(auto, 1024), scorer.model.config.vocab_size) * 4).to(scorer.dtype)
    chunked = causal.row_logsumexp

    def lse(old: bool) -> float:
        t = time.perf_counter()
        torch.logsumexp(logits.float(), -1) if old else chunked(logits)
        return time.perf_counter() - t

    runs: dict[str, list[float]] = {}  # every repeat's time: the best is reported, the spread of ratios too
    outs = {}
    scorer.score(template, subjects[:2], objects)  # warm-up
    for _ in range(args.repeats):  # interleaved, best of: load from other jobs falls on all alike
        for name, fn in (("scorer before", lambda: timed(True)), ("scorer after", lambda: timed(False)),
                         ("plain forward (last logits)", lambda: (plain(False), None)),
                         ("plain forward (all logits)", lambda: (plain(True), None)),
                         ("logsumexp before", lambda: (lse(True), None)), ("logsumexp after", lambda: (lse(False), None))):
            dt, out = fn()
            runs.setdefault(name, []).append(dt)
            if out is not None:
                outs[name] = np.array(out)
            print(f"  {name}: {dt:.2f} s", file=sys.stderr)
    best = {name: min(times) for name, times in runs.items()}
    old_path(scorer, False)
    naive = np.array(scorer.score_naive(template, subjects[:args.naive_subjects], objects))
    result = {"scorer": {}, "ceiling": {}, "logsumexp": {}, "e2e": {}}
    for name in ("scorer before", "scorer after"):
        result["scorer"][name] = {"seconds": best[name], "pairs_per_s": n_pairs / best[name],
                                  "tokens_per_s": n_tok / best[name],
                                  "max_abs_diff_vs_naive": float(np.abs(outs[name][:args.naive_subjects] - naive).max())}
    for name in ("plain forward (last logits)", "plain forward (all logits)"):
        # the scorer's share of the ceiling in each repeat (the two ran one after the other, so load
        # from other jobs falls on both alike): median and range, beside the ratio of the best times
        shares = sorted(c / a for a, c in zip(runs["scorer after"], runs[name]))
        result["ceiling"][name] = {"seconds": best[name], "tokens_per_s": n_tok / best[name],
                                   "share_per_repeat": {"median": float(np.median(shares)), "min": shares[0],
                                                        "max": shares[-1], "repeats": len(shares)}}
    result["logsumexp"] = {"rows": logits.shape[0], "before_s": best["logsumexp before"],
                           "after_s": best["logsumexp after"]}
    result["before_vs_after_max_abs_diff"] = float(np.abs(outs["scorer before"] - outs["scorer after"]).max())

    # end to end: bench_lpaqa's raw rows (selection by racing + evaluation) on the first relations,
    # before and after, relation by relation in turn
    if args.e2e_relations:
        from promptmine.selection import OptimizedEnsemble, Race, compare

        ns = argparse.Namespace(seed=args.seed, mine_sentences=1500, train_facts=0, test_skip=0,
                                test_facts=args.e2e_test_facts, out=args.out, mined=args.e2e_mined, paraphrased=10, pivots="bergamot:pt,apertium:es")
        args.out.mkdir(parents=True, exist_ok=True)
        rels = bd.relations_with_data(args.data, manual, args.e2e_relations)
        prepared = [lp.prepare_relation(r, args.data, ns) for r in rels]
        pools = lp.candidate_pools(ns, prepared, manual)
        train = {p["relation"]: lp.fact_blocks(p["relation"], p["train"], 15, 30) for p in prepared}
        test = {p["relation"]: lp.fact_blocks(p["relation"], p["test"], 0, 30) for p in prepared}
        e2e = {"before": [0.0, 0, 0], "after": [0.0, 0, 0]}  # seconds, pairs, tokens fed
        p1 = {"before": [], "after": []}
        calls: dict[str, list] = {"before": [], "after": []}  # the scorer's calls, replayed alone below
        for rel in rels:
            for name in (("before", "after") if rels.index(rel) % 2 == 0 else ("after", "before")):
                old_path(scorer, name == "before")
                cached = CachedScorer(scorer, DiskCache(None, "scores"))  # uncached, as bench_lpaqa's default
                inner = cached.scorer.score_many
                cached.scorer.score_many = lambda jobs, inner=inner, name=name: calls[name].append(list(jobs)) or inner(jobs)
                t = time.perf_counter()
                comp = compare(cached, {rel: pools[rel]}, {rel: train[rel]}, {rel: test[rel]},
                               strategy=Race(budget=args.e2e_budget), optimized=OptimizedEnsemble(max_templates=8),
                               seed=args.seed)
                dt = time.perf_counter() - t
                cached.scorer.__dict__.pop("score_many")
                old_path(scorer, name == "before")
                e2e[name][0] += dt
                e2e[name][1] += cached.computed
                p1[name] += [r for row in comp.scores.values() for sc in row for r in sc.ranks]
                print(f"  e2e {rel} {name}: {cached.computed} pairs in {dt:.1f} s", file=sys.stderr)
        # the scorer's own rate on this workload: the same calls replayed alone (no selection, no cache)
        for name in ("before", "after"):
            old_path(scorer, name == "before")
            t = time.perf_counter()
            for jobs in calls[name]:
                scorer.score_many(jobs)
            replay = time.perf_counter() - t
            e2e[name][2] = sum(fed_tokens(scorer, tpl, subj, objs) for jobs in calls[name] for tpl, subj, objs in jobs)
            sec, pairs, tokens = e2e[name]
            result["e2e"][name] = {"relations": rels, "seconds": sec, "pairs": pairs, "pairs_per_s": pairs / sec,
                                   "tokens_fed": tokens, "tokens_per_s": tokens / sec, "replay_seconds": replay}
            print(f"  replay {name}: {len(calls[name])} calls in {replay:.1f} s", file=sys.stderr)
        old_path(scorer, False)
        result["e2e"]["ranks_equal"] = p1["before"] == p1["after"]
        result["e2e"]["p_at_1_points_max_diff"] = 100 * abs(
            np.mean(np.array(p1["before"]) == 1) - np.mean(np.array(p1["after"]) == 1))

    # -- report
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, {args.threads} threads, "
          f"{scorer.identity}, best of {args.repeats}; load average now {load} (a shared machine: ratios "
          "within this run are what to compare, not absolute rates)")
    print(f"scorer: {len(subjects)} P19 subjects x {len(objects)} objects = {n_pairs} pairs, {n_tok} tokens fed")
    sb, sa = result["scorer"]["scorer before"], result["scorer"]["scorer after"]
    ceil = result["ceiling"]
    for name, r in result["scorer"].items():
        print(f"  {name:<30} {r['pairs_per_s']:9.1f} pairs/s {r['tokens_per_s']:9.1f} tokens/s  "
              f"max|d| vs score_naive ({args.naive_subjects} subjects) {r['max_abs_diff_vs_naive']:.2g}")
    for name, r in ceil.items():
        sh = r["share_per_repeat"]
        print(f"  {name:<30} {'':>17} {r['tokens_per_s']:9.1f} tokens/s  scorer after = "
              f"{sa['tokens_per_s'] / r['tokens_per_s']:.0%} of it "
              f"(before {sb['tokens_per_s'] / r['tokens_per_s']:.0%}); "
              f"repeat by repeat: median {sh['median']:.0%}, {sh['min']:.0%}-{sh['max']:.0%} over {sh['repeats']}")
    print(f"  scorer after / before: {sa['pairs_per_s'] / sb['pairs_per_s']:.2f}x; max |after - before| "
          f"{result['before_vs_after_max_abs_diff']:.2g}")
    lz = result["logsumexp"]
    print(f"  logsumexp of {lz['rows']} kept rows: {1e3 * lz['before_s']:.0f} ms before (all at once), "
          f"{1e3 * lz['after_s']:.0f} ms after (chunked): {lz['before_s'] / lz['after_s']:.1f}x")
    if result["e2e"]:
        eb, ea = result["e2e"]["before"], result["e2e"]["after"]
        print(f"end to end (bench_lpaqa raw rows, {', '.join(ea['relations'])}, budget {args.e2e_budget}, "
              f"{args.e2e_mined} mined templates, {args.e2e_test_facts} test facts per relation):")
        for name, r in (("before", eb), ("after", ea)):
            ref = sb if name == "before" else sa
            print(f"  {name:<7} {r['pairs']} pairs in {r['seconds']:.1f} s = {r['pairs_per_s']:.1f} pairs/s, "
                  f"{r['tokens_per_s']:.0f} tokens/s ({r['tokens_fed'] / r['pairs']:.1f} a pair; the scorer workload "
                  f"{n_tok / n_pairs:.1f}); {r['pairs_per_s'] / ref['pairs_per_s']:.0%} of the scorer's pairs/s "
                  f"above, {r['tokens_per_s'] / ref['tokens_per_s']:.0%} of its tokens/s; the scorer alone on these "
                  f"calls: {r['replay_seconds']:.1f} s, so the run went at {r['replay_seconds'] / r['seconds']:.0%} "
                  "of the scorer's own rate on its workload")
        print(f"  after / before: {ea['pairs_per_s'] / eb['pairs_per_s']:.2f}x; ranks identical: "
              f"{result['e2e']['ranks_equal']}; P@1 differs by {result['e2e']['p_at_1_points_max_diff']:.2f} points")
    if args.json:
        result.update({"load_average": os.getloadavg(), "args": {k: str(v) for k, v in vars(args).items()}})
        args.json.write_text(json.dumps(result, indent=1))
    return 0


def demos_main(args) -> int:
    """--demos: what three demonstrations before a relation's template cost (the relation search's demos
    stage). Per relation (bench_lpaqa's first --demo-relations, its 30 half-B test facts over their
    distinct objects): the manual template alone and after 3 trex/train facts (objects in LAMA's common
    vocabulary, as bench_lpaqa's) one a line (the stage's
    first 3-fact candidate), scored by the uncached scorer, interleaved --repeats times, best kept. The
    demonstrations are the same for every subject, so the scorer runs them once per call (its shared
    head KV cache) and each row feeds only the query's tokens."""
    import torch

    from promptmine.models.score.causal import CausalScorer
    from promptmine.selection.stages import RelationVariant, SearchSettings, demo_variants

    torch.set_num_threads(args.threads)
    scorer = CausalScorer(device="cpu", dtype=args.dtype, threads=args.threads)
    cases = []
    vocab = bd.common_vocab(args.data)  # the facts bench_lpaqa draws demonstrations from
    for rel, template, facts in workload(args.data, 30, 30, args.seed, args.demo_relations):
        train, _ = bd.train_sample(args.data, rel, args.seed, 60, vocab)
        pool = [(f["sub_label"], f["obj_label"]) for f in train]
        three = next(p for p, _ in demo_variants(RelationVariant(template), pool, SearchSettings(), args.seed, rel)
                     if len(p.demos) == 3)
        cases.append((rel, template, three.text, facts))
    best = {(rel, k): float("inf") for rel, *_ in cases for k in ("zero", "demos")}
    for _ in range(args.repeats):
        for rel, zero, demos, facts in cases:
            for k, text in (("zero", zero), ("demos", demos)):
                t = time.perf_counter()
                scorer.score(text, facts.subjects, facts.objects)
                best[(rel, k)] = min(best[(rel, k)], time.perf_counter() - t)
    rows = []
    for rel, zero, demos, facts in cases:
        z, d = best[(rel, "zero")], best[(rel, "demos")]
        rows.append({"relation": rel, "pairs": facts.n * len(facts.objects), "zero_s": z, "demos_s": d, "ratio": d / z,
                     "demo_tokens": len(scorer.tokenizer(demos.rsplit("\n", 1)[0])["input_ids"])})
    total = sum(r["demos_s"] for r in rows) / sum(r["zero_s"] for r in rows)
    print(f"three demonstrations vs the template alone ({scorer.identity}, {args.threads} threads, best of "
          f"{args.repeats}):")
    for r in rows:
        print(f"  {r['relation']}: {r['pairs']} pairs, {r['demo_tokens']} demonstration tokens: "
              f"{r['zero_s']:.2f} s -> {r['demos_s']:.2f} s ({r['ratio']:.2f}x)")
    print(f"all {len(rows)} relations: {total:.2f}x the zero-shot scoring time (target: at most 1.5x)")
    if args.json:
        args.json.write_text(json.dumps({"demos": rows, "ratio": total}, indent=1))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=bd.DATA, help="shared data folder (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=2, help="timed passes per variant (interleaved); best kept")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    sp = ap.add_argument_group("speed report (default)")
    sp.add_argument("--dtype", default="fast", help="scorer dtype (default: %(default)s)")
    sp.add_argument("--threads", type=int, default=2, help="torch threads (default: %(default)s)")
    sp.add_argument("--subjects", type=int, default=40, help="P19 subjects scored (default: %(default)s)")
    sp.add_argument("--objects", type=int, default=30, help="candidate objects (default: %(default)s)")
    sp.add_argument("--naive-subjects", type=int, default=4,
                    help="subjects also scored by score_naive, the reference (default: %(default)s)")
    sp.add_argument("--e2e-relations", type=int, default=3,
                    help="bench_lpaqa relations run end to end, before and after; 0 = skip (default: %(default)s)")
    sp.add_argument("--e2e-budget", type=int, default=1500,
                    help="racing budget per relation, as bench_lpaqa's --budget (default: %(default)s)")
    sp.add_argument("--e2e-mined", type=int, default=20, help="mined templates per relation, as bench_lpaqa's --mined "
                    "(default: %(default)s)")
    sp.add_argument("--e2e-test-facts", type=int, default=30, help="test facts per relation, as bench_lpaqa's "
                    "--test-facts (default: %(default)s)")
    sp.add_argument("--out", type=Path, default=ROOT / "out" / "bench_scoring",
                    help="mined templates kept here for re-runs (default: %(default)s)")
    de = ap.add_argument_group("demonstrations' cost (--demos)")
    de.add_argument("--demos", action="store_true", help="time three demonstrations before each relation's template "
                                                         "against the template alone")
    de.add_argument("--demo-relations", type=int, default=6, help="relations timed (default: %(default)s)")
    va = ap.add_argument_group("variants table (--variants)")
    va.add_argument("--variants", default=None,
                    help=f"comma-separated, first is the baseline (all: {','.join(VARIANTS)}); instead of the speed report")
    va.add_argument("--relations", type=int, default=0, help="first N relations (sorted by id); 0 = all")
    va.add_argument("--facts", type=int, default=4, help="test facts per relation (default: %(default)s)")
    va.add_argument("--max-candidates", type=int, default=30, help="candidate objects per relation (default: %(default)s)")
    va.add_argument("--thread-counts", dest="thread_counts", default="1,2",
                    help="torch thread counts to measure (default: %(default)s)")
    args = ap.parse_args()
    if bd.missing("bench_scoring", bd.trex_dir(args.data, "test"), bd.trex_dir(args.data, "train"),
                  bd.relations_file(args.data)):
        return bd.MISSING_EXIT
    if args.demos:
        return demos_main(args)
    return variants_main(args) if args.variants else speed_main(args)


if __name__ == "__main__":
    sys.exit(main())
