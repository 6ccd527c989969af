"""Score candidate objects with any transformers masked LM (BERT, as in LAMA and LPAQA).

[Y] becomes the mask token and an object's score is the log-probability of its token at the mask.
Only single-token objects can be scored this way; others get -inf (ranked last), as LAMA keeps
only facts whose object is one token. An optional vocabulary (e.g. LAMA's common vocabulary)
restricts the softmax to those tokens, and objects outside it get -inf.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from promptmine.core.records import Template
from promptmine.models.device import Device, Dtype, Threads
from promptmine.models.registry import Availability
from promptmine.models.score import Scorer
from promptmine.models.store import load_kwargs, model_key, require_model_dir, tokenizer_kwargs

DEFAULT_MODEL = "bert-base-cased"


def vocab_key(ids: list[int]) -> str:
    """A restricted vocabulary as the cache key names it: how many token ids and a hash of them, not the
    file's name (an edited file or another file of the same name must not reuse cached scores)."""
    import hashlib

    return f"{len(ids)}@{hashlib.sha256(','.join(map(str, ids)).encode()).hexdigest()[:12]}"


def read_vocab(path: str | Path) -> list[str]:
    """One token a line (LAMA's common_vocab_cased.txt format); blank lines ignored."""
    from promptmine.core.io import iter_lines

    return [line.strip() for _, line in iter_lines(path) if line.strip()]


