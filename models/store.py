"""The local model store: where promptmine looks for model folders, never downloading when offline.

A hub id such as `Helsinki-NLP/opus-mt-en-de` lives in `<store>/Helsinki-NLP--opus-mt-en-de/`.
The store root is `$PROMPTMINE_MODELS`, else `<cache dir>/models`.
"""

from __future__ import annotations

import os
from pathlib import Path

from engine.errors import ModelNotAvailable
from models.cache import default_cache_dir


def store_root() -> Path:
    env = os.environ.get("PROMPTMINE_MODELS")
    return Path(env) if env else default_cache_dir() / "models"


def folder_name(model_id: str) -> str:
    return model_id.replace("/", "--")


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False") or \
        os.environ.get("TRANSFORMERS_OFFLINE", "0") not in ("", "0", "false", "False")


def local_model_dir(name_or_path: str) -> Path | None:
    """The local folder for a model given as a path or a hub id, or None if it is not present.

    Order: an existing folder path; the store; the Hugging Face cache (local files only)."""
    p = Path(name_or_path).expanduser()
    if p.is_dir():
        return p
    in_store = store_root() / folder_name(name_or_path)
    if in_store.is_dir():
        return in_store
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(name_or_path, local_files_only=True))
    except Exception:  # not in the HF cache either (or not a valid repo id)
        return None


def require_model_dir(name_or_path: str, role: str) -> Path:
    """Like local_model_dir, but a missing model raises an error that says how to provide it."""
    found = local_model_dir(name_or_path)
    if found is not None:
        return found
    target = store_root() / folder_name(name_or_path)
    raise ModelNotAvailable(
        f"{role} model {name_or_path!r} is not available locally. Provide it as a folder "
        f"(config.json, *.safetensors, tokenizer files) and pass its path, or put it in the model store at "
        f"{target} (`promptmine models pull {name_or_path}` on a connected machine, then "
        f"`promptmine models pack`/`unpack` to carry it over). promptmine never downloads at run time "
        f"when HF_HUB_OFFLINE=1.")
