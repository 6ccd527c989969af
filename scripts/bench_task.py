"""Benchmark: the task search (promptmine.optimize_task) on three tasks of ../shared/data, a few-shot
and a zero-shot prompt each, scored with SmolLM2-135M.

- SST-2: held out `sst2/dev.jsonl` (872); selection and demonstrations from `sst2/train.jsonl`.
- AG News: `agnews/test.jsonl`, a seeded split: `--agnews-heldout` (1,000) held out, the rest for
  selection and demonstrations.
- RTE: held out `rte/val.jsonl` (277); selection and demonstrations from `rte/train.jsonl`; two fields.

For each: held-out accuracy and macro-F1 of the majority label, the original, the selected prompt and
the ensembles, with paired bootstrap 95% intervals against the original; the spread of selection
accuracy over the prompts tried; what the winner changed; the wall time; and `predict` with the
report's saved prompts (best_prompt.json, the ensembles') on the held-out file, scored again, against
the report's accuracy (they must be the same). `--drift` adds the label
drift table of back-translation with and without protected spans (SST-2 prompts).

    .venv/bin/python scripts/bench_task.py [--tasks sst2,agnews,rte] [--prompts few-shot,zero-shot] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

from promptmine.corpora import CORPORA_DIR

import benchdata as bd

SST2_FEW = (CORPORA_DIR / "sample_fewshot_prompt.txt").read_text(encoding="utf-8").rstrip("\n")
SST2_ZERO = """You are an expert at judging movie reviews. Read the review below and decide whether the opinion it expresses is Positive or Negative. Answer with one word.

Review: {text}
Sentiment:"""
AGNEWS_FEW = """You are an expert system that excels at classifying news articles by topic.

Here are a few examples to refer to:

1. Stocks rallied on Wall Street as oil prices fell for a third day. // Business
2. The Red Sox beat the Yankees 5-3 to win the series. // Sports
3. The new chip doubles battery life for laptops, the company said. // Technology
4. Rebels attacked a convoy north of the capital, killing six soldiers. // World

Article: {text}
Topic:"""
AGNEWS_ZERO = """Read the news article below and decide which topic it belongs to: World, Sports, Business or Technology. Answer with one word.

Article: {text}
Topic:"""
RTE_FEW = """Decide whether the hypothesis follows from the premise. Answer True or False.

Premise: The cat sat on the mat all afternoon.
Hypothesis: A cat was on the mat.
Answer: True

Premise: John bought a new car last week.
Hypothesis: John sold his house.
Answer: False

Premise: {premise}
Hypothesis: {hypothesis}
Answer:"""
RTE_ZERO = """Read the premise and decide whether the hypothesis is true given the premise. Answer True or False.

Premise: {premise}
Hypothesis: {hypothesis}
Answer:"""

TASKS = {
    "sst2": {"prompts": {"few-shot": SST2_FEW, "zero-shot": SST2_ZERO},
             "verbalisers": "positive=Positive,negative=Negative"},
    "agnews": {"prompts": {"few-shot": AGNEWS_FEW, "zero-shot": AGNEWS_ZERO},
               "verbalisers": "world=World,sports=Sports,business=Business,science/technology=Technology"},
    "rte": {"prompts": {"few-shot": RTE_FEW, "zero-shot": RTE_ZERO},
            "verbalisers": "entailment=True,not_entailment=False"},
}


def routes():
    """The wording dimension's back-translation routes that work here."""
    from promptmine.paraphrasing import open_routes

    return open_routes([("bergamot", ["pt"]), ("apertium", ["es"])], who="bench_task")


def drift_table(permutations: int) -> None:
    """Label drift of back-translated SST-2 prompts with and without protected spans."""
    from promptmine.paraphrasing import RoundTripStats, paraphrase_text
    from promptmine.paraphrasing.spans import find_spans

    words = ["Positive", "Negative"]

    def labels(t):
        return re.findall(r"//\s*(\S+)", t) or [w for w in re.findall(r"\w+", t) if w in words]

    def cues(t):
        return [s.text for s in find_spans(t) if s.kind == "cue"]

    print("## Label drift of back-translated variants\n")
    print("| prompt | protection | variants | slot lost | label changed | cue changed | any |")
    print("|---|---|---:|---:|---:|---:|---:|")
    rs = routes()
    for pname, prompt in (("few-shot", SST2_FEW), ("zero-shot", SST2_ZERO)):
        for protect in (False, True):
            stats = RoundTripStats()
            vs = [r["template"] for t, pv in rs for r in paraphrase_text(
                prompt, t, pv, permutations=permutations, protect=protect, labels=words, stats=stats, cache=None)[1:]]
            d = [{"slot": v.count("{text}") != 1, "label": labels(v) != labels(prompt), "cue": cues(v) != cues(prompt)}
                 for v in dict.fromkeys(vs)]
            print(f"| {pname} | {'on' if protect else 'off'} | {len(d)} | {sum(x['slot'] for x in d)} | "
                  f"{sum(x['label'] for x in d)} | {sum(x['cue'] for x in d)} | {sum(any(x.values()) for x in d)} |")
    print()


