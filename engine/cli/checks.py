"""Checks every command makes before any work starts: value ranges (argparse types), output paths,
`-` for stdin, the relations asked for. A mistake ends in one line and a non-zero exit, never in a
traceback after minutes of work."""

from __future__ import annotations

import argparse
import atexit
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from promptmine.core.errors import InputError, PromptmineError

# -- argparse types -------------------------------------------------------------------------------


def positive_int(text: str) -> int:
    """An integer of at least 1 (--top, --k, --workers, batch sizes, budgets)."""
    value = _number(int, text, "an integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """An integer of at least 0 (counts where 0 means none)."""
    value = _number(int, text, "an integer")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def fraction(text: str) -> float:
    """A share strictly between 0 and 1 (--dev-fraction, --test-fraction)."""
    value = _number(float, text, "a number")
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {value:g}")
    return value


def _number(kind, text: str, what: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


# -- outputs ----------------------------------------------------------------------------------------


def check_output(path: str | Path | None, *, folder: bool = False, flag: str = "--out") -> None:
    """Fail now when `path` cannot be written later: a file in the way of its folder, a folder where
    a file goes (or a file where a folder goes). None and `-` (stdout) pass."""
    if path is None or str(path) == "-":
        return
    p = Path(path).expanduser()
    if folder and p.exists() and not p.is_dir():
        raise PromptmineError(f"{flag} {path}: is a file; give a folder")
    if not folder and p.is_dir():
        raise PromptmineError(f"{flag} {path}: is a folder; give a file name (e.g. {p / 'out.jsonl'})")
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise PromptmineError(f"{flag} {path}: {parent} is a file, not a folder")
            break


# -- `-` for stdin ------------------------------------------------------------------------------------

_TEMP_DIRS: list[str] = []


def stdin_path(path: str | None, what: str) -> str | None:
    """`path`, or for `-` a temporary copy of stdin named so the readers see its format (.jsonl when
    its first line is a JSON object, else .tsv for pairs and .txt for templates and corpora)."""
    if path != "-":
        return path
    if sys.stdin.isatty():
        raise PromptmineError(f"{what} `-` reads stdin, but stdin is a terminal: pipe the file in")
    text = sys.stdin.read()
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        jsonl = isinstance(json.loads(first), dict)
    except ValueError:
        jsonl = False
    suffix = ".jsonl" if jsonl else ".tsv" if what == "pairs" else ".txt"
    folder = tempfile.mkdtemp(prefix="promptmine-stdin-")
    if not _TEMP_DIRS:
        atexit.register(lambda: [shutil.rmtree(d, ignore_errors=True) for d in _TEMP_DIRS])
    _TEMP_DIRS.append(folder)
    target = Path(folder) / f"stdin{suffix}"
    target.write_text(text, encoding="utf-8")
    return str(target)


# -- relations --------------------------------------------------------------------------------------


def split_ids(values: Sequence[str] | None) -> list[str] | None:
    """Repeated and comma-separated ids (`--relation P19,P36 --relation P37`) as one list, or None."""
    ids = [v.strip() for arg in (values or []) for v in arg.split(",") if v.strip()]
    return list(dict.fromkeys(ids)) or None


def read_facts(path: str, *, relations: Sequence[str] | None = None, default_relation: str | None = None,
               strict: bool = False) -> list:
    """The pairs file's facts; pairs that name no relation take `default_relation`; only `relations`
    when given, and a relation the file does not have is an error listing those it has."""
    from promptmine.core.io import read_pairs

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


# -- back-translation routes ------------------------------------------------------------------------


def offered_pivots(backend: str, options: dict | None = None) -> tuple[bool, dict[str, str | None]]:
    """(whether the backend works here, its pivots with these options: language -> None when usable,
    else how to add it); no pivots means any language. Asks the class, loading no model."""
    from promptmine.models.translate import TRANSLATORS

    try:
        cls = TRANSLATORS.resolve(backend)
    except ImportError:
        return False, {}
    return cls.availability().ok, cls.offered_pivots(TRANSLATORS.validate(backend, options) if options else None)


def check_routes(routes: Sequence[tuple[str, Sequence[str]]], options: dict[str, dict] | None = None) -> None:
    """An unknown backend, or a pivot a backend does not offer, is an error naming the backends and
    the pivots each offers (a backend given its own models, e.g. --model-dir, may pivot anywhere).
    A known backend that is not installed here is left to the pipeline, which skips it with a note."""
    from promptmine.models.translate import TRANSLATORS

    if not routes:
        return
    problems = []
    offers = {name: offered_pivots(name) for name in TRANSLATORS.names()}
    for backend, pivots in routes:
        if backend not in offers:
            problems.append(f"unknown backend {backend!r}")
            continue
        own = (options or {}).get(backend)
        _, known = offered_pivots(backend, own) if own else offers[backend]
        if not known:  # any language
            continue
        bad = [p for p in pivots if p not in known]
        if bad:
            problems.append(f"{backend} has no pivot {', '.join(bad)}")
    if problems:
        def describe(name: str) -> str:
            ok, known = offers[name]
            langs = ", ".join(known) or "any language"
            usable = [p for p, fix in known.items() if fix is None]
            here = "" if ok and (not known or usable == list(known)) else \
                f"; usable here: {', '.join(usable)}" if ok else "; unavailable here"
            return f"{name} ({langs}{here})"

        raise PromptmineError(f"--pivots: {'; '.join(problems)}. Backends and their pivots: "
                              + ", ".join(describe(n) for n in offers) + "; `promptmine doctor` says how to add them")


# -- devices ----------------------------------------------------------------------------------------

DEVICE_FLAGS = ("device", "translator_device")  # argparse dests of the backends' --device flags


def check_device(device: str, flag: str = "--device") -> None:
    """Fail in one line on a device this machine does not have (`cuda` without a GPU, `mps` off a
    Mac) or that no backend knows (`tpu`), before any model loads. `auto` and `cpu` always pass."""
    import re

    kind = device.strip().lower()
    if kind in ("auto", "cpu"):
        return
    if not re.fullmatch(r"cuda(:\d+)?|mps", kind):
        raise PromptmineError(f"{flag} {device}: unknown device; choose from auto, cpu, cuda, cuda:N, mps")
    import torch

    if kind.startswith("cuda"):
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(kind.partition(":")[2] or 0)
        if n == 0:
            raise PromptmineError(f"{flag} {device}: no CUDA device here (torch {torch.__version__}"
                                  f"{'' if torch.version.cuda else ', a CPU-only build'}); use --device cpu or auto")
        if index >= n:
            raise PromptmineError(f"{flag} {device}: this machine has {n} CUDA device(s), cuda:0 to cuda:{n - 1}")
    elif not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise PromptmineError(f"{flag} {device}: MPS (Apple GPU) is not available here; use --device cpu or auto")


def check_devices(args: argparse.Namespace) -> None:
    """`check_device` for every device flag the user set on the command line."""
    for dest in DEVICE_FLAGS:
        value = getattr(args, dest, None)
        if isinstance(value, str):
            check_device(value, "--" + dest.replace("_", "-"))
