import os

import pytest

# Tests never reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Each test gets its own on-disk cache so runs never leak into each other or ~/.cache."""
    monkeypatch.setenv("PROMPTMINE_CACHE", str(tmp_path / "cache"))


@pytest.fixture(autouse=True)
def _app_logging(monkeypatch):
    """Notes on stderr at info level, as the CLI sets them up, so tests read them with capsys."""
    from promptmine.core import progress

    for key in progress._THIRD_PARTY_ENV:  # configure_logging sets them; monkeypatch restores them
        monkeypatch.delenv(key, raising=False)
    progress.configure_logging(0)


# -- tiny random models (promptmine.testing.tiny), built once per session ------------------------


@pytest.fixture(scope="session")
def tiny_causal_dir(tmp_path_factory):
    """A saved tiny Llama (safetensors + tokenizer), for commands that load a model folder."""
    from promptmine.testing.tiny import save_tiny_causal

    return save_tiny_causal(tmp_path_factory.mktemp("tiny-causal") / "tiny")


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    """A saved tiny BERT masked LM: (folder, its state dict)."""
    from promptmine.testing.tiny import save_tiny_bert

    folder, state = save_tiny_bert(tmp_path_factory.mktemp("tiny-bert") / "tiny-bert")
    assert (folder / "model.safetensors").is_file()
    return folder, state


@pytest.fixture(scope="session")
def random_marian():
    """`make_random_marian(folder, corpus, **options)`: a tiny random MarianMT saved to `folder`."""
    from promptmine.testing.tiny import make_random_marian

    return make_random_marian
