"""The CTranslate2 backend on the tiny random MarianMT: converted once into the store, n-best with scores,
the same greedy output as the transformers backend on the same weights, and the store's format policy
(CTranslate2's own model.bin allowed in its folder, pickles still refused everywhere else)."""

import inspect
import math
import pickle
import shutil
import socket

import pytest

ctranslate2 = pytest.importorskip("ctranslate2", reason="the ctranslate2 backend is optional: "
                                                        "pip install 'promptmine[ctranslate2]'")

from promptmine.core.errors import ModelNotAvailable, PromptmineError  # noqa: E402
from promptmine.models import store  # noqa: E402
from promptmine.models.translate.ctranslate2 import CTranslate2Translator  # noqa: E402
from promptmine.models.translate.marian import MarianTranslator  # noqa: E402

CORPUS = ["Alice was born in Bob .", "Alice died in Bob .", "The capital of Alice is Bob .",
          "Der Hund läuft schnell .", "Le chat est noir .", "Bob works for Alice ."] * 20
TEXTS = ["Alice was born in Bob .", "Le chat .", "The capital of Alice is Bob . Le chat est noir .",
         "Bob works for Alice .", "Der Hund"]
# init_std 1.0: the random model's output depends on its input, so agreement means something
TINY = dict(d_model=16, layers=1, heads=2, ffn_dim=32, spm_vocab_size=60, init_std=1.0)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, random_marian):
    root = tmp_path_factory.mktemp("marian")
    random_marian(root / "opus-mt-en-de", CORPUS, seed=0, **TINY)
    random_marian(root / "opus-mt-de-en", CORPUS, seed=1, **TINY)
    return root


@pytest.fixture(scope="module")
def models_store(tmp_path_factory):
    """One model store for the module, so each compute type is converted once for all its tests."""
    root = tmp_path_factory.mktemp("store")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PROMPTMINE_MODELS", str(root))
        yield root


@pytest.fixture(scope="module")
def ct2(model_dir, models_store):
    return CTranslate2Translator(model_dir=model_dir, device="cpu", max_new_tokens=8)


def test_registered_with_options_its_constructor_takes():
    from promptmine.models.translate import TRANSLATORS, Translator
    from promptmine.models.translate.marian import OpusMTOptions

    assert TRANSLATORS.resolve("ctranslate2") is CTranslate2Translator
    assert issubclass(CTranslate2Translator, Translator)
    fields = CTranslate2Translator.Options.model_fields
    assert list(inspect.signature(CTranslate2Translator).parameters) == ["options", "fields"]  # no default copied
    assert all(f.description for f in fields.values())
    shared = set(fields) & set(MarianTranslator.Options.model_fields)  # declared once, for both
    assert shared == {"model", "model_dir", "device", "batch_size", "max_new_tokens", "min_new_tokens"}
    assert all(issubclass(cls.Options, OpusMTOptions) for cls in (CTranslate2Translator, MarianTranslator))
    assert CTranslate2Translator.placeholder_styles == MarianTranslator.placeholder_styles


def test_converts_once_into_the_store(ct2, model_dir, models_store, monkeypatch):
    ct2.require("en", "de")
    target = models_store / "ct2--opus-mt-en-de--int8"
    files = {p.name for p in target.iterdir()}
    assert {"model.bin", "config.json", "source.spm", "target.spm", "vocab.json", store.RECORD_NAME} <= files
    assert not any(f.endswith(".safetensors") for f in files)
    record = store.read_record(target)
    assert record["model"] == "ct2/opus-mt-en-de--int8" and "model.bin" in record["files"]
    assert record["source"].startswith("ctranslate2:") and len(record["revision"]) == 64
    stamp = (target / "model.bin").stat().st_mtime_ns

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted a second time")

    monkeypatch.setattr(ctranslate2.converters.TransformersConverter, "convert", no_conversion)
    again = CTranslate2Translator(model_dir=model_dir, device="cpu", max_new_tokens=8)
    assert len(again.translate(["Bob ."], "en", "de", n=2)[0]) == 2
    assert (target / "model.bin").stat().st_mtime_ns == stamp
    assert not [p for p in models_store.iterdir() if p.name.startswith(".")]  # no staging left behind


def test_a_changed_source_is_converted_again(tmp_path, random_marian, monkeypatch):
    """Same folder name, other weights: the record's fingerprint tells them apart."""
    monkeypatch.setenv("PROMPTMINE_MODELS", str(tmp_path / "store"))
    folder = random_marian(tmp_path / "models" / "opus-mt-en-de", CORPUS, seed=0, **TINY)
    CTranslate2Translator(model_dir=folder.parent, device="cpu", compute_type="float32").require("en", "de")
    target = tmp_path / "store" / "ct2--opus-mt-en-de--float32"
    first = store.read_record(target)
    random_marian(folder, CORPUS, seed=5, **TINY)  # retrained, as it were
    CTranslate2Translator(model_dir=folder.parent, device="cpu", compute_type="float32").require("en", "de")
    second = store.read_record(target)
    assert second["revision"] != first["revision"]
    assert second["files"]["model.bin"]["sha256"] != first["files"]["model.bin"]["sha256"]


