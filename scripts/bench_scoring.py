"""Benchmark: ways of scoring (fact, template) pairs with the causal scorer on CPU, in one run.

Workload: for each T-REx relation in ../shared/data/trex/test that has a manual LAMA template
(../shared/data/lama/relations.jsonl), `--facts` test facts of half B sampled as scripts/bench_lpaqa.py
samples them (same seed strings), scored with the manual template over the relation's candidate objects
(the distinct objects of its 30 sampled test facts, capped at --max-candidates, as bench_lpaqa).

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

For each thread count (`--threads`, default 1 and 2), variants are timed in turn, `--repeats` times,
interleaved so that load from other jobs falls on all of them alike; the best time is reported.
Per variant: (fact, template) pairs per second and its ratio to `current` at the same thread count,
P@1, the facts whose top-1 prediction differs from `current` and from `float32`, and the max
|log-prob difference| against both.

Measured 2026-11-25 on the quiet 2-core AMD EPYC (AVX512-BF16), 112 pairs, best of 2, pairs/s at 1 / 2 threads:
current 17.0 / 25.9; trie 32.2 / 50.6 (1.90x / 1.96x); trie b512 32.2 / 50.8; trie eager 34.4 / 52.9;
int8 29.0 / 43.4; float32 (trie) 10.2 / 17.4. P@1 37.5 for current and trie (top-1 differs on 3 of 112 facts,
bfloat16 rounding; trie is nearer float32: 3 differences vs 6); int8 23.2 (60 top-1 changes, log-probs off
by up to 21): not kept. With the load average at ~14 (other jobs), 2 threads ran at 0.09-0.18x of 1 thread.

    .venv/bin/python scripts/bench_scoring.py                      # 28 relations x 4 facts, threads 1 and 2
    .venv/bin/python scripts/bench_scoring.py --facts 10 --threads 1 --variants current,trie --json out.json
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

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

VARIANTS = {  # name: (CausalScorer options, int8 quantisation, attention)
    "current": ({"dtype": "fast", "trie": False, "batch_size": 128}, False, None),
    "trie": ({"dtype": "fast", "trie": True, "batch_size": 128}, False, None),
    "trie b512": ({"dtype": "fast", "trie": True, "batch_size": 512}, False, None),
    "trie eager": ({"dtype": "fast", "trie": True, "batch_size": 512}, False, "eager"),
    "int8": ({"dtype": "float32", "trie": True, "batch_size": 512}, True, None),
    "float32": ({"dtype": "float32", "trie": True, "batch_size": 512}, False, None),
}


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def workload(data: Path, n_facts: int, max_candidates: int, seed: int, n_relations: int):
    """[(relation, template, RelationFacts)]: bench_lpaqa's half-B test sample of each relation."""
    from promptmine.core.records import Pair
    from promptmine.scoring import RelationFacts, relation_facts

    manual = {r["relation"]: r["template"] for r in read_jsonl(data / "lama" / "relations.jsonl")}
    rels = sorted((p.stem for p in (data / "trex" / "test").glob("P*.jsonl")), key=lambda r: int(r[1:]))
    rels = [r for r in rels if r in manual][:n_relations or None]
    out = []
    for rel in rels:
        facts = read_jsonl(data / "trex" / "test" / f"{rel}.jsonl")
        random.Random(f"{seed}:{rel}:split").shuffle(facts)
        half_b = facts[len(facts) // 2:]
        random.Random(f"{seed}:{rel}:test").shuffle(half_b)
        pairs = [Pair(subject=f["sub_label"], object=f["obj_label"], relation=rel) for f in half_b[:30]]
        f = relation_facts(rel, pairs, max_candidates=max_candidates)
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA, help="shared data folder (default: %(default)s)")
    ap.add_argument("--relations", type=int, default=0, help="first N relations (sorted by id); 0 = all")
    ap.add_argument("--facts", type=int, default=4, help="test facts per relation (default: %(default)s)")
    ap.add_argument("--max-candidates", type=int, default=30, help="candidate objects per relation (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", default="1,2", help="torch thread counts to measure (default: %(default)s)")
    ap.add_argument("--repeats", type=int, default=1, help="timed passes per variant and thread count; best kept")
    ap.add_argument("--variants", default=",".join(VARIANTS),
                    help=f"comma-separated, first is the baseline (default: %(default)s)")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    args = ap.parse_args()

    if not (args.data / "trex" / "test").is_dir() or not (args.data / "lama" / "relations.jsonl").is_file():
        print(f"bench_scoring: the shared data is missing ({args.data / 'trex' / 'test'}, "
              f"{args.data / 'lama' / 'relations.jsonl'}); nothing to measure", file=sys.stderr)
        return 2
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        ap.error(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    threads = [int(t) for t in args.threads.split(",")]

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


if __name__ == "__main__":
    sys.exit(main())
