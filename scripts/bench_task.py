"""Benchmark: a few-shot sentiment prompt and a zero-shot one, paraphrased by back-translation with and
without protected spans, and the variants scored on SST-2 with SmolLM2-135M.

1. Label drift: the prompts round-tripped through Bergamot (en-pt-en) and Apertium (en-es-en, where
   installed), `--permutations` variants per route, then the 2 best of each route again through every
   route (a second generation, chained pivots); for each mode, how many variants lost the `{text}` slot, changed a label
   (the label words after `//`, or their occurrences), or changed a field cue.
2. Accuracy: the protected variants of each prompt scored on ../shared/data/sst2/dev.jsonl (872
   sentences) with the shipped causal scorer; variants selected on `--selection` sentences, the
   original, the top1 variant, the rank and optimised ensembles reported on a fixed held-out split of
   `--heldout` sentences (seed 0), with paired bootstrap 95% intervals against the original.

    .venv/bin/python scripts/bench_task.py [--selection 300 --heldout 572 --score-variants 20] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from promptmine.corpora import CORPORA_DIR

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "sst2" / "dev.jsonl"

FEW_SHOT = (CORPORA_DIR / "sample_fewshot_prompt.txt").read_text(encoding="utf-8").rstrip("\n")

ZERO_SHOT = """You are an expert at judging movie reviews. Read the review below and decide whether the opinion it expresses is Positive or Negative. Answer with one word.