def test_nbest_with_length_normalised_scores(ct2):
    out = ct2.translate(["Alice was born in Bob .", "Le chat ."], "en", "de", n=4)
    assert len(out) == 2
    for hyps in out:
        assert len(hyps) == 4
        scores = [h.logprob for h in hyps]
        assert all(math.isfinite(s) and s < 0 for s in scores)
        assert scores == sorted(scores, reverse=True)
        assert all(s > -20 for s in scores)  # a mean per token, not a sum over the sentence
    (one,) = ct2.translate(["Alice died in Bob ."], "de", "en", n=1)[0]
    assert one.logprob is not None and one.logprob < 0


def test_duplicates_and_batching(model_dir, models_store):
    texts = ["Alice was born in Bob .", "Bob .", "The capital of Alice is Bob . Le chat est noir .", "Bob ."]
    batched = CTranslate2Translator(model_dir=model_dir, device="cpu", max_new_tokens=6, batch_size=8)
    single = CTranslate2Translator(model_dir=model_dir, device="cpu", max_new_tokens=6, batch_size=1)
    a = batched.translate(texts, "en", "de", n=3)
    b = single.translate(texts, "en", "de", n=3)
    assert len(a) == 4 and a[1] == a[3]  # duplicates answered once, in input order
    for ha, hb in zip(a, b):
        assert [h.text for h in ha] == [h.text for h in hb]
        assert [h.logprob for h in ha] == pytest.approx([h.logprob for h in hb], abs=1e-3)


@pytest.mark.parametrize("max_new", [8, None])
def test_greedy_agrees_with_the_transformers_backend(model_dir, models_store, max_new):
    """Same weights, float32, n=1: the same translations (empty ones included) and the same scores (mean
    log-prob per token with the end token), up to float rounding."""
    hf = MarianTranslator(model_dir=model_dir, device="cpu", dtype="float32", max_new_tokens=max_new)
    ct = CTranslate2Translator(model_dir=model_dir, device="cpu", compute_type="float32", max_new_tokens=max_new)
    for src, tgt in (("en", "de"), ("de", "en")):
        a = hf.translate(TEXTS, src, tgt, n=1)
        b = ct.translate(TEXTS, src, tgt, n=1)
        assert [h[0].text for h in b] == [h[0].text for h in a]
        assert len({h[0].text for h in a}) > 1  # the model does not say one thing whatever the input
        assert [h[0].logprob for h in b] == pytest.approx([h[0].logprob for h in a], abs=1e-4)


def test_identity_separates_backends_and_compute_types(model_dir, models_store):
    a = CTranslate2Translator(model_dir=model_dir, device="cpu")
    b = CTranslate2Translator(model_dir=model_dir, device="cpu", compute_type="float32")
    c = MarianTranslator(model_dir=model_dir, device="cpu")
    assert len({a.identity, b.identity, c.identity}) == 3
    assert a.compute_type == "int8"  # auto on CPU


def test_bad_device_and_compute_type(model_dir):
    with pytest.raises(PromptmineError, match="cpu or cuda"):
        CTranslate2Translator(model_dir=model_dir, device="mps")
    with pytest.raises(PromptmineError, match="not supported"):
        CTranslate2Translator(model_dir=model_dir, device="cpu", compute_type="float64")


def test_round_trip_counts_dropped_slots(ct2):
    """Through promptmine.paraphrasing: every back-translation is looked at once, and exactly those that
    lost or duplicated a slot are dropped (counted here from the translator's own outputs)."""
    from promptmine.paraphrasing import RoundTripStats, paraphrase_templates, slot_counts
    from promptmine.paraphrasing.slots import render_slots as protect, restore_slots as restore
    from promptmine.core.records import normalize_text

    templates = ["[X] was born in [Y] .", "[X] died in [Y] ."]
    stats = RoundTripStats()
    out = paraphrase_templates(templates, ct2, ["de"], beams=3, cache=None, stats=stats)
    assert stats.round_trips == 2 * 1 * 3 * 3  # templates x pivots x B x B
    dropped = 0
    for t in templates:
        p = protect(t, "names")
        for fh in ct2.translate([p], "en", "de", n=3)[0]:
            for bh in ct2.translate([fh.text], "de", "en", n=3)[0]:
                cand = normalize_text(restore(bh.text, "names"))
                dropped += slot_counts(cand) != (1, 1) or not cand.strip()
    assert stats.dropped == dropped
    assert stats.kept == sum(len(c) - 1 for c in out)
    assert all(c[0].backend == "ctranslate2" and c[0].pivot is None for c in out)


