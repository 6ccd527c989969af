"""Reading inputs with line-precise errors, and writing outputs atomically."""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from pydantic import BaseModel, ValidationError

from promptmine.core.errors import InputError
from promptmine.core.progress import log, plural, warn
from promptmine.core.records import Pair, check_template

OnError = Callable[[InputError], None] | None

BOM = b"\xef\xbb\xbf"  # the UTF-8 byte order mark some editors (Notepad, Excel) put at the start
MAX_REPORTED = 5  # malformed lines reported one by one before the count


def open_text(path: str | Path, errors: str = "strict") -> IO[str]:
    """Open a text file, transparently gunzipping `.gz` and dropping a UTF-8 BOM."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path)
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", errors=errors)
    return open(path, encoding="utf-8-sig", errors=errors)


def iter_lines(path: str | Path, on_error: OnError = None) -> Iterator[tuple[int, str]]:
    """Yield (line number, line without newline); undecodable lines go to on_error or raise."""
    path = Path(path)
    if not path.exists():
        raise InputError("no such file", path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                yield lineno, decode_line(raw, path, lineno)
            except InputError as err:
                if on_error is None:
                    raise
                on_error(err)


def decode_line(raw: bytes, path: str | Path, lineno: int) -> str:
    """A raw line as text without its newline (and without a BOM on line 1); InputError when it is
    not UTF-8."""
    if lineno == 1 and raw.startswith(BOM):
        raw = raw[len(BOM):]
    try:
        return raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as e:
        raise InputError(f"undecodable bytes (not UTF-8) at byte {e.start}", path, lineno) from None


def parse_json_line(line: str, path: str | Path, lineno: int) -> dict | None:
    """A JSONL line's object (None for a blank line); InputError when it is not a JSON object."""
    if not line.strip():
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise InputError(f"malformed JSON ({e.msg} at column {e.colno})", path, lineno) from None
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}", path, lineno)
    return obj


def iter_jsonl(path: str | Path, on_error: OnError = None) -> Iterator[tuple[int, dict]]:
    """Yield (line number, object) for each non-blank line; malformed lines go to on_error or raise."""
    for lineno, line in iter_lines(path, on_error):
        try:
            obj = parse_json_line(line, path, lineno)
        except InputError as err:
            if on_error is None:
                raise
            on_error(err)
            continue
        if obj is not None:
            yield lineno, obj


def read_records(path: str | Path, model: type[BaseModel], on_error: OnError = None) -> list:
    """Read a JSONL file of one record type, naming the line of any invalid record."""
    out = []
    for lineno, obj in iter_jsonl(path, on_error):
        try:
            out.append(model.model_validate(obj))
        except ValidationError as e:
            first = e.errors()[0]
            field = ".".join(str(p) for p in first["loc"]) or "record"
            err = InputError(f"invalid {model.__name__}: {field}: {first['msg']}", path, lineno)
            if on_error is None:
                raise err from None
            on_error(err)
    return out


def _pair_from_json(obj: dict, path: Path, lineno: int) -> Pair:
    """Accept LAMA/T-REx (`sub_label`/`obj_label`) and plain (`subject`/`object`) records."""
    sub = obj.get("sub_label", obj.get("subject"))
    ob = obj.get("obj_label", obj.get("object"))
    missing = [name for name, v in (("subject (or sub_label)", sub), ("object (or obj_label)", ob)) if not v]
    if missing:
        raise InputError(f"missing field {' and '.join(missing)}", path, lineno)
    if not isinstance(sub, str) or not isinstance(ob, str):
        raise InputError("subject and object must be strings", path, lineno)
    rel = obj.get("predicate_id", obj.get("relation"))
    return Pair(subject=sub.strip(), object=ob.strip(), relation=rel)


class SkippedLines:
    """The one policy for malformed input lines: skip them, report the first few as file:line and
    then how many there were in all. Pass an instance as `on_error`; call `report()` at the end."""

    def __init__(self, path: str | Path, what: str = "line", on_error: OnError = None):
        self.path, self.what, self.on_error = str(path), what, on_error
        self.errors: list[InputError] = []

    def __call__(self, err: InputError) -> None:
        self.errors.append(err)
        if self.on_error is not None:
            self.on_error(err)
        elif len(self.errors) <= MAX_REPORTED:
            warn(f"skipped {err}")

    def report(self) -> None:
        n = len(self.errors)
        if n and self.on_error is None:
            more = f" (the first {MAX_REPORTED} shown)" if n > MAX_REPORTED else ""
            warn(f"{self.path}: skipped {plural(n, 'malformed ' + self.what)}{more}; --strict makes them an error")


def read_pairs(path: str | Path, *, strict: bool = False, on_error: OnError = None) -> list[Pair]:
    """Read pairs from JSONL (LAMA/T-REx or plain) or TSV (`subject<TAB>object[<TAB>relation]`).

    Malformed lines follow one policy for every command: with `strict` the first one is an
    InputError naming file:line; otherwise they are skipped, and either passed to `on_error` or
    reported (the first few as file:line, then their count)."""
    if strict:
        return _read_pairs(Path(path), None)
    skipped = SkippedLines(path, "pair line", on_error)
    pairs = _read_pairs(Path(path), skipped)
    skipped.report()
    return pairs


