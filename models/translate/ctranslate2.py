"""MarianMT (opus-mt) through CTranslate2: the same models as the `marian` backend, converted once into the
model store and run by CTranslate2's own engine (int8 on CPU, float16 on GPU by default).

A pair's Marian folder is found exactly as the `marian` backend finds it (`model`, `model_dir`, the store,
the Hugging Face cache; see `promptmine.models.translate.marian`). The first use converts it into
`<store>/ct2--<folder name>--<compute type>/` (CTranslate2's `model.bin`, its vocabulary, and the
tokenizer files copied from the source), with a checksum record like every store entry, so `promptmine
models verify`/`pack`/`list` handle it. The record's revision is a fingerprint of the source folder: later
runs load the converted folder as it is, and a changed source is converted again.

Scores are the mean log-probability per generated token, end-of-sentence token included, as the `marian`
backend's are (CTranslate2 itself divides by the length without it; see `_mean_logprob`). Greedy output
(n=1) is the transformers backend's on the same weights in float32; beam search is CTranslate2's own
(its n-best lists may order near-ties differently and never hold an empty translation).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from pydantic import Field

from promptmine.core.errors import ModelNotAvailable, PromptmineError
from promptmine.core.progress import log
from promptmine.models.registry import Availability, importable
from promptmine.models.translate import Hypothesis
from promptmine.models.translate.marian import MarianTranslator, OpusMTOptions, OpusMTTranslator, marian_pivots

# Copied next to model.bin, so the converted folder tokenizes on its own.
TOKENIZER_FILES = ("source.spm", "target.spm", "vocab.json", "target_vocab.json", "tokenizer_config.json",
                   "special_tokens_map.json", "added_tokens.json")


def _ctranslate2():
    try:
        import ctranslate2
    except ImportError:
        raise ModelNotAvailable("the ctranslate2 backend needs the `ctranslate2` package: "
                                "`pip install 'promptmine[ctranslate2]'` (or `pip install ctranslate2`)") from None
    return ctranslate2


def source_fingerprint(folder: Path) -> str:
    """sha256 over the source folder's files and their checksums (taken from its store record when it
    has one, else computed): a converted folder made from other weights never passes for this one."""
    from promptmine.models.store import digest_folder, read_record

    record = read_record(folder)
    files = record.get("files") if record else None
    if not files:
        files = digest_folder(folder)
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(f"{rel}\0{files[rel]['sha256']}\n".encode())
    return h.hexdigest()


def converted_folder(folder: Path, compute_type: str) -> Path:
    from promptmine.models.store import store_root

    return store_root() / f"ct2--{folder.name}--{compute_type}"


def _is_current(target: Path, fingerprint: str) -> bool:
    """The converted folder is there, made from this source, and no recorded file is missing or resized
    (the full sha256 check is `promptmine models verify`)."""
    from promptmine.models.store import read_record

    try:
        record = read_record(target)
    except PromptmineError:
        return False
    if not record or record.get("revision") != fingerprint or not record.get("files"):
        return False
    return all((target / rel).is_file() and (target / rel).stat().st_size == want.get("size")
               for rel, want in record["files"].items())


def convert(folder: Path, compute_type: str) -> Path:
    """The CTranslate2 copy of a Marian folder in the store, converting it first if needed. Written to a
    hidden temp folder and renamed, so an interrupted conversion never leaves a broken model behind."""
    from promptmine.models.store import load_kwargs, record_checksums, tokenizer_kwargs

    target = converted_folder(folder, compute_type)
    fingerprint = source_fingerprint(folder)
    if _is_current(target, fingerprint):
        return target
    converters = _ctranslate2().converters

    class StoreConverter(converters.TransformersConverter):
        """Loads the source under the store's policy: safetensors only, no remote code, local files."""

        def load_model(self, model_class, model_name_or_path, **kwargs):
            return model_class.from_pretrained(model_name_or_path, **kwargs, **load_kwargs())

        def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
            return tokenizer_class.from_pretrained(model_name_or_path, **kwargs, **tokenizer_kwargs())

    log(f"converting {folder} to CTranslate2 ({compute_type}) in {target} (once)")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        copy = [name for name in TOKENIZER_FILES if (folder / name).is_file()]
        try:
            StoreConverter(str(folder), copy_files=copy).convert(str(tmp), quantization=compute_type, force=True)
        except (OSError, ValueError) as e:
            raise ModelNotAvailable(f"cannot convert the Marian model in {folder} to CTranslate2: {e}") from None
        record_checksums(tmp, f"ct2/{target.name.removeprefix('ct2--')}", f"ctranslate2:{folder.resolve()}",
                         revision=fingerprint)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a store is meant to be shared
        if target.exists():  # made from other weights: set aside, then removed
            stale = target.with_name(f".stale-{target.name}-{os.getpid()}")
            os.rename(target, stale)
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(tmp, target)
        except OSError:  # another process put its conversion there first: fine if it is this source's
            if not _is_current(target, fingerprint):
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _mean_logprob(score: float, length: int, normalised: bool) -> float:
    """The `marian` backend's score: mean log-prob per generated token, `</s>` included. CTranslate2 adds
    `</s>`'s log-prob to the sum but leaves it out of the length (its normalised score is sum / L). A
    hypothesis cut at the length limit has no `</s>`, but transformers forces one there with log-prob 0,
    so both cases come to sum / (L + 1)."""
    return score * length / (length + 1) if normalised else score / (length + 1)


