"""Benchmark: back-translation paraphrasing, batched engine against the naive way, in one run.

Marian with the real opus-mt-en-de architecture (6+6 layers, d_model 512, 8 heads, FFN 2048, 58,101-token
vocabulary) and random weights (speed does not depend on the weights; outputs forced to 12 tokens),
paraphrasing LAMA's 41 T-REx manual templates with B=7 through 2 pivots (de, fr):

- engine: `engine.paraphrase.paraphrase_templates` (all prompts of a pivot in batched beam-search calls,
  n-best, back-translations batched too);
- naive: one prompt at a time, one `generate` call per candidate (1 forward call + B backward calls per
  prompt and pivot), as a script sending one request per permutation would.

Throughput is in round trips per second (one round trip = one of the B*B back-translations of a prompt
through a pivot). The naive way may run on a subset of the templates (`--naive-subset`); rates are
per round trip, so they compare. Peak memory is the process RSS sampled during each phase.

- ctranslate2: the same engine with the `ctranslate2` backend on the same weights (converted once into a
  scratch model store first; int8 on CPU by default, as many threads as torch uses), run after the
  transformers model is freed: round trips per second and peak memory as ratios against the engine row.

Then it paraphrases the same 41 templates with the shipped `bergamot` translator (pivot pt) and prints
the paraphrases of 5 relations, and counts how many of the 43 distinct templates of relations.jsonl get at
least one paraphrase from `paraphrase`'s defaults (every installed route) against the old default
(Bergamot pt, one round trip); `--coverage-only` runs just that count.

    .venv/bin/python scripts/bench_paraphrase.py [--naive-subset 8] [--ct2-compute-types int8,float32] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from pathlib import Path

import benchdata as bd

SHOW = ["P138", "P47", "P27", "P264", "P159"]


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def release_freed_memory() -> None:
    """Hand memory freed by the previous phase back to the OS, so each phase's peak is its own."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakRSS:
    """Samples the resident set size in a thread: the peak during a `with` block."""

    def __enter__(self):
        release_freed_memory()
        self.start = self.peak = rss_mb()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, rss_mb())


def default_coverage(path: Path, *, baseline: bool = True) -> dict:
    """How many distinct LAMA templates `promptmine paraphrase` with its defaults gives at least one new
    paraphrase (every installed route, growth where one round trip gives nothing), against the old
    default (Bergamot pt, one round trip) in the same run; no cache, so both translate."""
    from promptmine.paraphrasing import installed_routes, paraphrase

    # every relation of relations.jsonl, not only the 41 T-REx ones: 43 distinct templates of 46 lines
    templates = list(dict.fromkeys(t for _, t in bd.lama_templates(path)))
    rows = ([("before: bergamot pt, 1 generation", dict(backend="bergamot", generations=1))] if baseline else [])
    rows.append(("now: defaults (" + ", ".join(f"{n}:{','.join(p)}" for n, p in installed_routes()) + ")", {}))
    out = {"templates": len(templates)}
    print(f"\ndefault coverage on the {len(templates)} distinct templates of {path}:")
    print("| paraphrase settings | templates with >= 1 paraphrase | paraphrases | seconds |\n|---|---:|---:|---:|")
    for name, kwargs in rows:
        t0 = time.perf_counter()
        result = paraphrase(templates, cache=False, **kwargs)
        with_para = sum(len(c) > 1 for c in result.candidates)
        n_para = sum(len(c) - 1 for c in result.candidates)
        out[name] = {"with_paraphrase": with_para, "paraphrases": n_para, "seconds": time.perf_counter() - t0}
        print(f"| {name} | {with_para} of {len(templates)} | {n_para} | {time.perf_counter() - t0:.0f} |", flush=True)
        without = [c[0].source for c in result.candidates if len(c) < 2]
        if without:
            print(f"  without a paraphrase: {'; '.join(without)}")
    return out


def naive(templates, translator, pivots, beams, styles):
    """One prompt at a time, one generate call per candidate; returns round trips done."""
    from promptmine.paraphrasing import render_slots

    done = 0
    for t in templates:
        p = render_slots(t, styles[0])
        for pivot in pivots:
            fwd = translator.translate([p], "en", pivot, n=beams)[0]
            for h in fwd:
                back = translator.translate([h.text], pivot, "en", n=beams)[0]
                done += len(back)
    return done