Review: {text}
Sentiment:"""

LABELS = {"positive": ["Positive"], "negative": ["Negative"]}
WORDS = ["Positive", "Negative"]


def routes():
    """(name, translator, pivots) for every installed backend."""
    from promptmine.core.errors import PromptmineError
    from promptmine.models.translate import TRANSLATORS

    out = []
    for backend, pivots in (("bergamot", ["pt"]), ("apertium", ["es"])):
        try:
            t = TRANSLATORS.create(backend)
            if not t.supports("en", pivots[0]) or not t.supports(pivots[0], "en"):
                raise PromptmineError(f"{backend} has no en<->{pivots[0]}")
        except (PromptmineError, OSError, RuntimeError, ImportError) as e:
            print(f"bench_task: {backend} unavailable, skipped: {e}", file=sys.stderr)
            continue
        out.append((f"{backend} ({pivots[0]})", t, pivots))
    return out


def drift(original: str, variant: str) -> dict[str, bool]:
    """What a variant changed of the parts the prompt depends on."""
    from promptmine.protect import find_spans

    def labels(t):
        return re.findall(r"//\s*(\S+)", t) or [w for w in re.findall(r"\w+", t) if w in WORDS]

    def cues(t):
        return [s.text for s in find_spans(t) if s.kind == "cue"]

    return {"slot lost": variant.count("{text}") != 1, "label changed": labels(variant) != labels(original),
            "cue changed": cues(variant) != cues(original)}


def make_variants(prompt: str, protect: bool, permutations: int, stats) -> list[str]:
    """Variants through every route (generation 1), then the 2 best of each route again through every
    route (generation 2, e.g. en>pt>en>es>en); translators here are greedy, so variety comes from
    which sentences change and from chaining."""
    from promptmine.paraphrasing import paraphrase_text

    def run(text, translator, pivots):
        return [r["template"] for r in paraphrase_text(text, translator, pivots, permutations=permutations,
                                                       protect=protect, labels=WORDS, stats=stats, cache=None)[1:]]

    rs = routes()
    gen1 = {name: run(prompt, t, pv) for name, t, pv in rs}
    out = [v for vs in gen1.values() for v in vs]
    for vs in gen1.values():
        for seed in vs[:2]:
            for _, t, pv in rs:
                out += run(seed, t, pv)[:max(1, permutations // 2)]
    return [v for v in dict.fromkeys(out) if v != prompt]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=DATA, help="SST-2 dev JSONL (default: %(default)s)")
    ap.add_argument("--permutations", type=int, default=6, help="variants per route and generation")
    ap.add_argument("--selection", type=int, default=300, help="sentences to select on (default 300)")
    ap.add_argument("--heldout", type=int, default=572, help="held-out sentences (default 572)")
    ap.add_argument("--score-variants", type=int, default=20, help="protected variants scored per prompt")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", default="fast", help="scorer dtype (default fast: bfloat16 where native)")
    ap.add_argument("--prompts", default="few-shot,zero-shot", help="which prompts (default: %(default)s)")
    ap.add_argument("--json", type=Path, default=None, help="write the numbers here")
    args = ap.parse_args(argv)
    from promptmine.core.progress import configure_logging

    configure_logging(0)  # progress of the scoring on stderr

    from promptmine.paraphrasing import RoundTripStats
    from promptmine.task import read_task, run_task

    results: dict = {"drift": {}, "accuracy": {}}
    prompts = {name: p for name, p in {"few-shot": FEW_SHOT, "zero-shot": ZERO_SHOT}.items()
               if name in args.prompts.split(",")}
    variants: dict[str, list[str]] = {}
    t0 = time.time()
    print("## Label drift of back-translated variants\n")
    print("| prompt | protection | variants | slot lost | label changed | cue changed | any | "
          "sentence candidates repaired / dropped |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for pname, prompt in prompts.items():
        for protect in (False, True):
            stats = RoundTripStats()
            vs = make_variants(prompt, protect, args.permutations, stats)
            d = [drift(prompt, v) for v in vs]
            row = {k: sum(x[k] for x in d) for k in ("slot lost", "label changed", "cue changed")}
            row["any"] = sum(any(x.values()) for x in d)
            row["variants"] = len(vs)
            row["repaired"], row["dropped"] = stats.span_repaired, stats.span_dropped
            results["drift"][f"{pname}/{'protected' if protect else 'unprotected'}"] = row
            print(f"| {pname} | {'on' if protect else 'off'} | {len(vs)} | {row['slot lost']} | "
                  f"{row['label changed']} | {row['cue changed']} | {row['any']} | "
                  f"{'-' if not protect else f'{stats.span_repaired} / {stats.span_dropped}'} |")
            if protect:
                variants[pname] = vs
    print(f"\n(variants made in {time.time() - t0:.0f}s)\n")

    if not args.data.is_file():
        print(f"bench_task: the SST-2 data is missing ({args.data}); accuracy not measured", file=sys.stderr)
        return 0 if not args.json else _dump(args.json, results)
    from promptmine.models.score.causal import CausalScorer
    from promptmine.scoring import CachedScorer

    examples = read_task(args.data)
    n = args.selection + args.heldout
    if n > len(examples):
        print(f"bench_task: only {len(examples)} sentences, asked for {n}", file=sys.stderr)
        return 2
    if n < len(examples):  # a fixed subset first, so smaller runs are a prefix of the protocol
        import random

        order = list(range(len(examples)))
        random.Random(1).shuffle(order)
        examples = [examples[i] for i in sorted(order[:n])]
    scorer = CachedScorer(CausalScorer(dtype=args.dtype, threads=args.threads), cache=False)
    for pname, prompt in prompts.items():
        t1 = time.time()
        pool = variants[pname]  # an even sample across routes and generations
        vs = pool[::max(1, len(pool) // args.score_variants)][:args.score_variants]
        res = run_task(prompt, examples, scorer, verbalisers=LABELS, variants=vs, held_out=args.heldout)
        secs = time.time() - t1
        rows = {}
        print(f"## {pname}: {len(res.variants)} prompts (original + {len(res.variants) - 1} protected variants), "
              f"selected on {res.n_selection}, held-out {res.n_heldout} ({secs:.0f}s, {scorer.identity})\n")
        print("| prompt | held-out accuracy | macro-F1 | vs original [95% CI] |")
        print("|---|---:|---:|---|")
        for name, mt in res.heldout_metrics.items():
            iv = res.intervals.get(name)
            rows[name] = {"accuracy": mt.accuracy, "macro_f1": mt.macro_f1, "delta_ci": iv}
            print(f"| {name} | {100 * mt.accuracy:.1f} | {100 * mt.macro_f1:.1f} | "
                  + ("-" if iv is None else f"{100 * iv[0]:+.1f} [{100 * iv[1]:+.1f}, {100 * iv[2]:+.1f}]") + " |")
        sel_acc = [m.accuracy for m in res.selection_metrics]
        print(f"\nselection-split accuracy of the variants: original {100 * sel_acc[0]:.1f}, "
              f"min {100 * min(sel_acc):.1f}, max {100 * max(sel_acc):.1f}; chosen variant "
              f"#{res.variants.index(res.chosen)}\n")
        results["accuracy"][pname] = {"rows": rows, "selection_accuracy": sel_acc, "seconds": secs,
                                      "chosen": res.chosen, "n_selection": res.n_selection,
                                      "n_heldout": res.n_heldout}
    print(f"total {time.time() - t0:.0f}s")
    return 0 if not args.json else _dump(args.json, results)


def _dump(path: Path, results: dict) -> int:
    path.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