class CTranslate2Translator(OpusMTTranslator):
    """Marian models run by CTranslate2: batched beam search with n-best lists and scores, like `marian`."""

    name = "ctranslate2"

    class Options(OpusMTOptions):
        compute_type: str = Field("auto", description="auto (int8 on CPU, float16 on GPU), int8, int8_float16, "
                                                      "int16, float16, bfloat16, float32; one converted copy "
                                                      "per type")
        threads: int = Field(0, ge=0, description="CPU threads per translation (0: CTranslate2's default)",
                             json_schema_extra={"identity": False})

    @classmethod
    def availability(cls) -> Availability:
        """The ctranslate2 module, and the Marian models it converts on first use."""
        pivots = marian_pivots()
        if not importable("ctranslate2"):
            return Availability(False, "the ctranslate2 package is not installed", "pip install ctranslate2", pivots)
        usable = [p for p, fix in pivots.items() if fix is None]
        if not usable:
            return Availability(False, "no Marian model in the store to convert",
                                "add Marian models as for the marian backend (`promptmine models pull "
                                "Helsinki-NLP/opus-mt-en-de Helsinki-NLP/opus-mt-de-en` on a connected machine)", pivots)
        return Availability(True, f"converts the Marian models for pivots {', '.join(usable)}", "", pivots)

    def __init__(self, *, options: Options | None = None, **fields):
        super().__init__(options=options, **fields)
        o = self.options
        ct2 = _ctranslate2()
        self._marian = MarianTranslator(model=o.model, model_dir=o.model_dir, device="cpu")  # finds the folders
        kind, _, index = o.device.partition(":")
        if kind == "auto":
            kind = "cuda" if ct2.get_cuda_device_count() > 0 else "cpu"
        if kind not in ("cpu", "cuda") or (index and not index.isdigit()):
            raise PromptmineError(f"the ctranslate2 backend runs on cpu or cuda[:N], not {o.device!r}")
        self.device, self.device_index = kind, int(index or 0)
        supported = ct2.get_supported_compute_types(kind, self.device_index)
        compute_type = o.compute_type
        if compute_type == "auto":
            compute_type = "int8" if kind == "cpu" else "float16"
        if compute_type not in supported:
            raise PromptmineError(f"compute type {compute_type!r} is not supported on {kind} here; "
                                  f"choose from {', '.join(sorted(supported))}")
        self.compute_type = compute_type
        self.batch_size = o.batch_size
        self.max_new_tokens = o.max_new_tokens
        self.min_new_tokens = o.min_new_tokens
        self.threads = o.threads
        self._loaded: dict[tuple[str, str], tuple] = {}
        self._by_folder: dict[Path, tuple] = {}

    def identity_values(self) -> dict:
        """Where the Marian models come from (as the `marian` backend names it), the device kind and the
        compute type used."""
        marian = self._marian.identity_values()
        return {"model": marian["model"], "model_dir": marian["model_dir"], "device": self.device,
                "compute_type": self.compute_type}

    def locate(self, src: str, tgt: str) -> Path:
        """The Marian folder for src->tgt, found as the `marian` backend finds it."""
        return self._marian.locate(src, tgt)

    def supports(self, src: str, tgt: str) -> bool:
        return self._marian.supports(src, tgt)

    def require(self, src: str, tgt: str) -> None:
        """Convert (once) and load the pair now, so a missing model fails before any work is done."""
        self._load(src, tgt)

    def _load(self, src: str, tgt: str):
        key = (src, tgt)
        if key not in self._loaded:
            folder = self.locate(src, tgt)
            if folder not in self._by_folder:  # one model serving several pairs is loaded once
                from transformers import MarianTokenizer

                from promptmine.models.store import tokenizer_kwargs

                target = convert(folder, self.compute_type)
                try:
                    tok = MarianTokenizer.from_pretrained(str(target), **tokenizer_kwargs())
                    engine = _ctranslate2().Translator(str(target), device=self.device, device_index=self.device_index,
                                                       compute_type=self.compute_type, intra_threads=self.threads)
                except (OSError, ValueError, RuntimeError) as e:
                    raise ModelNotAvailable(f"cannot load the CTranslate2 model {target} ({src}->{tgt}): {e}") from None
                self._by_folder[folder] = (tok, engine)
            self._loaded[key] = self._by_folder[folder]
        return self._loaded[key]

    def translate(self, texts: Sequence[str], src: str, tgt: str, n: int = 1) -> list[list[Hypothesis]]:
        """`n`-best beam search (greedy when n == 1) over batches of similar-length inputs; lengths count
        as the `marian` backend counts them (`max_new_tokens` includes the end token)."""
        if not texts:
            return []
        tok, engine = self._load(src, tgt)
        prefix = self._marian._prefix(src, tgt)
        unique = list(dict.fromkeys(texts))
        ids = tok([prefix + t for t in unique], truncation=True)["input_ids"]
        sources = [tok.convert_ids_to_tokens(x) for x in ids]  # ends with </s>, as CTranslate2 expects
        order = sorted(range(len(unique)), key=lambda i: -len(sources[i]))  # little padding per batch
        results: dict[str, list[Hypothesis]] = {}
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            longest = max(len(sources[i]) for i in idx)
            max_len = max(1, (self.max_new_tokens or 2 * longest + 10) - 1)  # the end token is not counted here
            # Greedy: summed scores (length_penalty 0), so an empty translation (`</s>` first) is scored as
            # transformers scores it. Beam search ranks by the normalised score and needs one token at least.
            beam = n > 1
            min_len = min(max(int(beam), self.min_new_tokens or 0), max_len)
            out = engine.translate_batch([sources[i] for i in idx], beam_size=n, num_hypotheses=n,
                                         length_penalty=1.0 if beam else 0.0, return_scores=True,
                                         max_input_length=0, max_decoding_length=max_len,
                                         min_decoding_length=min_len)
            for i, res in zip(idx, out):
                texts_out = tok.batch_decode([tok.convert_tokens_to_ids(h) for h in res.hypotheses],
                                             skip_special_tokens=True)
                hyps = [Hypothesis(t.strip(), _mean_logprob(s, len(h), normalised=beam))
                        for t, s, h in zip(texts_out, res.scores, res.hypotheses)]
                results[unique[i]] = sorted(hyps, key=lambda h: -h.logprob)
        return [results[t] for t in texts]
