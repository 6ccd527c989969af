"""Hugging Face MarianMT translators (opus-mt), one model per language pair, loaded from local files only.

A pair `src-tgt` is found, in this order, as
1. an explicit folder given in `model` as `en-de=/path/a,de-en=/path/b`;
2. a sub-folder of `model_dir` named `opus-mt-en-de`, `Helsinki-NLP--opus-mt-en-de` or `en-de`;
3. the hub id made from the `model` pattern (default `Helsinki-NLP/opus-mt-{src}-{tgt}`), resolved through
   the local model store or the Hugging Face cache by `models.store.require_model_dir` (never downloaded).

Beam search returns the `n` best translations with their length-normalised log-probabilities
(HF's `sequences_scores` with `length_penalty=1`, i.e. the mean token log-probability).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from promptmine.core.errors import ModelNotAvailable, PromptmineError
from promptmine.models.device import Dtype
from promptmine.models.registry import Availability, importable
from promptmine.models.translate import Hypothesis, Translator

DEFAULT_PATTERN = "Helsinki-NLP/opus-mt-{src}-{tgt}"


def _parse_pairs(spec: str) -> dict[tuple[str, str], str]:
    """`en-de=/a,de-en=/b` -> {("en","de"): "/a", ("de","en"): "/b"}."""
    out: dict[tuple[str, str], str] = {}
    for item in spec.split(","):
        pair, _, path = item.partition("=")
        src, _, tgt = pair.strip().partition("-")
        if not (src and tgt and path.strip()):
            raise ModelNotAvailable(f"cannot read Marian model mapping {item!r}; expected `en-de=/path/to/model`")
        out[(src, tgt)] = path.strip()
    return out


def marian_pivots() -> dict[str, str | None]:
    """Every pivot the manifest has Marian models for -> None when both directions are present
    locally, else the `promptmine models pull` command that adds them."""
    from promptmine.models.manifest import MODELS, marian_model
    from promptmine.models.store import local_model_dir

    langs = sorted({s.langs[1] for s in MODELS if s.role == "translator" and s.source == "hub" and s.langs[0] == "en"})
    out: dict[str, str | None] = {}
    for lang in langs:
        specs = [s for s in (marian_model("en", lang), marian_model(lang, "en")) if s is not None]
        missing = [s.name for s in specs if local_model_dir(s.name) is None]
        out[lang] = f"promptmine models pull {' '.join(missing)} (on a connected machine)" if missing else None
    return out


class OpusMTOptions(BaseModel):
    """The options of the backends running Marian (OPUS-MT) models, `marian` and `ctranslate2`: where the
    models are, where they run, how long a translation may be."""

    model: str | dict[str, str] | None = Field(
        None, description="hub id pattern (default `Helsinki-NLP/opus-mt-{src}-{tgt}`) or explicit Marian folders "
                          "`en-de=PATH,de-en=PATH` (ctranslate2 converts them once, into the store)")
    model_dir: Path | None = Field(None, description="a folder holding one Marian model folder per pair, e.g. "
                                                     "DIR/opus-mt-en-de/")
    device: str = Field("auto", description="cpu, cuda, cuda:1, mps (marian only) or auto (a GPU when there is one)",
                        json_schema_extra={"identity": "kind"})
    batch_size: int = Field(16, ge=1, description="inputs per call of the model",
                            json_schema_extra={"identity": False})
    max_new_tokens: int | None = Field(None, ge=1, description="longest translation in tokens, end token included "
                                                               "(default: from the input's length)")
    min_new_tokens: int | None = Field(None, ge=0, description="shortest translation in tokens")


class OpusMTTranslator(Translator):
    """What `marian` and `ctranslate2` share: the options, how a pair's folder is found, the pivots."""

    default_pivots = ("de", "fr")
    # NMT models keep names well; `[X]` splits into odd subwords. See engine.paraphrase.PLACEHOLDER_STYLES.
    placeholder_styles = ("names",)
    Options = OpusMTOptions

    @classmethod
    def offered_pivots(cls, options: OpusMTOptions | None = None) -> dict[str, str | None]:
        """The manifest's pivots, or any language when the options name models of their own."""
        if options is not None and (options.model or options.model_dir):
            return {}
        return super().offered_pivots(options)