def bench_ctranslate2(args, compute_type: str, mapping: str, templates: list[str], pivots: list[str],
                      styles: list[str], store: Path, threads: int) -> dict | None:
    """The engine row again with the ctranslate2 backend on the same Marian folder (None if not installed)."""
    try:
        import ctranslate2  # noqa: F401
    except ImportError:
        print("ctranslate2: not installed (`pip install 'promptmine[ctranslate2]'`); row skipped", flush=True)
        return None
    from promptmine.paraphrasing import RoundTripStats, paraphrase_templates
    from promptmine.models.translate.ctranslate2 import CTranslate2Translator

    os.environ["PROMPTMINE_MODELS"] = str(store)  # the conversion goes to a scratch store, not the user's
    with PeakRSS() as mem_load:
        t0 = time.perf_counter()
        tr = CTranslate2Translator(model=mapping, device=args.device, compute_type=compute_type,
                                   batch_size=args.batch_size, min_new_tokens=args.tokens,
                                   max_new_tokens=args.tokens, threads=threads)
        for p in pivots:
            tr.require("en", p)
            tr.require(p, "en")
        t_load = time.perf_counter() - t0
    print(f"# ctranslate2 {ctranslate2.__version__}: converted ({tr.compute_type}, device {tr.device}) and loaded in "
          f"{t_load:.0f}s (peak RSS {mem_load.peak:.0f} MB while converting); {threads} threads", flush=True)
    translate = tr.translate
    inputs: list[int] = []

    def spy(texts, src, tgt, n=1):
        inputs.append(len(set(texts)))
        return translate(texts, src, tgt, n)

    tr.translate = spy
    stats = RoundTripStats()
    load_avg = os.getloadavg()[0]
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        paraphrase_templates(templates, tr, pivots, beams=args.beams, placeholders=styles, cache=None, stats=stats)
        seconds = time.perf_counter() - t0
    tr.translate = translate
    print(f"ctranslate2: {stats.round_trips} round trips in {seconds:.1f}s = {stats.round_trips / seconds:.1f}/s; "
          f"{sum(inputs)} distinct texts translated; peak RSS {mem.peak:.0f} MB ({mem.start:.0f} MB before); "
          f"load average {load_avg:.1f} at its start",
          flush=True)
    return {"compute_type": tr.compute_type, "threads": threads, "convert_and_load_seconds": t_load,
            "round_trips": stats.round_trips, "seconds": seconds, "per_second": stats.round_trips / seconds,
            "inputs_translated": sum(inputs), "peak_rss_mb": mem.peak, "rss_before_mb": mem.start,
            "load_average_start": load_avg}


