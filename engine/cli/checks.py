"""Checks every command makes before any work starts: value ranges (argparse types), output paths,
`-` for stdin, relation ids, devices (routes: `promptmine.paraphrasing.routes.check_routes`; the facts
file: `promptmine.core.io.read_facts`). A mistake ends in one line and a non-zero exit, never in a
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

from promptmine.core.errors import PromptmineError

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
