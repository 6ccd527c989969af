"""Protected spans: the parts of a free-text prompt a paraphrase must give back byte-for-byte (what
`SpanSettings.protect`, on by default, and `--no-protect` switch on and off).

A few-shot prompt works because of a few exact strings: the `{text}` slot, `[X]`/`[Y]`, the field
cues at the start of a line (`Sentence:`, `Sentiment:`, `Q:`, `A:`), the label words of the
examples (`// Positive`) and whatever the user names. Translators damage exactly those (measured:
Bergamot turns `{text}` into `-text` and `Sentiment:` into `Feeling:`), so:

- a span at the edge of a sentence (a cue opening a line, a label or slot closing it) never goes
  through the translator: the text is cut around it and only the free text between spans is sent;
- a span inside a sentence travels as a numbered token `[n]`, which Bergamot (en<->pt) and
  Apertium (en<->es) both copy (measured; `⟦1⟧`, `{1}`, `<1>`, `§1§` are deleted by Bergamot);
- each translated sentence is checked: a token that came back altered (`[ 1 ]`) or twice is
  repaired, a lost one is re-inserted after the word that preceded it in the source, else the
  sentence candidate is dropped; both are counted;
- every assembled variant is checked again: the same protected spans, in the same order, as the
  source, else it is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import Field

from promptmine.core.errors import PromptmineError
from promptmine.core.settings import Settings

# A short capitalised label (at most 3 words) ending in a colon, at the start of a line.
CUE = re.compile(r"(?m)^[ \t]*([A-Z][\w'/-]*(?: [A-Za-z][\w'/-]*){0,2}:)(?=[ \t]|$)")
PLACEHOLDER = re.compile(r"\{[A-Za-z_]\w*\}|\{\}")
SLOT = re.compile(r"\[[XY]\]")
TOKEN = re.compile(r"\[\s*(\d+)\s*\]")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # placeholder, slot, cue, label, keep
    text: str


def find_spans(text: str, *, labels: Sequence[str] = (), keep: Sequence[str] = (),
               keep_regex: Sequence[str] = (), cues: bool = True) -> list[Span]:
    """The protected spans of `text` in order, overlaps merged (the earlier, then longer, wins).

    `labels`: the task's label words (matched as whole words, case-sensitive); `keep`: literal
    strings; `keep_regex`: regular expressions (each match kept)."""
    found: list[Span] = []

    def add(kind: str, start: int, end: int) -> None:
        if end > start:
            found.append(Span(start, end, kind, text[start:end]))

    for m in PLACEHOLDER.finditer(text):
        add("placeholder", m.start(), m.end())
    for m in SLOT.finditer(text):
        add("slot", m.start(), m.end())
    if cues:
        for m in CUE.finditer(text):
            add("cue", m.start(1), m.end(1))
    for word in dict.fromkeys(w for w in labels if w and w.strip()):
        for m in re.finditer(r"(?<!\w)" + re.escape(word.strip()) + r"(?!\w)", text):
            add("label", m.start(), m.end())
    for s in dict.fromkeys(k for k in keep if k):
        for m in re.finditer(re.escape(s), text):
            add("keep", m.start(), m.end())
    for pattern in keep_regex:
        try:
            rx = re.compile(pattern)
        except re.error as e:
            raise PromptmineError(f"keep_regex {pattern!r} is not a valid regular expression: {e}") from None
        for m in rx.finditer(text):
            add("keep", m.start(), m.end())
    found.sort(key=lambda s: (s.start, -(s.end - s.start)))
    merged: list[Span] = []
    for s in found:
        if merged and s.start < merged[-1].end:
            continue
        merged.append(s)
    return merged


# A few-shot example's label: 1-3 words closing a line after a separator (`... friends // Positive`).
_SEPARATED_LABEL = re.compile(r"(?m)\S[ \t]+(?://|\|\||\||=>|->|=)[ \t]*([A-Za-z][\w'-]*(?: [A-Za-z][\w'-]*){0,2})[ \t]*$")
# A `Cue: value` line; the value is a label when it is short and the cue names a label (or repeats).
_CUE_VALUE = re.compile(r"(?m)^[ \t]*([A-Z][\w'/-]*(?: [A-Za-z][\w'/-]*){0,2}):[ \t]*(\S[^\n]*?)[ \t]*$")
LABEL_CUES = frozenset(("label", "labels", "answer", "sentiment", "category", "class", "output", "a", "tag",
                        "topic", "emotion", "intent", "verdict", "polarity"))


def example_labels(text: str) -> list[str]:
    """The label words of a few-shot prompt's examples, found without being told: what closes an
    example line after a separator (`// Positive`, `=> Negative`), and the short values of a label
    cue (`Label: Positive`, or any cue whose values are all one or two words on two lines or more)."""
    found = [m.group(1) for m in _SEPARATED_LABEL.finditer(text)]
    values: dict[str, list[str]] = {}
    for m in _CUE_VALUE.finditer(text):
        if not PLACEHOLDER.search(m.group(2)):
            values.setdefault(m.group(1), []).append(m.group(2).rstrip(".!"))
    for cue, vals in values.items():
        short = all(len(v.split()) <= 2 and len(v) <= 30 for v in vals)
        if short and (cue.lower() in LABEL_CUES or len(vals) >= 2):
            found += vals
    return list(dict.fromkeys(v for v in found if v.strip()))


def span_texts(text: str, **options) -> list[str]:
    """The protected strings of `text` in order: what a variant must have exactly."""
    return [s.text for s in find_spans(text, **options)]


# -- masking --------------------------------------------------------------------------------------

@dataclass
class Masked:
    """`text` with every protected span replaced by a token `[n]`; `spans[n - base]` is its original."""

    text: str
    spans: list[Span]
    base: int

    def token(self, i: int) -> str:
        return f"[{self.base + i}]"

    def unmask(self, text: str) -> str:
        """Every token back to its span (tolerating `[ 1 ]`); unknown numbers are left as they are."""
        def back(m: re.Match) -> str:
            i = int(m.group(1)) - self.base
            return self.spans[i].text if 0 <= i < len(self.spans) else m.group(0)

        return TOKEN.sub(back, text)


def mask(text: str, spans: Sequence[Span]) -> Masked:
    """Replace the spans by tokens numbered past any `[n]` already in the text (so they never clash)."""
    taken = [int(m.group(1)) for m in TOKEN.finditer(text)]
    base = max(taken, default=0) + 1
    out, pos = [], 0
    for i, s in enumerate(spans):
        out.append(text[pos:s.start])
        out.append(f"[{base + i}]")
        pos = s.end
    out.append(text[pos:])
    return Masked("".join(out), list(spans), base)


# -- repairing one translated piece ---------------------------------------------------------------

def _tokens(text: str) -> list[int]:
    return [int(m.group(1)) for m in TOKEN.finditer(text)]


def repair(source: str, candidate: str) -> tuple[str | None, bool]:
    """(candidate with exactly the source's tokens, whether it had to be fixed), or (None, True)
    when a lost token cannot be placed. Altered forms (`[ 1 ]`) are normalised, repeats after the
    first and tokens the source does not have are removed, a lost token goes back after the word
    that preceded it in the source (or at the start/end when it opened/closed the source)."""
    want = _tokens(source)
    fixed = False
    if TOKEN.search(candidate) and any(m.group(0) != f"[{m.group(1)}]" for m in TOKEN.finditer(candidate)):
        candidate = TOKEN.sub(lambda m: f"[{m.group(1)}]", candidate)
        fixed = True
    seen: set[int] = set()

    def once(m: re.Match) -> str:
        nonlocal fixed
        n = int(m.group(1))
        if n in want and n not in seen:
            seen.add(n)
            return m.group(0)
        fixed = True
        return ""

    candidate = TOKEN.sub(once, candidate)
    for n in want:
        if n in seen:
            continue
        fixed = True
        tok = f"[{n}]"
        at = source.index(tok)
        before = source[:at].rstrip()
        if not before:
            candidate = tok + (" " if source[len(tok):len(tok) + 1] == " " else "") + candidate.lstrip()
        elif not source[at + len(tok):].strip():
            candidate = candidate.rstrip() + source[len(before):at] + tok
        else:
            word = re.search(r"(\w+)\W*$", before)
            hit = re.search(r"(?<!\w)" + re.escape(word.group(1)) + r"(?!\w)", candidate) if word else None
            if hit is None:
                return None, True
            candidate = candidate[:hit.end()] + " " + tok + candidate[hit.end():]
        seen.add(n)
    # keep the source's order of tokens; a swap is a change of meaning we cannot judge: drop it
    if _tokens(candidate) != want:
        return None, True
    return " ".join(candidate.split()) if fixed else candidate, fixed


# -- cutting a prompt into pieces -----------------------------------------------------------------

_EDGE_LEAD = re.compile(r"^(?:\[\d+\]|[^\w\[\]])*")
_EDGE_TRAIL = re.compile(r"(?:\[\d+\]|[^\w\[\]])*$")


def _has_letters(text: str) -> bool:
    return bool(re.search(r"[^\W\d_]", TOKEN.sub("", text)))


def protected_pieces(masked: Masked, split_units, *, examples_verbatim: bool = False) -> list[tuple[str, bool]]:
    """Pieces of the masked text in order, each (piece, translate?). Tokens at the edge of a
    sentence (with the punctuation around them, e.g. ` // [5]`) are cut off and kept; with
    `examples_verbatim`, an example line (opening with a cue, or ending in a label after a separator
    such as `//`) is kept whole.
    `split_units` is the sentence splitter of `promptmine.paraphrasing.freetext`."""
    kinds = {masked.token(i): s.kind for i, s in enumerate(masked.spans)}
    out: list[tuple[str, bool]] = []
    for line in re.split(r"(\n)", masked.text):
        # an example: a line opening with a cue (`Review: ...`) or closing with a separated label (`... // [5]`)
        first = TOKEN.match(line.strip())
        last = re.search(r"[^\w\s]\s*(\[\d+\])\s*$", line)
        example = (first is not None and kinds.get(first.group(0)) == "cue") or \
            (last is not None and kinds.get(last.group(1)) == "label")
        if not line or line == "\n" or (examples_verbatim and example):
            out.append((line, False))
            continue
        for piece, translate in split_units(line):
            if not translate or not TOKEN.search(piece):
                out.append((piece, translate and _has_letters(piece)))
                continue
            lead = _EDGE_LEAD.match(piece).group(0)
            lead = lead if TOKEN.match(piece.lstrip()) else ""  # the piece opens with a token
            rest = piece[len(lead):]
            trail = _EDGE_TRAIL.search(rest).group(0)
            trail = trail if re.search(r"\[\d+\]\s*$", rest) else ""  # ... or ends with one
            core = rest[:len(rest) - len(trail)] if trail else rest
            if lead:
                out.append((lead, False))
            if core:
                out.append((core, _has_letters(core)))
            if trail:
                out.append((trail, False))
    return out


class SpanSettings(Settings):
    """Whether spans are protected, and what to keep besides the defaults (placeholders, [X]/[Y],
    cues): label words, literal strings, regular expressions; whether few-shot example lines stay
    verbatim."""

    protect: bool = Field(True, description="give the protected spans back byte-for-byte (False: translate the "
                                            "whole text, protecting nothing)")
    labels: tuple[str, ...] = Field((), description="label words to keep (e.g. positive, negative)")
    keep: tuple[str, ...] = Field((), description="strings to keep as they are")
    keep_regex: tuple[str, ...] = Field((), description="regular expressions whose every match is kept")
    examples_verbatim: bool = Field(False, description="keep the few-shot example lines as they are; paraphrase "
                                                       "only the instruction")
    auto_labels: bool = Field(True, description="also keep the labels `example_labels` finds (`// Positive`, "
                                                "`Label: Positive`)")

    def spans(self, text: str) -> list[Span]:
        labels = list(self.labels) + (example_labels(text) if self.auto_labels else [])
        return find_spans(text, labels=labels, keep=self.keep, keep_regex=self.keep_regex)

    def texts(self, text: str) -> list[str]:
        return [s.text for s in self.spans(text)]