def test_multi_target_pair_gets_its_language_token(model_dir, tmp_path, monkeypatch):
    """en->pt resolves through the manifest to the multi-target tc-big model, which needs `>>por<<`."""
    monkeypatch.setenv("PROMPTMINE_MODELS", str(tmp_path / "store"))
    shutil.copytree(model_dir / "opus-mt-en-de", tmp_path / "store" / "Helsinki-NLP--opus-mt-tc-big-en-pt")
    tr = CTranslate2Translator(device="cpu", max_new_tokens=4)
    assert tr.locate("en", "pt").name == "Helsinki-NLP--opus-mt-tc-big-en-pt"
    tok, _ = tr._load("en", "pt")
    seen = []
    real_call = type(tok).__call__
    monkeypatch.setattr(type(tok), "__call__",
                        lambda self, texts, *a, **k: seen.extend(texts) or real_call(self, texts, *a, **k))
    tr.translate(["Alice was born in Bob ."], "en", "pt", n=1)
    assert seen and all(t.startswith(">>por<< ") for t in seen)
    assert (tmp_path / "store" / "ct2--Helsinki-NLP--opus-mt-tc-big-en-pt--int8" / "model.bin").is_file()


def test_missing_model_names_it_and_never_downloads(model_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("PROMPTMINE_MODELS", str(tmp_path / "store"))

    def no_network(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    tr = CTranslate2Translator(model_dir=model_dir, device="cpu")
    assert not tr.supports("en", "fr")
    with pytest.raises(ModelNotAvailable, match="opus-mt-en-fr"):
        tr.translate(["Bob ."], "en", "fr", n=2)


# -- the store's format policy ---------------------------------------------------------------------

def test_store_lists_verifies_packs_and_unpacks_the_converted_folder(ct2, models_store, tmp_path, monkeypatch):
    ct2.require("en", "de")
    target = models_store / "ct2--opus-mt-en-de--int8"
    assert store._format_of(target) == "ctranslate2"
    (row,) = [r for r in store.list_models() if r.path == str(target)]
    assert (row.name, row.status, row.hint) == ("ct2/opus-mt-en-de--int8", "present", "")
    (check,) = store.verify(["ct2/opus-mt-en-de--int8"])
    assert check.status == "ok" and check.files == len(store.model_files(target))

    doc = store.pack(tmp_path / "ct2.tar", ["ct2/opus-mt-en-de--int8"])
    assert "model.bin" in doc["models"]["ct2--opus-mt-en-de--int8"]["files"]
    monkeypatch.setenv("PROMPTMINE_MODELS", str(tmp_path / "other"))
    (copy,) = store.unpack(tmp_path / "ct2.tar")
    assert (copy / "model.bin").read_bytes() == (target / "model.bin").read_bytes()
    assert [v.status for v in store.verify(shipped=False)] == ["ok"]
    with open(copy / "model.bin", "ab") as f:  # damaged in transit
        f.write(b"\0")
    (bad,) = store.verify(shipped=False)
    assert bad.status == "FAILED" and "model.bin" in bad.problems[0]


def test_store_add_keeps_ct2_model_bin_but_no_pickle(ct2, models_store, tmp_path, monkeypatch):
    ct2.require("en", "de")
    folder = tmp_path / "converted"
    shutil.copytree(models_store / "ct2--opus-mt-en-de--int8", folder)
    (folder / store.RECORD_NAME).unlink()
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps({"weights": [1.0]}))
    monkeypatch.setenv("PROMPTMINE_MODELS", str(tmp_path / "other"))
    dest = store.add("my/ct2-model", folder)
    assert (dest / "model.bin").is_file() and not (dest / "pytorch_model.bin").exists()


def test_a_pickle_outside_a_ct2_folder_is_still_refused(model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PROMPTMINE_MODELS", str(tmp_path / "store"))
    # a transformers folder with pickled weights beside the safetensors: the pickles are left out
    folder = tmp_path / "hf"
    shutil.copytree(model_dir / "opus-mt-en-de", folder)
    (folder / "model.bin").write_bytes(pickle.dumps({"weights": [1.0]}))
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps({"weights": [1.0]}))
    assert store._format_of(folder) == "transformers"
    dest = store.add("my/marian", folder)
    assert (dest / "model.safetensors").is_file()
    assert not (dest / "model.bin").exists() and not (dest / "pytorch_model.bin").exists()
    # dressed up as a CTranslate2 folder (vocabulary file, ct2 name), a pickled model.bin is still refused
    fake = tmp_path / "ct2--fake--int8"
    fake.mkdir()
    (fake / "model.bin").write_bytes(pickle.dumps({"weights": [1.0]}))
    (fake / "shared_vocabulary.json").write_text('["</s>", "<unk>"]')
    (fake / "config.json").write_text("{}")
    assert store._format_of(fake) == "transformers"
    with pytest.raises(PromptmineError, match="safetensors"):
        store.add("my/fake", fake)
    assert not (tmp_path / "store" / "my--fake").exists()