# rough relative cost of a search per task (tokens a scoring x held-out size), to schedule the longest first
COST = {"sst2": 1.0, "agnews": 3.0, "rte": 2.0}


def run_one(run: tuple[str, str], options: dict) -> tuple[str, dict]:
    """One (task, prompt) search: its Markdown table and its numbers."""
    from dataclasses import replace

    from promptmine.core.progress import configure_logging
    from promptmine.models.score.causal import CausalScorer
    from promptmine.scoring import CachedScorer
    from promptmine.tasks import DIMENSIONS, TaskSettings, optimize_task
    from promptmine.tasks.prompt import check_prompt
    from promptmine.report import spread

    configure_logging(0)
    tname, pname = run
    spec = TASKS[tname]
    prompt = spec["prompts"][pname]
    dims = list(DIMENSIONS) if options["dimensions"] == "all" else options["dimensions"].split(",")
    if not all(f.is_file() for f in bd.task_files(tname)):  # said once in main
        return f"## {tname} {pname}: data missing, skipped\n", {}
    pool, held = bd.task_splits(tname, check_prompt(prompt), options["agnews_heldout"], options["seed"])
    held = held[:options["heldout_limit"]] if options["heldout_limit"] else held
    scorer = CachedScorer(CausalScorer(dtype=options["dtype"], threads=options["threads"]), cache=False)
    t1 = time.time()
    settings = TaskSettings(verbalisers=spec["verbalisers"], selection_size=options["selection"], dimensions=dims,
                            seed=options["seed"], k=options["k"], formats=options["formats"],
                            strategy=replace(TaskSettings.default("strategy"), budget=options["budget"]))
    with tempfile.TemporaryDirectory(prefix="bench-task-") as tmp:
        res = optimize_task(prompt, pool, scorer, settings, heldout=held,
                            routes=routes() if "wording" in dims else [], cache=None, out=Path(tmp) / "report")
        secs = time.time() - t1
        # the report's saved prompts applied by predict to the held-out file's lines, scored again
        check = predict_check(tname, Path(tmp) / "report", CachedScorer(scorer.scorer, cache=False))
    lo, med, hi, n = spread(res)
    lines = [f"## {tname} {pname}: selected on {res.n_selection} (pool {res.n_pool}), held-out {res.n_heldout}; "
             f"{res.scorings:,} scorings in {secs:.0f} s ({scorer.identity})", "",
             "| row | held-out accuracy | macro-F1 | vs original [95% CI] |", "|---|---:|---:|---|"]
    rows = {}
    for name, m in res.heldout_metrics.items():
        iv = res.intervals.get(name)
        rows[name] = {"accuracy": m.accuracy, "macro_f1": m.macro_f1, "delta_ci": iv}
        lines.append(f"| {name} | {100 * m.accuracy:.1f} | {100 * m.macro_f1:.1f} | "
                     + ("-" if iv is None else f"{100 * iv[0]:+.1f} [{100 * iv[1]:+.1f}, {100 * iv[2]:+.1f}]") + " |")
    lines += ["", f"spread over {n} prompts tried (first-block selection accuracy): min {100 * lo:.1f}, "
              f"median {100 * med:.1f}, max {100 * hi:.1f}",
              f"winner changed: {'; '.join(res.chosen.changes) or 'nothing'}",
              f"readout: {res.chosen.readout.describe(res.labels)}", res.recommendation,
              "predict on the held-out file (the report's saved prompts, scored again): " +
              "; ".join(f"{c['row']} ({c['file']}) {100 * c['predict']:.1f} vs report {100 * c['report']:.1f}: "
                        f"{'exact' if c['predict'] == c['report'] else 'DIFFERENT'}" for c in check), ""]
    return "\n".join(lines), {"rows": rows, "predict_check": check,
                               "seconds": secs, "scorings": res.scorings, "spread": [lo, med, hi, n],
                               "changes": list(res.chosen.changes), "readout": res.chosen.readout.describe(res.labels),
                               "chosen": res.chosen.prompt, "n_selection": res.n_selection,
                               "n_heldout": res.n_heldout}


