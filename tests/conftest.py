import os

import pytest

# Tests never reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Each test gets its own on-disk cache so runs never leak into each other or ~/.cache."""
    monkeypatch.setenv("PROMPTMINE_CACHE", str(tmp_path / "cache"))
