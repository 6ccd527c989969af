"""The real MarianMT code path on a tiny randomly initialised model with a SentencePiece vocab trained here."""

import math
import socket

import pytest

from promptmine.core.errors import ModelNotAvailable

CORPUS = ["Alice was born in Bob .", "Alice died in Bob .", "The capital of Alice is Bob .",
          "Der Hund läuft schnell .", "Le chat est noir .", "Bob works for Alice ."] * 20


def build_tiny(folder, seed=0):
    from promptmine.testing.tiny import make_random_marian

    return make_random_marian(folder, CORPUS, d_model=16, layers=1, heads=2, ffn_dim=32, spm_vocab_size=60,
                              seed=seed)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("marian")
    build_tiny(root / "opus-mt-en-de", seed=0)
    build_tiny(root / "Helsinki-NLP--opus-mt-de-en", seed=1)
    return root


def test_saved_as_marian_with_safetensors(model_dir):
    files = {p.name for p in (model_dir / "opus-mt-en-de").iterdir()}
    assert {"source.spm", "target.spm", "vocab.json", "config.json", "model.safetensors"} <= files
    assert not any(f.endswith(".bin") for f in files)


def test_nbest_with_length_normalised_scores(model_dir):
    from promptmine.models.translate.marian import MarianTranslator

    tr = MarianTranslator(model_dir=model_dir, max_new_tokens=8, device="cpu")
    out = tr.translate(["Alice was born in Bob .", "Le chat ."], "en", "de", n=4)
    assert len(out) == 2
    for hyps in out:
        assert len(hyps) == 4
        scores = [h.logprob for h in hyps]
        assert all(math.isfinite(s) and s < 0 for s in scores)
        assert scores == sorted(scores, reverse=True)
        # length-normalised: a mean token log-prob is bounded by log(1/|V|)-ish, not by the length
        assert all(s > -20 for s in scores)
    # greedy path scores too
    (one,) = tr.translate(["Alice died in Bob ."], "de", "en", n=1)[0]
    assert one.logprob is not None and one.logprob < 0


def test_batching_gives_the_same_result_as_one_at_a_time(model_dir):
    from promptmine.models.translate.marian import MarianTranslator

    texts = ["Alice was born in Bob .", "Bob .", "The capital of Alice is Bob . Le chat est noir .", "Bob ."]
    batched = MarianTranslator(model_dir=model_dir, max_new_tokens=6, batch_size=8, device="cpu")
    single = MarianTranslator(model_dir=model_dir, max_new_tokens=6, batch_size=1, device="cpu")
    a = batched.translate(texts, "en", "de", n=3)
    b = single.translate(texts, "en", "de", n=3)
    assert len(a) == 4 and a[1] == a[3]  # duplicates answered once, in input order
    for ha, hb in zip(a, b):
        assert [h.text for h in ha] == [h.text for h in hb]
        assert [h.logprob for h in ha] == pytest.approx([h.logprob for h in hb], abs=1e-4)


def test_generation_settings_are_part_of_the_identity(model_dir):
    from promptmine.models.translate.marian import MarianTranslator

    a = MarianTranslator(model_dir=model_dir, min_new_tokens=5, max_new_tokens=5, device="cpu")
    b = MarianTranslator(model_dir=model_dir, max_new_tokens=5, device="cpu")
    assert a.identity != b.identity  # so the translation cache never mixes them
    assert len(a.translate(["Bob ."], "en", "de", n=2)[0]) == 2


def test_models_saved_over_their_folders_are_other_models_to_the_cache(tmp_path):
    """Local Marian folders are keyed with a fingerprint of their files, taken when the translator is
    made: a pair retrained and saved over its folder must not reuse the old model's cached translations."""
    import os

    from promptmine.models.translate.marian import MarianTranslator

    root = tmp_path / "models"
    build_tiny(root / "opus-mt-en-de")
    by_dir = MarianTranslator(model_dir=root, device="cpu")
    by_pair = MarianTranslator(model=f"en-de={root / 'opus-mt-en-de'}", device="cpu")
    keys = (by_dir.identity, by_pair.identity)
    assert keys == (MarianTranslator(model_dir=root, device="cpu").identity,
                    MarianTranslator(model=f"en-de={root / 'opus-mt-en-de'}", device="cpu").identity)
    weights = next((root / "opus-mt-en-de").glob("*.safetensors"))
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # saved again
    assert MarianTranslator(model_dir=root, device="cpu").identity != keys[0]
    assert MarianTranslator(model=f"en-de={root / 'opus-mt-en-de'}", device="cpu").identity != keys[1]
    assert (by_dir.identity, by_pair.identity) == keys  # made before: the key of what it had then