class MaskedScorer(Scorer):
    """`model`: a local folder or a hub id present locally. `vocab`: a file or a list of words
    restricting the candidate tokens. The settings are the `Options` fields, given as `options=` or as
    keyword arguments; tests pass tiny `hf_model`/`tokenizer` objects directly."""

    name = "masked"

    class Options(BaseModel):
        model: str = Field(DEFAULT_MODEL, description="model folder or hub id in the local store")
        device: Device = "auto"
        dtype: Dtype = "auto"
        batch_size: int = Field(64, ge=1, description="sentences per forward pass",
                                json_schema_extra={"identity": False})
        threads: Threads = None
        vocab: str | Path | list[str] | None = Field(None, description="restrict to these tokens: a file, one a "
                                                                       "line (e.g. LAMA's common_vocab_cased.txt)")

    @classmethod
    def availability(cls) -> Availability:
        """A masked LM in the model store (bert-base-cased by default)."""
        from promptmine.models.store import local_model_dir, store_folders

        found = [DEFAULT_MODEL] if local_model_dir(DEFAULT_MODEL) is not None else []
        for folder in store_folders():
            try:
                arch = json.loads((folder / "config.json").read_text()).get("architectures") or []
            except (OSError, ValueError):
                continue
            if any(str(a).endswith("ForMaskedLM") for a in arch) and folder.name not in found:
                found.append(folder.name)
        if not found:
            return Availability(False, "no masked LM in the model store",
                                f"`promptmine models pull {DEFAULT_MODEL}` on a connected machine (then "
                                "`models pack`/`unpack`), or --model FOLDER")
        return Availability(True, f"masked LM(s): {', '.join(found)}")

    def __init__(self, model: str | None = None, /, *, options: Options | None = None, hf_model=None,
                 tokenizer=None, **fields):
        import torch

        from promptmine.models.device import pick_device, use_threads

        super().__init__(options=options, **({"model": model} if model is not None else {}), **fields)
        o = self.options
        use_threads(o.threads)  # all available cores unless told
        model, vocab = o.model, o.vocab
        self.model_name = model
        self.model_key = model_key(model)  # the files as loaded now: saving over them later is another model
        self.batch_size = o.batch_size
        self.choice = pick_device(o.device, o.dtype, model=hf_model)
        self.dtype = self.choice.dtype
        if hf_model is None:
            from transformers import AutoModelForMaskedLM, AutoTokenizer

            folder = require_model_dir(model, "masked scorer")
            tokenizer = AutoTokenizer.from_pretrained(folder, **tokenizer_kwargs())
            hf_model = AutoModelForMaskedLM.from_pretrained(folder, dtype=self.dtype, **load_kwargs())
        elif tokenizer is None:
            raise ValueError("pass the tokenizer together with hf_model")
        if tokenizer.mask_token is None:
            raise ValueError(f"{model}: the tokenizer has no mask token; is this a masked LM?")
        self.tokenizer = tokenizer
        self.model = hf_model.to(self.choice.device, dtype=self.dtype).eval()
        self._torch = torch
        self.vocab_name = None
        self.vocab_key = None  # the vocabulary as the identity names it: what the softmax runs over
        self.allowed = None  # tensor of token ids the softmax runs over, or None for all
        if vocab is not None:
            words = read_vocab(vocab) if isinstance(vocab, (str, Path)) else list(vocab)
            self.vocab_name = Path(vocab).name if isinstance(vocab, (str, Path)) else f"{len(words)} words"
            ids = sorted({i for w in words if (i := self._single_id(w, "")) is not None})
            if not ids:
                raise ValueError("none of the vocabulary's words is a single token of this model")
            self.allowed = torch.tensor(ids)
            self.vocab_key = vocab_key(ids)

    def identity_values(self) -> dict:
        """What the options resolved to. The identity is everything a score depends on: model (a local
        path with a fingerprint of its files, `model_key`), device kind, precision and vocabulary (by its
        token ids). Not the batch size: sentences are batched with others of their own length, never
        padded (see `score`)."""
        return {"model": self.model_key, "device": str(self.choice.device),
                "dtype": str(self.dtype).removeprefix("torch."), "vocab": self.vocab_key}

    @property
    def description(self) -> str:
        dtype = str(self.dtype).removeprefix("torch.")
        vocab = f", vocabulary {self.vocab_name}" if self.vocab_name else ""
        return f"{Path(self.model_name).name or self.model_name} (masked LM, {dtype}{vocab})"

    def _single_id(self, word: str, gap: str) -> int | None:
        """The token id of `word` if it is exactly one token (after `gap`, the text before it, so
        byte-level BPE models see ` Paris`); None otherwise."""
        ids = self.tokenizer(gap + word, add_special_tokens=False).input_ids
        return ids[0] if len(ids) == 1 else None

    def score(self, template: str, subjects: Sequence[str], objects: Sequence[str]) -> list[list[float]]:
        torch = self._torch
        t = Template(text=template)
        mask = self.tokenizer.mask_token
        gap = " " if t.split_at_y("x")[0][-1:].isspace() else ""
        ids = [self._single_id(o, gap) for o in objects]
        if self.allowed is not None:
            allowed = set(self.allowed.tolist())
            ids = [i if i in allowed else None for i in ids]
        cols = torch.tensor([i if i is not None else 0 for i in ids])
        missing = torch.tensor([i is None for i in ids])
        # Sentences of one token length per batch: no padding, so a row never depends on which other
        # subjects were scored with it (padding changes the rounding, and the cache scores only the
        # subjects it misses).
        texts = [t.fill(s, mask) for s in subjects]
        by_length: dict[int, list[int]] = {}
        for i, text in enumerate(texts):
            by_length.setdefault(len(self.tokenizer(text).input_ids), []).append(i)
        batches = [same[k:k + self.batch_size] for same in by_length.values()
                   for k in range(0, len(same), self.batch_size)]
        rows: list[list[float]] = [[] for _ in subjects]
        with torch.inference_mode():
            for batch in batches:
                enc = self.tokenizer([texts[i] for i in batch], return_tensors="pt", padding=True).to(self.choice.device)
                logits = self.model(**enc).logits.float()
                at_mask = (enc["input_ids"] == self.tokenizer.mask_token_id)
                if (at_mask.sum(-1) != 1).any():
                    raise ValueError(f"template {template!r} must yield exactly one mask token")
                logits = logits[at_mask].cpu()  # [batch, vocab]
                if self.allowed is not None:
                    restricted = torch.full_like(logits, -math.inf)
                    restricted[:, self.allowed] = logits[:, self.allowed]
                    logits = restricted
                logp = torch.log_softmax(logits, dim=-1)[:, cols]
                logp[:, missing] = -math.inf
                for i, row in zip(batch, logp.tolist()):
                    rows[i] = row
        return rows
