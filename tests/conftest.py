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


# -- precisions: every numeric test of a scorer runs in float32 and in bfloat16 -----------------------

# The largest |fast - naive| log-prob difference the tiny models may show in each precision.
# float32: float rounding (4.5e-6 seen). bfloat16 (`--dtype auto` on CPUs with native bfloat16):
# 0.0025 seen on a CPU with AVX512-BF16 over every case of test_score_causal.py (3 models x 2 paths
# x 2 groupings x 8 templates x 28 pairs), x4 for other CPUs' kernels (AMX rounds differently) -> 0.01.
# One subject's log-probs span ~7 nats, so a wrong mask or position (errors of 0.1+) still fails.
TOLERANCE = {"float32": 1e-4, "bfloat16": 0.01}


@pytest.fixture(params=list(TOLERANCE))
def precision(request) -> str:
    """Each test taking it runs once per precision, so the suite covers both on every CPU (bfloat16 is
    emulated where the CPU lacks it)."""
    return request.param


@pytest.fixture
def assert_agree():
    """check(fast, naive, dtype): rows within the precision's TOLERANCE, same top candidate per row."""
    def check(fast, naive, dtype, what=""):
        assert len(fast) == len(naive) and all(len(a) == len(b) for a, b in zip(fast, naive))
        for a, b in zip(fast, naive):
            assert a == pytest.approx(b, abs=TOLERANCE[dtype]), (dtype, what)
            assert max(range(len(a)), key=a.__getitem__) == max(range(len(b)), key=b.__getitem__), (dtype, what)
    return check