# A TSV's first line naming its columns (`subject<TAB>object<TAB>relation`, `sub_label ...`) is no fact.
TSV_HEADER = frozenset(("subject", "object", "relation", "sub_label", "obj_label", "predicate_id", "sub", "obj",
                        "head", "tail", "predicate", "property", "x", "y", "s", "o", "r"))


def read_facts(path: str, *, relations: Sequence[str] | None = None, default_relation: str | None = None,
               strict: bool = False) -> list:
    """The pairs file's facts as `mine` and `evaluate` take them: pairs that name no relation take
    `default_relation`; only `relations` when given, and a relation the file does not have is an error
    listing those it has (before any model loads)."""
    pairs = read_pairs(path, strict=strict)
    if not pairs:
        raise InputError("no pairs", path)
    if default_relation is not None:
        pairs = [p if p.relation else p.model_copy(update={"relation": default_relation}) for p in pairs]
    if relations:
        found = list(dict.fromkeys(p.relation for p in pairs))
        unknown = [r for r in relations if r not in found]
        if unknown:
            named = [r for r in found if r]
            have = (f"it has {', '.join(named)}" if named else "its pairs name no relation")
            if None in found:
                have += " (and pairs that name none: --default-relation ID names them)"
            raise InputError(f"unknown relation {', '.join(unknown)}; {have}", path)
        pairs = [p for p in pairs if p.relation in relations]
    return pairs


def _read_pairs(path: Path, on_error: OnError) -> list[Pair]:
    pairs: list[Pair] = []
    is_tsv = path.suffix in (".tsv", ".txt") or path.name.endswith((".tsv.gz", ".txt.gz"))
    if is_tsv:
        first = True
        for lineno, line in iter_lines(path, on_error):
            if not line.strip() or line.startswith("#"):
                continue
            cols = next(csv.reader([line], delimiter="\t"))
            if first and len(cols) >= 2 and all(c.strip().lower() in TSV_HEADER for c in cols if c.strip()):
                log(f"{path}:{lineno}: a header row ({' | '.join(c.strip() for c in cols)}), not a fact; skipped")
                first = False
                continue
            first = False
            if len(cols) < 2 or not cols[0].strip() or not cols[1].strip():
                err = InputError("expected `subject<TAB>object`", path, lineno)
                if on_error is None:
                    raise err
                on_error(err)
                continue
            pairs.append(Pair(subject=cols[0].strip(), object=cols[1].strip(),
                              relation=cols[2].strip() if len(cols) > 2 and cols[2].strip() else None))
        return pairs
    for lineno, obj in iter_jsonl(path, on_error):
        try:
            pairs.append(_pair_from_json(obj, path, lineno))
        except InputError as err:
            if on_error is None:
                raise
            on_error(err)
    return pairs


def read_templates(path: str | Path) -> list[tuple[str | None, str]]:
    """Read (relation, template) from JSONL with a `template` field (LAMA relations, candidates)
    or from plain text, one template a line."""
    path = Path(path)
    out: list[tuple[str | None, str]] = []
    if path.suffix in (".jsonl", ".json") or path.name.endswith(".jsonl.gz"):
        for lineno, obj in iter_jsonl(path):
            t = obj.get("template")
            if not isinstance(t, str):
                raise InputError("missing field `template`", path, lineno)
            try:
                check_template(t)
            except ValueError as e:
                raise InputError(str(e), path, lineno) from None
            out.append((obj.get("relation"), t))
        return out
    for lineno, line in iter_lines(path):
        if not line.strip() or line.startswith("#"):
            continue
        try:
            out.append((None, check_template(line.strip())))
        except ValueError as e:
            raise InputError(str(e), path, lineno) from None
    return out


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w") -> Iterator[IO]:
    """Write to a temp file beside `path` and rename it into place only on success,
    so an interrupted run never leaves a half-written output."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; the result gets the usual permissions
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def staged_folder(final: str | Path, files: Sequence[str] = ()) -> Iterator[Path]:
    """A fresh folder beside `final` to write a command's files into; on success they replace `final`'s
    (a missing `final` is the folder renamed; an existing one gets each file replaced and those of
    `files` (the files the command writes, e.g. `promptmine.pipeline.RUN_FILES`) that this run did not
    write removed, other files left alone); on an error or an interrupt it is deleted, so `final` never
    mixes files of two runs."""
    import shutil

    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not final.exists():
        tmp.rename(final)
        return
    for name in files:
        if not (tmp / name).exists() and (final / name).exists():
            (final / name).unlink()
    for f in tmp.iterdir():
        os.replace(f, final / f.name)
    tmp.rmdir()


def to_jsonable(record) -> dict:
    if isinstance(record, BaseModel):
        fn = getattr(record, "to_json", None)
        return fn() if fn else record.model_dump()
    return record


def write_jsonl(path: str | Path | None, records: Iterable) -> int:
    """Write records (pydantic models or dicts) as JSONL, atomically to a file, or to stdout when `path`
    is None or `-` (so commands pipe); returns the count."""
    if path is None or str(path) == "-":
        return _write_records(sys.stdout, records)
    with atomic_write(path) as f:
        return _write_records(f, records)


def _write_records(f, records: Iterable) -> int:
    n = 0
    for r in records:
        f.write(json.dumps(to_jsonable(r), ensure_ascii=False) + "\n")
        n += 1
    return n