class MarianTranslator(OpusMTTranslator):
    """MarianMT through transformers: batched beam search with n-best lists and scores."""

    name = "marian"

    class Options(OpusMTOptions):
        dtype: Dtype = "auto"

    def __init__(self, *, options: Options | None = None, **fields):
        super().__init__(options=options, **fields)
        o = self.options
        model = o.model or DEFAULT_PATTERN
        self._pairs: dict[tuple[str, str], str] = {}
        if isinstance(model, dict):
            self._pairs = {tuple(k.split("-", 1)) if isinstance(k, str) else tuple(k): str(v)
                           for k, v in model.items()}
            self._pattern = DEFAULT_PATTERN
        elif "=" in model:
            self._pairs = _parse_pairs(model)
            self._pattern = DEFAULT_PATTERN
        else:
            self._pattern = model
        self._model_dir = o.model_dir.expanduser() if o.model_dir else None
        if self._model_dir is not None and not self._model_dir.is_dir():
            raise ModelNotAvailable(f"--model-dir {self._model_dir} is not a folder")
        from promptmine.models.store import model_key, path_key

        # where the models come from, as the cache key names them: local folders with a fingerprint of
        # their files taken now, so models saved over them later are other models
        self._sources = {
            "model": {f"{s}-{t}": model_key(p) for (s, t), p in self._pairs.items()} or self._pattern,
            "model_dir": None if self._model_dir is None else path_key(self._model_dir, depth=2)}
        from promptmine.models.device import pick_device

        try:  # dtype `auto`: bfloat16 on CPUs that multiply it natively (AMX/AVX512-BF16)
            self._device = pick_device(o.device, o.dtype)
        except ValueError as e:
            raise PromptmineError(str(e)) from None
        self.batch_size = o.batch_size
        self.max_new_tokens = o.max_new_tokens
        self.min_new_tokens = o.min_new_tokens
        self._loaded: dict[tuple[str, str], tuple] = {}
        self._by_folder: dict[Path, tuple] = {}

    def identity_values(self) -> dict:
        """Where the models come from (the pairs named, else the hub id pattern) and the precision used."""
        return {**self._sources, "device": str(self._device.device),
                "dtype": str(self._device.dtype).removeprefix("torch.")}

    @classmethod
    def availability(cls) -> Availability:
        """Usable pivots: those whose en->pivot and pivot->en models are in the store (or HF cache)."""
        pivots = marian_pivots()
        usable = [p for p, fix in pivots.items() if fix is None]
        if not importable("transformers"):
            return Availability(False, "transformers is not installed", "pip install transformers", pivots)
        if not usable:
            return Availability(False, "no Marian (OPUS-MT) model in the model store",
                                "on a connected machine `promptmine models pull Helsinki-NLP/opus-mt-en-de "
                                "Helsinki-NLP/opus-mt-de-en`, then `promptmine models pack`/`unpack`; or pass "
                                "--model-dir DIR", pivots)
        return Availability(True, f"models for pivots {', '.join(usable)}", "", pivots)

    # -- locating models -------------------------------------------------------------------------
    def _manifest_spec(self, src: str, tgt: str):
        """With the default pattern, the manifest knows pairs that break it (en->pt is a multi-target model)."""
        if self._pattern != DEFAULT_PATTERN or (src, tgt) in self._pairs:
            return None
        from promptmine.models.manifest import marian_model

        return marian_model(src, tgt)

    def _hub_id(self, src: str, tgt: str) -> str:
        spec = self._manifest_spec(src, tgt)
        return spec.name if spec is not None else self._pattern.format(src=src, tgt=tgt)

    def _prefix(self, src: str, tgt: str) -> str:
        """Target-language token a multi-target model needs before each source text (e.g. `>>por<< `)."""
        spec = self._manifest_spec(src, tgt)
        return spec.prefix if spec is not None else ""

    def _candidates(self, src: str, tgt: str) -> list[Path]:
        if self._model_dir is None:
            return []
        hub = self._hub_id(src, tgt)
        names = [hub.split("/")[-1], hub.replace("/", "--"), f"{src}-{tgt}"]
        return [self._model_dir / n for n in dict.fromkeys(names)]

    def locate(self, src: str, tgt: str) -> Path:
        """The local folder for src->tgt; ModelNotAvailable says where it was looked for and how to add it."""
        from promptmine.models.store import require_model_dir

        if (src, tgt) in self._pairs:
            return require_model_dir(self._pairs[(src, tgt)], f"Marian {src}->{tgt}")
        for cand in self._candidates(src, tgt):
            if (cand / "config.json").is_file():
                return cand
        try:
            return require_model_dir(self._hub_id(src, tgt), f"Marian {src}->{tgt}")
        except ModelNotAvailable as e:
            looked = ", ".join(str(c) for c in self._candidates(src, tgt))
            extra = f" Also looked in --model-dir: {looked}." if looked else (
                " Or pass --model-dir DIR holding one folder per pair (e.g. DIR/opus-mt-en-de/),"
                " or --model en-de=PATH,de-en=PATH.")
            raise ModelNotAvailable(f"{e}{extra} The translator shipped for offline use is "
                                    f"`--backend bergamot --pivots pt`.") from None

    def supports(self, src: str, tgt: str) -> bool:
        try:
            self.locate(src, tgt)
            return True
        except ModelNotAvailable:
            return False

    def require(self, src: str, tgt: str) -> None:
        """Load the pair now, so a missing model fails before any work is done."""
        self._load(src, tgt)

    def _load(self, src: str, tgt: str):
        key = (src, tgt)
        if key not in self._loaded:
            folder = self.locate(src, tgt)
            if folder in self._by_folder:  # one model serving several pairs is loaded once
                self._loaded[key] = self._by_folder[folder]
                return self._loaded[key]
            from transformers import MarianMTModel, MarianTokenizer

            from promptmine.models.store import load_kwargs, tokenizer_kwargs

            try:
                tok = MarianTokenizer.from_pretrained(str(folder), **tokenizer_kwargs())
                model = MarianMTModel.from_pretrained(str(folder), dtype=self._device.dtype, **load_kwargs())
            except (OSError, ValueError) as e:
                raise ModelNotAvailable(f"cannot load the Marian {src}->{tgt} model from {folder}: {e}") from None
            model.to(self._device.device).eval()
            self._loaded[key] = self._by_folder[folder] = (tok, model)
        return self._loaded[key]

    # -- translating -----------------------------------------------------------------------------
    def translate(self, texts: Sequence[str], src: str, tgt: str, n: int = 1) -> list[list[Hypothesis]]:
        """`n`-best beam search (greedy when n == 1) over batches of similar-length inputs."""
        import torch

        if not texts:
            return []
        tok, model = self._load(src, tgt)
        prefix = self._prefix(src, tgt)
        unique = list(dict.fromkeys(texts))
        lengths = [len(ids) for ids in tok([prefix + t for t in unique], truncation=True)["input_ids"]]
        order = sorted(range(len(unique)), key=lambda i: -lengths[i])  # little padding per batch
        results: dict[str, list[Hypothesis]] = {}
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            batch = [prefix + unique[i] for i in idx]
            enc = tok(batch, return_tensors="pt", padding=True, truncation=True).to(self._device.device)
            longest = max(lengths[i] for i in idx)
            gen = dict(num_beams=n, num_return_sequences=n, do_sample=False, length_penalty=1.0,
                       output_scores=True, return_dict_in_generate=True,
                       max_new_tokens=self.max_new_tokens or 2 * longest + 10)
            if self.min_new_tokens:
                gen["min_new_tokens"] = self.min_new_tokens
            if n > 1:
                gen["early_stopping"] = True
            with torch.inference_mode():
                out = model.generate(**enc, **gen)
            if n > 1:
                scores = out.sequences_scores.float().tolist()
            else:  # greedy: mean log-probability of the generated tokens
                steps = model.compute_transition_scores(out.sequences, out.scores, normalize_logits=True).float()
                gen_tokens = out.sequences[:, 1:]
                real = (gen_tokens != tok.pad_token_id) & torch.isfinite(steps)
                scores = ((steps.masked_fill(~real, 0).sum(1)) / real.sum(1).clamp(min=1)).tolist()
            decoded = tok.batch_decode(out.sequences, skip_special_tokens=True)
            for j, i in enumerate(idx):
                hyps = [Hypothesis(decoded[j * n + k].strip(), scores[j * n + k]) for k in range(n)]
                results[unique[i]] = sorted(hyps, key=lambda h: -h.logprob)
        return [results[t] for t in texts]
