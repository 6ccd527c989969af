"""Labelled task examples: reading them, their label words, and the splits a search may look at.

A task file is JSONL (`.jsonl`, `.json`, `.ndjson`), one example a line, or CSV/TSV (`.csv`, `.tsv`)
with a header row naming the columns: any string fields the prompt names as slots (`{text}`, or
`{premise}` and `{hypothesis}`) and a `label`. Errors name the file and line, and are raised before
any model work.
"""

from __future__ import annotations

import csv
import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from promptmine.core.errors import InputError, PromptmineError


@dataclass(frozen=True)
class Example:
    """One labelled example: its string fields (slot name -> value) and its label (`""` when unlabelled);
    read from a file, also its 0-based line number and its `id` field (if any): `key` is what outputs call it."""

    fields: tuple[tuple[str, str], ...]
    label: str
    line: int | None = field(default=None, compare=False)
    id: str | int | float | None = field(default=None, compare=False)

    @property
    def key(self) -> str | int | float | None:
        """The example's id: its `id` field when it has one, else its 0-based line number."""
        return self.line if self.id is None else self.id

    @classmethod
    def of(cls, label: str, **fields: str) -> Example:
        return cls(tuple(fields.items()), str(label))

    @property
    def text(self) -> str:
        return dict(self.fields).get("text", "")

    def get(self, name: str) -> str:
        return dict(self.fields)[name]


JSONL = (".jsonl", ".json", ".ndjson")
DELIMITED = {".csv": ",", ".tsv": "\t"}
FORMATS = "JSONL (.jsonl, one JSON object a line) or CSV/TSV (.csv, .tsv, a header row naming the columns)"


def task_format(path: str | Path) -> str:
    """`jsonl`, `csv` or `tsv`, by the file's extension (a `.gz` after it allowed); for another
    extension, JSONL when the first non-blank line is a JSON object, else an InputError naming the
    formats read."""
    import json

    name = Path(path).name.lower().removesuffix(".gz")
    suffix = Path(name).suffix
    if suffix in JSONL:
        return "jsonl"
    if suffix in DELIMITED:
        return suffix[1:]
    from promptmine.core.io import open_text

    with open_text(path, errors="replace") as f:
        first = next((line for line in f if line.strip()), "")
    try:
        if isinstance(json.loads(first), dict):
            return "jsonl"
    except ValueError:
        pass
    raise InputError(f"cannot tell the format of a {suffix or 'extension-less'} file: give "
                     f"{FORMATS}", path)


def read_task(path: str | Path, slots: Sequence[str] = ("text",), *, labelled: bool = True) -> list[Example]:
    """Examples with a non-empty string for every slot and a `label` (`labelled=False`: new inputs, the
    label optional), from JSONL or CSV/TSV with a header (`task_format`); other string fields are kept
    too, and each example's 0-based line number in its file and `id` field. Errors name file:line."""
    if not Path(path).is_file():
        raise InputError("no such file", path)
    kind = task_format(path)
    rows = _jsonl_rows(path) if kind == "jsonl" else _delimited_rows(path, DELIMITED["." + kind], slots,
                                                                                 labelled)
    out = []
    for lineno, obj in rows:
        for slot in slots:
            value = obj.get(slot)
            if not isinstance(value, str) or not value.strip():
                raise InputError(f"missing or empty `{slot}`", path, lineno)
        label = obj.get("label")
        if labelled and (not isinstance(label, (str, int, bool)) or str(label).strip() == ""):
            raise InputError("missing or empty `label`", path, lineno)
        fields = tuple((k, v) for k, v in obj.items() if k != "label" and isinstance(v, str))
        key = obj.get("id")
        text = "" if label is None else label.strip() if isinstance(label, str) else str(label)
        out.append(Example(fields, text, lineno - 1,
                           key if isinstance(key, (str, int, float)) and not isinstance(key, bool) else None))
    if not out:
        raise InputError("no examples", path)
    return out


def _jsonl_rows(path):
    from promptmine.core.io import iter_lines, parse_json_line

    for lineno, line in iter_lines(path):
        try:
            obj = parse_json_line(line, path, lineno)
        except InputError as e:
            if lineno == 1 and ("," in line or "\t" in line) and not line.lstrip().startswith(("{", "[")):
                raise InputError(f"{e.reason}; this looks like CSV/TSV: name the file .csv or .tsv "
                                 "(a header row naming the columns)", path, lineno) from None
            raise
        if obj is None:
            continue
        yield lineno, obj


def _delimited_rows(path, delimiter: str, slots: Sequence[str], labelled: bool = True):
    """(line, {column: value}) per row of a CSV/TSV file whose first row names the columns (Python's
    csv dialect: quoted fields may hold the delimiter, quotes and newlines)."""
    from promptmine.core.io import open_text

    what = "CSV" if delimiter == "," else "TSV"
    with open_text(path) as f:
        reader = csv.reader(f, delimiter=delimiter)
        try:
            header = [h.strip() for h in next(reader, [])]
            if not any(header):
                raise InputError(f"no header row: the first line of a {what} file names its columns "
                                 f"({', '.join(f'`{s}`' for s in slots)} and `label`)", path, 1)
            missing = [c for c in (*slots, *(("label",) if labelled else ())) if c not in header]
            if missing:
                raise InputError(f"no {', '.join(f'`{c}`' for c in missing)} column; the header names "
                                 + ", ".join(f"`{h}`" for h in header)
                                 + (" (is it tab-separated? name the file .tsv)" if delimiter == "," and
                                    len(header) == 1 and "\t" in header[0] else ""), path, 1)
            end = reader.line_num
            for row in reader:
                start, end = end + 1, reader.line_num
                if not any(v.strip() for v in row):
                    continue
                if len(row) != len(header):
                    raise InputError(f"{len(row)} fields, the header has {len(header)}"
                                     + (f" (quote a field holding `{delimiter}`)" if delimiter == "," and
                                        len(row) > len(header) else ""), path, start)
                yield start, dict(zip(header, row))
        except csv.Error as e:
            raise InputError(f"malformed {what}: {e}", path, reader.line_num) from None