def main() -> int:
    from promptmine.paraphrasing import ParaphraseSettings

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--relations", type=Path, default=bd.relations_file())
    ap.add_argument("--beams", type=int, default=ParaphraseSettings.default("beams"))
    ap.add_argument("--pivots", default="de,fr")
    ap.add_argument("--tokens", type=int, default=12, help="forced output length in tokens")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--naive-subset", type=int, default=2, help="templates for the naive way (0: all)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="auto", help="auto (float32 on CPU), fast, bfloat16, ...")
    ap.add_argument("--skip-bergamot", action="store_true")
    ap.add_argument("--ct2-compute-types", default="auto", help="ctranslate2 rows, comma-separated: auto (int8 on "
                                                                "CPU, float16 on GPU), int8, float32, ...")
    ap.add_argument("--skip-ctranslate2", action="store_true")
    ap.add_argument("--json", type=Path, help="write the numbers here")
    ap.add_argument("--out", type=Path, help="write the bergamot paraphrases (JSONL) here")
    ap.add_argument("--coverage-only", action="store_true",
                    help="only count the distinct LAMA templates that the default `paraphrase` gives a "
                         "paraphrase (every installed route) against the old default (bergamot pt, 1 generation)")
    args = ap.parse_args()
    if bd.missing("bench_paraphrase", args.relations, hint="pass --relations FILE"):
        return bd.MISSING_EXIT
    if args.coverage_only:
        numbers = default_coverage(args.relations)
        if args.json:
            args.json.write_text(json.dumps(numbers, indent=2))
        return 0
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from promptmine.paraphrasing import RoundTripStats, paraphrase_templates
    from promptmine.models.translate.marian import MarianTranslator
    from promptmine.testing.tiny import make_random_marian

    rel_templates = [(r, t) for r, t in bd.lama_templates(args.relations) if r in bd.TREX_41]
    templates = [t for _, t in rel_templates]
    pivots = args.pivots.split(",")
    styles = ["names"]
    load_avg = os.getloadavg()
    print(f"# bench_paraphrase: {len(templates)} LAMA T-REx manual templates, B={args.beams}, pivots {pivots}, "
          f"outputs forced to {args.tokens} tokens", flush=True)
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
          f"with {torch.get_num_threads()} threads, device {args.device}, dtype {args.dtype}; load average at start "
          f"{load_avg[0]:.1f} (shared machine: contention slows both sides alike)", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        corpus = [t.replace("[X]", "Alice").replace("[Y]", "Bob") for t in templates] * 5
        folder = make_random_marian(Path(tmp) / "opus-mt-random", corpus, vocab_size=58101, spm_vocab_size=400,
                                    d_model=512, layers=6, heads=8, ffn_dim=2048, init_std=0.05)
        # the same architecture serves every direction (loaded once)
        mapping = ",".join(f"{a}-{b}={folder}" for p in pivots for a, b in (("en", p), (p, "en")))
        tr = MarianTranslator(model=mapping, device=args.device, batch_size=args.batch_size,
                              min_new_tokens=args.tokens, max_new_tokens=args.tokens, dtype=args.dtype)
        for p in pivots:
            tr.require("en", p)
            tr.require(p, "en")
        _, model = tr._load("en", pivots[0])
        n_params = sum(x.numel() for x in model.parameters())
        print(f"# random Marian: {n_params / 1e6:.1f}M parameters, vocab {model.config.vocab_size}, {model.dtype}, "
              f"built and loaded in {time.perf_counter() - t0:.0f}s; RSS {rss_mb():.0f} MB", flush=True)
        translate = tr.translate
        back_inputs, all_inputs = [], []

        def spy(texts, src, tgt, n=1):  # how many distinct texts were translated (dedupe favours the engine)
            all_inputs.append(len(set(texts)))
            if src != "en":
                back_inputs.append(len(set(texts)))
            return translate(texts, src, tgt, n)

        tr.translate = spy
        stats = RoundTripStats()
        with PeakRSS() as mem_engine:
            t0 = time.perf_counter()
            paraphrase_templates(templates, tr, pivots, beams=args.beams, placeholders=styles, cache=None,
                                 stats=stats)
            t_engine = time.perf_counter() - t0
        tr.translate = translate
        rate_engine = stats.round_trips / t_engine
        print(f"engine: {stats.round_trips} round trips in {t_engine:.1f}s = {rate_engine:.1f}/s; "
              f"{sum(back_inputs)} distinct back-translation inputs of {len(templates) * len(pivots) * args.beams}; "
              f"peak RSS {mem_engine.peak:.0f} MB ({mem_engine.start:.0f} MB before)", flush=True)

        subset = templates if args.naive_subset <= 0 else templates[:args.naive_subset]
        with PeakRSS() as mem_naive:
            t0 = time.perf_counter()
            trips = naive(subset, tr, pivots, args.beams, styles)
            t_naive = time.perf_counter() - t0
        rate_naive = trips / t_naive
        print(f"naive: {trips} round trips ({len(subset)} templates) in {t_naive:.1f}s = {rate_naive:.1f}/s; "
              f"peak RSS {mem_naive.peak:.0f} MB ({mem_naive.start:.0f} MB before)", flush=True)
        del tr, model, translate, spy  # frees the transformers model before the ctranslate2 row
        ct2_rows = [] if args.skip_ctranslate2 else [
            bench_ctranslate2(args, ct, mapping, templates, pivots, styles, Path(tmp) / "store", torch.get_num_threads())
            for ct in args.ct2_compute_types.split(",")]
        ct2_rows = [r for r in ct2_rows if r]

    result = {
        "templates": len(templates), "beams": args.beams, "pivots": pivots, "tokens": args.tokens,
        "batch_size": args.batch_size, "device": args.device, "dtype": args.dtype, "threads": torch.get_num_threads(),
        "load_average_start": load_avg[0],
        "engine": {"round_trips": stats.round_trips, "seconds": t_engine, "per_second": rate_engine,
                   "peak_rss_mb": mem_engine.peak, "rss_before_mb": mem_engine.start},
        "naive": {"templates": len(subset), "round_trips": trips, "seconds": t_naive, "per_second": rate_naive,
                  "peak_rss_mb": mem_naive.peak, "rss_before_mb": mem_naive.start},
        "speedup": rate_engine / rate_naive,
    }
    print()
    print("| way | templates | round trips | seconds | round trips/s | peak RSS (MB) |")
    print("|---|---|---|---|---|---|")
    print(f"| naive (1 prompt, 1 generate per candidate) | {len(subset)} | {trips} | {t_naive:.1f} | "
          f"{rate_naive:.1f} | {mem_naive.peak:.0f} |")
    print(f"| engine (batched n-best, batch {args.batch_size}) | {len(templates)} | {stats.round_trips} | "
          f"{t_engine:.1f} | {rate_engine:.1f} | {mem_engine.peak:.0f} |")
    for ct2 in ct2_rows:
        ct2["vs_engine"] = {"round_trips_per_second": ct2["per_second"] / rate_engine,
                            "per_translated_text": (ct2["per_second"] / ct2["inputs_translated"])
                            / (rate_engine / sum(all_inputs)),
                            "peak_rss": ct2["peak_rss_mb"] / mem_engine.peak}
        print(f"| ctranslate2 engine ({ct2['compute_type']}, batch {args.batch_size}) | {len(templates)} | "
              f"{ct2['round_trips']} | {ct2['seconds']:.1f} | {ct2['per_second']:.1f} | {ct2['peak_rss_mb']:.0f} |")
    if ct2_rows:
        result["ctranslate2"] = ct2_rows
    # The engine translates each distinct text once (LAMA repeats templates; candidates repeat); the naive
    # way translates 1 + B texts per template and pivot. Per translated text, the gain is batching alone.
    naive_inputs = len(templates) * len(pivots) * (1 + args.beams)
    result["engine"]["inputs_translated"] = sum(all_inputs)
    result["speedup_per_translated_input"] = result["speedup"] * sum(all_inputs) / naive_inputs
    print(f"\nspeed-up: {result['speedup']:.1f}x in round trips/s (target >= 5x on CPU); the engine translated "
          f"{sum(all_inputs)} distinct texts where the naive way translates {naive_inputs}, so per translated "
          f"text (batching alone): {result['speedup_per_translated_input']:.1f}x")
    for ct2 in ct2_rows:
        ratio = ct2["vs_engine"]
        print(f"ctranslate2 ({ct2['compute_type']}) against the transformers engine on the same weights: "
              f"{ratio['round_trips_per_second']:.2f}x the round trips/s, {ratio['peak_rss']:.2f}x the peak RSS; "
              f"it translated {ct2['inputs_translated']} distinct texts where the engine translated "
              f"{sum(all_inputs)}, so per translated text {ratio['per_translated_text']:.2f}x")

    if not args.skip_bergamot:
        from promptmine.models.translate.bergamot import BergamotTranslator

        bt = BergamotTranslator()
        bstats = RoundTripStats()
        t0 = time.perf_counter()
        out = paraphrase_templates(templates, bt, ["pt"], beams=args.beams, cache=None,
                                   relations=[r for r, _ in rel_templates], stats=bstats)
        t_b = time.perf_counter() - t0
        with_para = sum(1 for c in out if len(c) > 1)
        print(f"\nbergamot (pivot pt, slot renderings names/rare/brackets): {len(templates)} templates in {t_b:.1f}s, "
              f"{bstats.kept} paraphrases, {with_para} templates with at least one, {bstats.dropped} of "
              f"{bstats.round_trips} round trips dropped for a lost slot")
        result["bergamot"] = {"seconds": t_b, "paraphrases": bstats.kept, "templates_with_paraphrase": with_para,
                              "dropped": bstats.dropped, "round_trips": bstats.round_trips}
        by_rel = {c[0].relation: c for c in out}
        for rel in SHOW:
            if rel in by_rel:
                cands = by_rel[rel]
                print(f"- {rel}: `{cands[0].template}` -> " +
                      ("; ".join(f"`{c.template}`" for c in cands[1:]) or "(no new paraphrase)"))
        if args.out:
            from promptmine.core.io import write_jsonl
            from promptmine.cli.paraphrase import output_record  # only needed here

            write_jsonl(args.out, [output_record(c) for cands in out for c in cands])
            print(f"wrote {args.out}")
    result["default_coverage"] = default_coverage(args.relations)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
