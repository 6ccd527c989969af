"""Typed records shared by every stage. Everything written to disk is JSONL of these."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

X, Y = "[X]", "[Y]"

_SPACE = re.compile(r"\s+")
# Within a line: runs of spaces/tabs (any whitespace but a newline); spaces at a line's ends.
_LINE_SPACE = re.compile(r"[^\S\n]+")
_LINE_EDGE = re.compile(r" *\n *")


def normalize_lines(text: str) -> str:
    """Collapse spaces and tabs within lines but keep the line breaks (a multi-line prompt stays
    multi-line); on a single line the same as collapsing all whitespace."""
    return _LINE_EDGE.sub("\n", _LINE_SPACE.sub(" ", text)).strip()
# No space before closing punctuation, none after opening brackets/quotes.
_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?%)\]}])")
_AFTER_OPEN = re.compile(r"([(\[{])\s+")


def normalize_text(text: str) -> str:
    """Canonical spacing so `[X] was born in [Y] .` and `[X] was born in [Y].` compare equal."""
    text = _SPACE.sub(" ", text).strip()
    # Protect the slots from the bracket rules, then restore them.
    text = text.replace(X, "\x00X\x00").replace(Y, "\x00Y\x00")
    text = _BEFORE_PUNCT.sub(r"\1", text)
    text = _AFTER_OPEN.sub(r"\1", text)
    return text.replace("\x00X\x00", X).replace("\x00Y\x00", Y)


_APOSTROPHES = re.compile(r"[\u2018\u2019\u02bc`\u00b4]")
_INNER_HYPHEN = re.compile(r"(?<=[^\W\d_])\s*[-\u2010\u2011\u2013]\s*(?=[^\W\d_])")
_PUNCT = re.compile(r"[^\w\s'\x00]")
_BEFORE_SLOT = re.compile(r"\b(?:(the)|an?)\s+(?=\x00[XY]\x00)", re.IGNORECASE)


def template_key(text: str) -> str:
    """The one normal form under which candidates from any source (mining, paraphrasing, manual) are
    the same prompt: it ignores spacing, punctuation (a final period, commas, quotes, brackets;
    `co founded` = `co-founded`; curly = straight apostrophes), letter case (`The capital` = `the
    capital`; a rule-based translator's `[X] Was born`), and the determiner right before a slot
    (`member of the [Y]` = `member of [Y]`, `a [Y]` = `an [Y]`). Words and their order still count."""
    text = _APOSTROPHES.sub("'", text).replace(X, "\x00X\x00").replace(Y, "\x00Y\x00")
    text = _PUNCT.sub(" ", _INNER_HYPHEN.sub(" ", text))
    text = _BEFORE_SLOT.sub(lambda m: "" if m.group(1) else "a ", text)
    text = _SPACE.sub(" ", text).strip()
    return text.lower().replace("\x00x\x00", X).replace("\x00y\x00", Y)


def check_template(text: str) -> str:
    """Return the text if it has exactly one [X] and one [Y]; raise ValueError otherwise."""
    nx, ny = text.count(X), text.count(Y)
    if nx != 1 or ny != 1:
        raise ValueError(f"a template needs exactly one [X] and one [Y], found {nx} [X] and {ny} [Y] in {text!r}")
    return text


class Template(BaseModel):
    """A prompt with one [X] (subject) and one [Y] (object) slot, in either order."""

    model_config = ConfigDict(frozen=True)
    text: str

    @field_validator("text")
    @classmethod
    def _valid(cls, v: str) -> str:
        return check_template(normalize_lines(v))

    @property
    def y_first(self) -> bool:
        return self.text.index(Y) < self.text.index(X)

    def fill(self, x: str, y: str | None = None) -> str:
        """Fill [X] (and [Y] when given); an unfilled [Y] stays as a slot. Slots inside the filled-in
        texts stay text."""
        before, after = self.text.split(Y, 1)
        return before.replace(X, x) + (Y if y is None else y) + after.replace(X, x)

    def split_at_y(self, x: str) -> tuple[str, str]:
        """(text before [Y], text after [Y]) with [X] filled: what scorers condition on. Split
        before filling, so a subject containing `[Y]` is only text."""
        before, after = self.text.split(Y, 1)
        return before.replace(X, x), after.replace(X, x)


class Pair(BaseModel):
    """A (subject, object) fact of a relation."""

    model_config = ConfigDict(frozen=True)
    subject: str = Field(min_length=1)
    object: str = Field(min_length=1)
    relation: str | None = None


# Where a candidate came from: manual, paraphrase, hosted, or a template extractor's registered name
# (middle, dependency, ...), so any str.
Method = str


class Candidate(BaseModel):
    """A candidate prompt with its provenance; fields not known for a method stay None."""

    relation: str | None = None
    template: str
    method: Method
    # mining
    pairs: int | None = None
    sentences: int | None = None
    examples: list[str] | None = None
    # paraphrasing
    source: str | None = None
    pivot: str | None = None
    backend: str | None = None
    score: float | None = None

    @field_validator("template")
    @classmethod
    def _valid(cls, v: str) -> str:
        return check_template(v)

    def to_json(self) -> dict:
        return self.model_dump(exclude_none=True)


class FactResult(BaseModel):
    """One fact as the model answered it: the gold object's rank and the model's top candidate."""

    subject: str
    object: str  # the gold object
    prediction: str  # the candidate ranked first
    rank: int  # 1-based rank of the gold object (ties count against it)


class Score(BaseModel):
    """How well one template (or selection) makes a model answer a relation's pairs. `method` and
    `row` name the selection it came from (`select`'s method, `run`'s report row), so scores of a
    selections file stay apart per method; `facts` has one FactResult per pair, in `ranks` order."""

    relation: str | None = None
    template: str
    model: str
    p_at_1: float
    mrr: float
    n: int
    ranks: list[int] = Field(default_factory=list, description="1-based rank of the gold object per pair")
    method: str | None = None
    row: str | None = None
    facts: list[FactResult] | None = None

    def to_json(self) -> dict:
        return self.model_dump(exclude_none=True)


class WeightedTemplate(BaseModel):
    template: str
    weight: float = 1.0


class Selection(BaseModel):
    """The prompts chosen for a relation and how they are combined."""

    relation: str | None = None
    method: Literal["manual", "top1", "rank", "optimized"]
    model: str
    templates: list[WeightedTemplate]
    facts: int | None = None  # training facts each of its templates was scored on (None: not selected)
    note: str | None = None  # why the method differs from the one asked for (e.g. too few facts to learn weights)
    row: str | None = None  # the `promptmine run` report row it was chosen for (e.g. "Mined top-1")
    # content-free subjects whose scores are subtracted (calibrated readout); None: raw log-probabilities
    calibration: list[str] | None = None

    def to_json(self) -> dict:
        return self.model_dump(exclude_none=True)