INTEGER = re.compile(r"[+-]?\d+")


def looks_like_integers(labels: Sequence[str]) -> bool:
    """Whether every label is an integer (`0`, `1`: how datasets often store them)."""
    return bool(labels) and all(INTEGER.fullmatch(lab) for lab in labels)


def parse_label_names(spec: str | Mapping[str, str] | None) -> dict[str, str]:
    """label as stored -> its name, from a mapping or text `0=negative,1=positive`; None -> {}."""
    if spec is None:
        return {}
    if isinstance(spec, str):
        pairs = {}
        for item in spec.split(","):
            lab, sep, name = item.partition("=")
            if not sep or not lab.strip() or not name.strip():
                raise PromptmineError(f"label names: expected LABEL=NAME[,LABEL=NAME...], got {item!r}")
            pairs[lab.strip()] = name.strip()
        spec = pairs
    out = {str(k).strip(): str(v).strip() for k, v in spec.items()}
    twice = [n for n, c in Counter(out.values()).items() if c > 1]
    if twice:
        raise PromptmineError(f"label names: {', '.join(twice)} given to more than one label")
    return out


def name_labels(examples: Sequence[Example], names: Mapping[str, str], source: str) -> list[Example]:
    """The examples with their labels renamed by `names` (every label needs a name)."""
    if not names:
        return list(examples)
    unnamed = sorted({e.label for e in examples} - set(names), key=_natural)
    if unnamed:
        raise PromptmineError(f"{source}: label(s) {', '.join(unnamed)} have no name in the label names "
                              f"({', '.join(f'{k}={v}' for k, v in names.items())})")
    return [replace(e, label=names[e.label]) for e in examples]


def _natural(label: str):
    return (0, int(label), "") if INTEGER.fullmatch(label) else (1, 0, label)


def parse_verbalisers(spec: str | Mapping[str, str | Sequence[str]] | None,
                      labels: Sequence[str]) -> dict[str, list[str]]:
    """label -> words. `spec` is a mapping, or text `positive=Positive,negative=Negative|Bad`
    (`|` separates a label's words); None capitalises each label (`positive` -> `Positive`)."""
    if spec is None:
        return {lab: [lab[:1].upper() + lab[1:]] for lab in labels}
    if isinstance(spec, str):
        pairs = {}
        for item in spec.split(","):
            lab, sep, words = item.partition("=")
            if not sep or not lab.strip() or not words.strip():
                raise PromptmineError(f"verbalisers: expected LABEL=WORD[|WORD...], got {item!r}")
            pairs[lab.strip()] = [w.strip() for w in words.split("|") if w.strip()]
        spec = pairs
    out = {str(k): ([v] if isinstance(v, str) else list(v)) for k, v in spec.items()}
    missing = [lab for lab in labels if lab not in out]
    if missing:
        raise PromptmineError(f"no verbaliser for label(s) {', '.join(missing)}")
    return out


def label_index(examples: Sequence[Example], labels: Sequence[str]) -> list[int]:
    """Each example's label as an index into `labels`; an unknown label is an error."""
    index = {lab: i for i, lab in enumerate(labels)}
    unknown = sorted({e.label for e in examples if e.label not in index})
    if unknown:
        raise PromptmineError(f"examples have labels without a verbaliser: {', '.join(unknown)}")
    return [index[e.label] for e in examples]


def majority(examples: Sequence[Example]) -> str:
    """The most frequent label (first seen wins a tie): the answer a prompt must beat."""
    counts = Counter(e.label for e in examples)
    return max(counts, key=counts.__getitem__)  # Counter keeps first-seen order; max keeps the first of a tie


def split_indices(n: int, held_out: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """(selection, held-out) example indices: a fixed shuffle with `seed`, the last `held_out` held out."""
    if not 0 < held_out < n:
        raise PromptmineError(f"held-out size must be between 1 and {n - 1}, got {held_out}")
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return sorted(order[:n - held_out]), sorted(order[n - held_out:])


def held_out_size(held_out: int | float | None, n: int) -> int:
    """Examples held out: a count (at least 1), a share of `n` (0 < f < 1; at least one example), or
    None for a third. Whether that leaves enough to choose on is the caller's check."""
    if held_out is None:
        return max(1, n // 3)
    if isinstance(held_out, float) and not held_out.is_integer():
        if not 0 < held_out < 1:
            raise PromptmineError(f"--held-out {held_out:g}: a share of the examples is between 0 and 1 "
                                  "(0.25), a count a whole number (300)")
        return max(1, round(n * held_out))
    if int(held_out) < 1:
        raise PromptmineError(f"--held-out {held_out:g}: hold out at least 1 example (a count, or a share "
                              "between 0 and 1)")
    return int(held_out)


def balanced_sample(examples: Sequence[Example], labels: Sequence[str], per_label: int,
                    rng: random.Random) -> list[Example]:
    """`per_label` examples of each label (fewer where a label has fewer), in a shuffled order."""
    out = []
    for lab in labels:
        members = [e for e in examples if e.label == lab]
        out += rng.sample(members, min(per_label, len(members)))
    rng.shuffle(out)
    return out