def test_explicit_pair_mapping(model_dir):
    from promptmine.models.translate.marian import MarianTranslator

    tr = MarianTranslator(model=f"en-de={model_dir / 'opus-mt-en-de'},de-en={model_dir / 'opus-mt-en-de'}",
                          max_new_tokens=4, device="cpu")
    assert tr.supports("en", "de") and tr.supports("de", "en") and not tr.supports("en", "fr")
    assert len(tr.translate(["Bob ."], "de", "en", n=2)[0]) == 2


def test_missing_model_names_it_and_never_downloads(model_dir, monkeypatch, tmp_path):
    from promptmine.models.translate.marian import MarianTranslator

    monkeypatch.setenv("PROMPTMINE_MODELS", str(tmp_path / "store"))

    def no_network(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    tr = MarianTranslator(model_dir=model_dir, device="cpu")
    assert not tr.supports("en", "fr")
    with pytest.raises(ModelNotAvailable) as e:
        tr.translate(["Bob ."], "en", "fr", n=2)
    msg = str(e.value)
    assert "Helsinki-NLP/opus-mt-en-fr" in msg
    assert "Helsinki-NLP--opus-mt-en-fr" in msg  # where to put it in the store
    assert "HF_HUB_OFFLINE" in msg and "opus-mt-en-fr" in msg and "bergamot" in msg


def test_model_found_in_the_store(model_dir, monkeypatch):
    from promptmine.models.translate.marian import MarianTranslator

    monkeypatch.setenv("PROMPTMINE_MODELS", str(model_dir))  # holds Helsinki-NLP--opus-mt-de-en
    tr = MarianTranslator(device="cpu", max_new_tokens=4)
    assert tr.supports("de", "en")
    assert not tr.supports("en", "de")  # `opus-mt-en-de` is the --model-dir layout, not the store's


def test_bfloat16_and_bad_dtype(model_dir):
    from promptmine.core.errors import PromptmineError
    from promptmine.models.translate.marian import MarianTranslator

    tr = MarianTranslator(model_dir=model_dir, max_new_tokens=4, device="cpu", dtype="bfloat16")
    hyps = tr.translate(["Bob ."], "en", "de", n=2)[0]
    assert len(hyps) == 2 and all(isinstance(h.logprob, float) for h in hyps)
    assert "bfloat16" in tr.identity
    with pytest.raises(PromptmineError, match="unknown dtype"):
        MarianTranslator(model_dir=model_dir, dtype="int8")


def test_multi_target_pair_resolves_through_the_manifest_with_its_language_token(model_dir, tmp_path, monkeypatch):
    """There is no opus-mt-en-pt: en->pt is the multi-target tc-big model, which needs `>>por<<` first."""
    import shutil

    from promptmine.models.translate.marian import MarianTranslator

    monkeypatch.setenv("PROMPTMINE_MODELS", str(tmp_path / "store"))
    shutil.copytree(model_dir / "opus-mt-en-de", tmp_path / "store" / "Helsinki-NLP--opus-mt-tc-big-en-pt")
    tr = MarianTranslator(max_new_tokens=4, device="cpu")
    assert tr.locate("en", "pt").name == "Helsinki-NLP--opus-mt-tc-big-en-pt"
    tok, _ = tr._load("en", "pt")
    seen = []
    real_call = type(tok).__call__
    monkeypatch.setattr(type(tok), "__call__", lambda self, texts, *a, **k: seen.extend(texts) or real_call(self, texts, *a, **k))
    tr.translate(["Alice was born in Bob ."], "en", "pt", n=1)
    assert seen and all(t.startswith(">>por<< ") for t in seen)
    assert tr._prefix("en", "de") == ""
