"""Find many strings in a sentence at once (Aho-Corasick), whole-word, optionally case-blind.

Mining needs every sentence that mentions a subject and an object of the same pair. Looping over
pairs per sentence is O(pairs x sentences); one automaton over all subject and object strings
finds every mention in a single left-to-right pass whatever the number of pairs.

Matching runs on a *folded* copy of the text that has exactly the same length as the original,
so match offsets index the original sentence directly. Folding is alias-free: it only changes how
the same string is written (case, accents, dash and quote variants, non-breaking spaces), never
which entity a string names.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import Field

from promptmine.core.settings import Settings

# Variants that mean the same character in running text.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"
_QUOTES = "\u2018\u2019\u201a\u201b\u02bc\u00b4`"
_DQUOTES = "\u201c\u201d\u201e\u201f"
_SPACES = "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"


class MatchSettings(Settings):
    """How subjects and objects are found in a sentence (`promptmine mine --case-sensitive/--no-fold`)."""

    case_sensitive: bool = Field(False, description="match subjects and objects with their exact case")
    fold: bool = Field(True, description="fold accents, dash/quote variants and odd spaces when matching")


class _FoldTable(dict):
    """A `str.translate` table filled on demand: each character maps to exactly one character."""

    def __init__(self, lower: bool, fold: bool):
        super().__init__()
        self.lower = lower
        self.fold = fold

    def __missing__(self, code: int) -> int:
        ch = chr(code)
        out = ch
        if self.fold:
            if ch in _DASHES:
                out = "-"
            elif ch in _QUOTES:
                out = "'"
            elif ch in _DQUOTES:
                out = '"'
            elif ch in _SPACES:
                out = " "
            else:
                base = unicodedata.normalize("NFD", ch)[0]  # é -> e, ø stays ø
                if base.isalpha():
                    out = base
        if self.lower:
            low = out.lower()
            if len(low) == 1:  # 'İ'.lower() has two characters: keep the length fixed
                out = low
        self[code] = ord(out)
        return self[code]


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


@dataclass(frozen=True)
class Match:
    start: int
    end: int  # exclusive
    key: int  # index of the folded string in Matcher.keys


class Matcher:
    """All whole-word occurrences of many strings in a text, in one pass.

    `settings.case_sensitive=False` matches `Paris` in `PARIS`; `settings.fold=True` also folds accents,
    dashes, quotes and odd spaces. Strings that fold to the same form share a key.
    """

    def __init__(self, strings: Iterable[str], settings: MatchSettings | None = None):
        import ahocorasick

        settings = settings or MatchSettings()
        self._table = _FoldTable(lower=not settings.case_sensitive, fold=settings.fold)
        self.keys: list[str] = []
        self._key_of: dict[str, int] = {}
        self._automaton = ahocorasick.Automaton()
        self._built = False
        for s in strings:
            self.add(s)

    def fold(self, text: str) -> str:
        return text.translate(self._table)

    def add(self, string: str) -> int | None:
        """Register a string; returns its key (shared by strings that fold alike), or None for an empty one."""
        folded = self.fold(string.strip())
        if not folded:
            return None
        key = self._key_of.get(folded)
        if key is None:
            key = self._key_of[folded] = len(self.keys)
            self.keys.append(folded)
            self._automaton.add_word(folded, (key, len(folded)))
            self._built = False
        return key

    def key(self, string: str) -> int | None:
        """The key of a registered string (None if it was never added)."""
        return self._key_of.get(self.fold(string.strip()))

    def find(self, text: str) -> list[Match]:
        """Every whole-word occurrence, overlapping ones included, ordered by start."""
        if not self.keys:
            return []
        if not self._built:
            self._automaton.make_automaton()
            self._built = True
        folded = self.fold(text)
        n = len(folded)
        out: list[Match] = []
        for end_idx, (key, length) in self._automaton.iter(folded):
            start, end = end_idx - length + 1, end_idx + 1
            # Whole word: no word character glued to either edge of a word-character edge.
            if start > 0 and _is_word_char(folded[start]) and _is_word_char(folded[start - 1]):
                continue
            if end < n and _is_word_char(folded[end - 1]) and _is_word_char(folded[end]):
                continue
            out.append(Match(start, end, key))
        out.sort(key=lambda m: (m.start, m.end))
        return out
