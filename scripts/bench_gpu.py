"""Benchmark: the causal scorer on a GPU (or, with small sizes, on CPU) without downloads or data.

Made for a GPU machine that has torch and transformers but no package registry and receives at most
64 MiB of files: no real weights travel. Throughput uses SmolLM2-135M's and SmolLM2-1.7B's shapes
(LlamaConfig from the hard-coded values of HuggingFaceTB/SmolLM2-135M and -1.7B) with random weights:
speed does not depend on the weights. It reports (fact, object) pairs/s and fed tokens/s of
`CausalScorer.score_many` at several batch sizes (tokens per forward pass, the trie's unit) in --dtype,
on the bundled sample facts (corpora/sample_pairs.jsonl, all objects of their relation as candidates,
every relation's template: one packed workload), and a plain batched forward's tokens/s as the ceiling. Exactness: a
seeded tiny Llama (promptmine.testing.tiny) scored on --device in float32 and --dtype against the same
model on CPU in float32 (`score_naive`, one full forward per candidate): max |log-prob difference|.

The SmolLM2 tokenizer is used when one is found (--tokenizer DIR, the model store's converted SmolLM2,
or DIR/tokenizer from --vendor-to); else a word-level tokenizer, and the output says so (fewer tokens
per object than SmolLM2's BPE: pairs/s then reads high).

promptmine needs pydantic, which transformers does not: on a machine without it, copy it here first
(`--vendor-to scripts/_vendor`, ~7 MiB, the same Python minor version and platform) together with the
SmolLM2 tokenizer files (3.4 MiB); the script puts scripts/_vendor on sys.path when it exists.

    .venv/bin/python scripts/bench_gpu.py --vendor-to scripts/_vendor          # here, before the trip
    python scripts/bench_gpu.py                                                # on the GPU machine
    .venv/bin/python scripts/bench_gpu.py --device cpu --shapes 135m --batch-sizes 64 --facts 8 --objects 8
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "scripts" / "_vendor"

# config.json values of HuggingFaceTB/SmolLM2-135M and SmolLM2-1.7B (Llama architecture, tied embeddings)
SHAPES = {
    "135m": dict(hidden_size=576, intermediate_size=1536, num_hidden_layers=30, num_attention_heads=9,
                 num_key_value_heads=3, rope_theta=100000.0),
    "1.7b": dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=24, num_attention_heads=32,
                 num_key_value_heads=32, rope_theta=130000.0),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, rope_theta=100000.0),  # SmolLM2's vocabulary: for a quick test
}
COMMON = dict(vocab_size=49152, max_position_embeddings=8192, rms_norm_eps=1e-5, tie_word_embeddings=True,
              hidden_act="silu", bos_token_id=0, eos_token_id=0)
VENDORED = ("pydantic", "pydantic_core", "annotated_types", "typing_inspection", "typing_extensions")


def vendor_to(folder: Path) -> int:
    """Copy pydantic (and what it imports) and the SmolLM2 tokenizer files into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in VENDORED:
        spec = importlib.util.find_spec(name)
        src = Path(spec.origin)
        if src.name == "__init__.py":
            shutil.copytree(src.parent, folder / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, folder / src.name)
    tok = find_tokenizer(None)
    if tok is not None:
        (folder / "tokenizer").mkdir(exist_ok=True)
        for f in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
            if (tok / f).is_file():
                shutil.copy2(tok / f, folder / "tokenizer" / f)
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"copied {', '.join(VENDORED)}" + (f" and the tokenizer of {tok}" if tok else " (no SmolLM2 tokenizer found)")
          + f" into {folder}: {size / 2**20:.1f} MiB")
    return 0


def import_promptmine() -> None:
    """promptmine from this checkout, installed or not (its folders map onto one package)."""
    if VENDOR.is_dir():
        sys.path.insert(0, str(VENDOR))
    try:
        import promptmine  # noqa: F401
        return
    except ImportError:
        pass
    specs = []
    for name, folder in (("promptmine", "engine"), ("promptmine.models", "models"), ("promptmine.corpora", "corpora")):
        spec = importlib.util.spec_from_file_location(name, ROOT / folder / "__init__.py",
                                                      submodule_search_locations=[str(ROOT / folder)])
        sys.modules[name] = importlib.util.module_from_spec(spec)
        specs.append(spec)
    for spec in specs:  # all three registered first: each may import the others
        spec.loader.exec_module(sys.modules[spec.name])
    for name in ("models", "corpora"):
        setattr(sys.modules["promptmine"], name, sys.modules[f"promptmine.{name}"])


