"""Labelled task examples: reading them, their label words, and the splits a search may look at.

A task file is JSONL, one example a line: any string fields the prompt names as slots (`{text}`, or
`{premise}` and `{hypothesis}`) and a `label`. Errors name the file and line, and are raised before
any model work.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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


def read_task(path: str | Path, slots: Sequence[str] = ("text",), *, labelled: bool = True) -> list[Example]:
    """Examples from JSONL with a non-empty string for every slot and a `label` (`labelled=False`: new
    inputs, the label optional); other string fields are kept too, and each example's 0-based line
    number and `id` field. Errors name file:line."""
    from promptmine.core.io import iter_jsonl

    if not Path(path).is_file():
        raise InputError("no such file", path)
    out = []
    for lineno, obj in iter_jsonl(path):
        if not isinstance(obj, dict):
            raise InputError("expected a JSON object with " + ", ".join(f"`{s}`" for s in slots) + " and `label`",
                             path, lineno)
        for slot in slots:
            value = obj.get(slot)
            if not isinstance(value, str) or not value.strip():
                raise InputError(f"missing or empty `{slot}`", path, lineno)
        label = obj.get("label")
        if labelled and (not isinstance(label, (str, int, bool)) or str(label).strip() == ""):
            raise InputError("missing or empty `label`", path, lineno)
        fields = tuple((k, v) for k, v in obj.items() if k != "label" and isinstance(v, str))
        key = obj.get("id")
        out.append(Example(fields, "" if label is None else str(label), lineno - 1,
                           key if isinstance(key, (str, int, float)) and not isinstance(key, bool) else None))
    if not out:
        raise InputError("no examples", path)
    return out


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
    """Examples held out: a count, a fraction of `n` (0 < f < 1), or None for a third."""
    if held_out is None:
        return max(1, n // 3)
    if isinstance(held_out, float) and 0 < held_out < 1:
        return max(1, round(n * held_out))
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