def predict_check(tname: str, report: Path, scorer) -> list[dict]:
    """`predict` with each saved prompt of a report (best_prompt.json, the ensembles') on the held-out
    examples, read from their file by heldout.json's line numbers: its accuracy and the report's."""
    from promptmine.tasks.saved import load_prompt

    held = json.loads((report / "heldout.json").read_text())
    pool_file, held_file = bd.TASK_FILES[tname]
    lines = (bd.DATA / (held_file or pool_file)).read_text(encoding="utf-8").splitlines()
    inputs = report / "heldout_examples.jsonl"
    inputs.write_text("".join(lines[i] + "\n" for i in held["ids"]), encoding="utf-8")
    out = []
    for name in ("best_prompt.json", "rank_ensemble.json", "optimized_ensemble.json"):
        if not (report / name).is_file():
            continue
        saved = load_prompt(report / name)
        got = saved.predict(inputs, scorer)
        row = "selected" if name == "best_prompt.json" else saved.name
        out.append({"file": name, "row": row, "report": held["rows"][row]["accuracy"],
                    "predict": sum(g["label"] == g["gold"] for g in got) / len(got), "n": len(got)})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", default="sst2,agnews,rte", help="which tasks (default: %(default)s)")
    ap.add_argument("--prompts", default="few-shot,zero-shot", help="which prompts (default: %(default)s)")
    ap.add_argument("--selection", type=int, default=256, help="selection examples per search (default 256)")
    ap.add_argument("--budget", type=int, default=1536,
                    help="(example, prompt) scorings per search on the selection split (default 1536: each "
                         "racing stage gets its first round of 64 examples per candidate)")
    ap.add_argument("--formats", type=int, default=8, help="format variants raced (default 8)")
    ap.add_argument("--k", type=int, default=2, help="prompts in the ensembles (default 2)")
    ap.add_argument("--agnews-heldout", type=int, default=1000, help="AG News examples held out (default 1000)")
    ap.add_argument("--heldout-limit", type=int, default=None,
                    help="the first N held-out examples only (a quick run; default: all)")
    ap.add_argument("--dimensions", default="calibration,labels,format,demos",
                    help="what to search (default: %(default)s; `all` adds wording, i.e. back-translation)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: the scorer's)")
    ap.add_argument("--dtype", default="auto", help="scorer dtype (default auto: bfloat16 where native)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--drift", action="store_true", help="also the label drift table of back-translation")
    ap.add_argument("--workers", type=int, default=None,
                    help="searches run at once, one torch thread each (default: the available cores)")
    ap.add_argument("--json", type=Path, default=None, help="write the numbers here")
    args = ap.parse_args(argv)
    if args.workers is None:
        from promptmine.models.device import available_cores

        args.workers = available_cores()
    from promptmine.core.progress import configure_logging

    configure_logging(0)  # the search's progress on stderr
    t0 = time.time()
    if args.drift:
        drift_table(6)
    runs = [(t, p) for t in args.tasks.split(",") for p in TASKS[t]["prompts"] if p in args.prompts.split(",")]
    absent = [t for t in dict.fromkeys(t for t, _ in runs)
              if bd.missing("bench_task", *bd.task_files(t), hint=None, then=f"{t} skipped")]
    if runs and len(absent) == len({t for t, _ in runs}):
        return bd.MISSING_EXIT
    options = {k: getattr(args, k) for k in ("selection", "budget", "agnews_heldout", "dimensions", "threads", "dtype",
                                             "seed", "formats", "k", "heldout_limit")}
    results: dict = {}
    if args.workers > 1 and len(runs) > 1:
        # one search per core, each on one torch thread: independent searches fill the machine better
        # than one search on every core (small matrix products scale poorly across threads)
        import concurrent.futures as cf
        import multiprocessing

        options["threads"] = options["threads"] or 1
        queue = sorted(runs, key=lambda r: -COST[r[0]])  # the longest first, so the workers end together
        with cf.ProcessPoolExecutor(args.workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            done = {run: pool.submit(run_one, run, options) for run in queue}
            for run in runs:
                text, numbers = done[run].result()
                print(text, flush=True)
                results["/".join(run)] = numbers
    else:
        for run in runs:
            text, numbers = run_one(run, options)
            print(text, flush=True)
            results["/".join(run)] = numbers
    print(f"total {time.time() - t0:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