def find_tokenizer(given: Path | None) -> Path | None:
    cands = [given] if given else [VENDOR / "tokenizer"]
    try:
        from promptmine.models.score.causal import SMOLLM2_FOLDER
        from promptmine.models.store import store_root

        cands.append(store_root() / SMOLLM2_FOLDER)
    except Exception:  # noqa: BLE001 - not importable yet (vendoring) or no store: other candidates
        pass
    return next((c for c in cands if c is not None and (c / "tokenizer.json").is_file()), None)


def workload(n_facts: int, n_objects: int) -> list[tuple[str, list[str], list[str]]]:
    """(template, subjects, objects) per relation of the bundled sample facts."""
    rows = [json.loads(x) for x in (ROOT / "corpora" / "sample_pairs.jsonl").read_text().splitlines() if x.strip()]
    templates = {json.loads(x)["relation"]: json.loads(x)["template"]
                 for x in (ROOT / "corpora" / "sample_relations.jsonl").read_text().splitlines() if x.strip()}
    jobs = []
    for rel, tpl in templates.items():
        facts = [r for r in rows if r["predicate_id"] == rel]
        if facts:
            objects = list(dict.fromkeys(r["obj_label"] for r in facts))[:n_objects]
            jobs.append((tpl, [r["sub_label"] for r in facts][:n_facts], objects))
    return jobs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto", help="cuda, cuda:1, cpu or auto (cuda when present) (default: %(default)s)")
    ap.add_argument("--dtype", default="bfloat16", help="throughput dtype (default: %(default)s)")
    ap.add_argument("--shapes", default="135m,1.7b", help=f"model shapes, from {', '.join(SHAPES)} (default: %(default)s)")
    ap.add_argument("--batch-sizes", default="256,1024,4096,16384,auto",
                    help="tokens per forward pass to measure; 'auto' = the scorer's own choice from the device's "
                         "free memory (default: %(default)s)")
    ap.add_argument("--facts", type=int, default=0, help="sample facts per relation; 0 = all (default)")
    ap.add_argument("--objects", type=int, default=0, help="candidate objects per relation; 0 = all (default)")
    ap.add_argument("--repeat", type=int, default=3, help="copies of the workload per timed call (default: %(default)s)")
    ap.add_argument("--tokenizer", type=Path, default=None, help="a SmolLM2 tokenizer folder (default: found)")
    ap.add_argument("--vendor-to", type=Path, default=None, help="copy pydantic and the tokenizer here, then exit")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    args = ap.parse_args()
    if args.vendor_to:
        import_promptmine()
        return vendor_to(args.vendor_to)

    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    try:
        import_promptmine()
        from promptmine.models.score.causal import CausalScorer, token_trie
        from promptmine.testing.tiny import tiny_causal, word_tokenizer
    except ImportError as e:
        print(f"bench_gpu: cannot import promptmine ({e}); run `scripts/bench_gpu.py --vendor-to scripts/_vendor` "
              "where it is installed and bring that folder along", file=sys.stderr)
        return 2

    gpu = torch.cuda.is_available()
    device = ("cuda" if gpu else "cpu") if args.device == "auto" else args.device
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else "CPU"
    print(f"device: {device} ({name}); torch {torch.__version__}")
    if not gpu:
        print("NO GPU PRESENT: numbers below are CPU numbers, not a GPU measurement")
    tok_dir = find_tokenizer(args.tokenizer)
    if tok_dir is not None:
        tokenizer = AutoTokenizer.from_pretrained(tok_dir)
        print(f"tokenizer: SmolLM2's ({tok_dir})")
    else:
        words = sorted({w for tpl, subj, objs in workload(0, 0) for text in [tpl, *subj, *objs] for w in text.split()})
        tokenizer = word_tokenizer({"unk_token": "<unk>", "eos_token": "<|endoftext|>", "pad_token": "<pad>"}, words)
        print("tokenizer: NOT SmolLM2's (none found): a word-level one, 1 token per word; pairs/s reads high")
    jobs = workload(args.facts, args.objects) * args.repeat
    n_pairs = sum(len(s) * len(o) for _, s, o in jobs)
    result = {"device": device, "device_name": name, "gpu": gpu, "dtype": args.dtype, "pairs": n_pairs,
              "throughput": {}, "agreement": {}}

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    for shape in [s.strip() for s in args.shapes.split(",") if s.strip()]:
        torch.manual_seed(0)
        cfg = LlamaConfig(**COMMON, **SHAPES[shape])
        cfg._attn_implementation = "sdpa"
        with torch.device(device if device.startswith("cuda") else "cpu"):
            model = LlamaForCausalLM(cfg).to(getattr(torch, args.dtype))
        scorer = CausalScorer(f"smollm2-{shape}-random", hf_model=model, tokenizer=tokenizer, device=device,
                              dtype=args.dtype)
        auto = scorer.batch_size
        n_tok = sum(1 + len(scorer._encode(scorer.split(t, s, "")[0]))
                    + len(token_trie([scorer._encode(scorer.split(t, s, o)[1]) for o in objs])[0])
                    for t, subj, objs in jobs for s in subj)
        rows = {}
        scorer.score_many(jobs[:1])  # warm-up
        for b in [x.strip() for x in args.batch_sizes.split(",") if x.strip()]:
            scorer.batch_size = auto if b == "auto" else int(b)
            try:
                sync()
                t = time.perf_counter()
                scorer.score_many(jobs)
                sync()
                dt = time.perf_counter() - t
            except torch.OutOfMemoryError:
                print(f"  {shape} batch {b}: out of memory")
                torch.cuda.empty_cache()
                continue
            rows[b] = {"batch_size": scorer.batch_size, "seconds": dt, "pairs_per_s": n_pairs / dt,
                       "tokens_per_s": n_tok / dt}
            print(f"  {shape} {args.dtype} batch {scorer.batch_size:>6}{' (auto)' if b == 'auto' else ''}: "
                  f"{n_pairs / dt:10.1f} pairs/s {n_tok / dt:11.1f} tokens/s ({dt:.2f} s)")
        # the ceiling: plain forwards of as many tokens, rows of the workload's mean width, no mask
        width = max(8, n_tok // sum(len(s) for _, s, _ in jobs))
        per = max(1, auto // 30)
        n_rows = max(1, n_tok // width)
        ids = torch.randint(100, 40000, (n_rows, width), device=device)
        with torch.inference_mode():
            model(input_ids=ids[:per], use_cache=False, logits_to_keep=1)
            sync()
            t = time.perf_counter()
            for a in range(0, n_rows, per):
                model(input_ids=ids[a:a + per], use_cache=False, logits_to_keep=1)
            sync()
            dt = time.perf_counter() - t
        print(f"  {shape} plain forward ({per} rows x {width} tokens per pass): {n_rows * width / dt:11.1f} tokens/s")
        result["throughput"][shape] = {"auto_batch": auto, "tokens": n_tok, "rows": rows,
                                       "plain_tokens_per_s": n_rows * width / dt}
        del model, scorer
        if device.startswith("cuda"):
            torch.cuda.empty_cache()

    # exactness: the tiny seeded model on the device vs one full forward per candidate on CPU, float32
    tiny, tiny_tok = tiny_causal()
    from promptmine.testing.tiny import WORDS  # noqa: F401 - the tiny model's vocabulary
    subjects, objects = ["Marie Curie", "Ada", "Albert Einstein"], ["Paris", "New York City", "London", "Rome"]
    template = "[X] was born in [Y] ."
    ref = CausalScorer("tiny", hf_model=tiny, tokenizer=tiny_tok, device="cpu", dtype="float32")
    expected = torch.tensor(ref.score_naive(template, subjects, objects))
    for dtype in dict.fromkeys(["float32", args.dtype]):
        model, _ = tiny_causal()
        s = CausalScorer("tiny", hf_model=model, tokenizer=tiny_tok, device=device, dtype=dtype)
        got = torch.tensor(s.score(template, subjects, objects))
        diff = float((got - expected).abs().max())
        result["agreement"][dtype] = diff
        print(f"  tiny model on {device} {dtype} vs CPU float32 one-forward-per-candidate: max |d log-prob| {diff:.2e}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
