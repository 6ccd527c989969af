"""Stream a corpus sentence by sentence without loading it: .txt/.gz lines, JSONL `text`, folders.

Every sentence carries a global position `(file index, line, part)`, so a corpus can be cut into
shards (by position) and results merged in corpus order whatever order the shards finish in.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from promptmine.core.errors import InputError
from promptmine.core.io import OnError, iter_lines, parse_json_line

TEXT_SUFFIXES = (".txt", ".txt.gz", ".jsonl", ".jsonl.gz", ".gz")

# Lines longer than this are treated as paragraphs and split into sentences.
LONG_LINE = 300

# A sentence ends at . ! or ? (optionally closing quotes/brackets) followed by space and a capital,
# digit or opening quote.
_BOUNDARY = re.compile(r"[.!?][\"')\]\u201d\u2019]*(\s+)(?=[\"'(\[\u201c\u2018]?[A-Z0-9])")
# Words whose final period does not end a sentence.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st mt ft jr sr gen col lt sgt capt rev hon gov sen rep pres no nos vol vols "
    "fig figs ed eds co corp inc ltd bros dept univ est approx ca cf vs etc al e.g i.e jan feb mar "
    "apr jun jul aug sep sept oct nov dec u.s u.k u.n a.d b.c".split()
)


class Sentence(NamedTuple):
    pos: tuple[int, int, int]  # (file index, line number, part of the line)
    text: str


def split_sentences(text: str) -> list[str]:
    """Cheap rule-based sentence split for long lines (no model): keeps abbreviations,
    initials ("J. R. R. Tolkien") and decimals together."""
    out: list[str] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        end = m.start(1)
        before = text[start:end].rstrip("\"')]\u201d\u2019")
        last = before.rsplit(None, 1)[-1] if before.split() else ""
        word = last.rstrip(".!?").lower()
        if last.endswith(".") and (word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())):
            continue
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        out.append(tail)
    return out


def corpus_files(paths: list[str | Path]) -> list[Path]:
    """Expand folders (recursively, sorted) into the corpus files they hold."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(TEXT_SUFFIXES)
                           and not f.name.startswith("."))
            if not found:
                raise InputError(f"no corpus files ({', '.join(TEXT_SUFFIXES)}) in folder", p)
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            raise InputError("no such corpus file or folder", p)
    return files


def is_jsonl(path: Path) -> bool:
    return path.name.endswith((".jsonl", ".jsonl.gz", ".json"))


def line_text(line: str, jsonl: bool, path: str | Path, lineno: int, text_field: str) -> str | None:
    """The text a corpus line carries: the line itself, or a JSONL line's `text_field`
    (`MiningSettings.text_field`; None for a blank JSONL line); InputError names the line when it is
    unusable."""
    if not jsonl:
        return line
    obj = parse_json_line(line, path, lineno)
    if obj is None:
        return None
    text = obj.get(text_field)
    if not isinstance(text, str):
        raise InputError(f"missing string field `{text_field}`" if text is None else
                         f"field `{text_field}` must be a string, got {type(text).__name__}", path, lineno)
    return text


# A "sentence" longer than this after splitting (a line with no sentence end: a table dump, base64)
# is skipped with its file:line: spaCy refuses texts over its max_length (E088) and would spend
# minutes and gigabytes on one far below it.
MAX_SENTENCE = 10_000


def line_sentences(file_index: int, lineno: int, text: str, long_line: int = LONG_LINE, *,
                   path: str | Path | None = None, on_error: OnError = None) -> list[Sentence]:
    """A line's sentences with their corpus positions; long lines are split into sentences, and a
    piece still over MAX_SENTENCE characters is skipped and reported as `path:lineno` (to `on_error`,
    else as a warning): it never stops the run."""
    text = text.strip()
    if not text:
        return []
    parts = split_sentences(text) if len(text) > long_line else [text]
    out = []
    for part, sentence in enumerate(parts):
        if len(sentence) > MAX_SENTENCE:
            err = InputError(f"a sentence of {len(sentence):,} characters (no sentence end within "
                             f"{MAX_SENTENCE:,})", path, lineno)
            if on_error is not None:
                on_error(err)
            else:
                from promptmine.core.progress import warn

                warn(f"{err}; skipped")
            continue
        out.append(Sentence((file_index, lineno, part), sentence))
    return out


def _iter_texts(path: Path, on_error: OnError, text_field: str) -> Iterator[tuple[int, str]]:
    jsonl = is_jsonl(path)
    for lineno, line in iter_lines(path, on_error):
        try:
            text = line_text(line, jsonl, path, lineno, text_field)
        except InputError as err:
            if on_error is None:
                raise
            on_error(err)
            continue
        if text is not None:
            yield lineno, text


def iter_corpus(paths: list[str | Path], on_error: OnError = None, *, text_field: str,
                long_line: int = LONG_LINE) -> Iterator[Sentence]:
    """Yield the corpus's sentences in order; bad lines go to on_error (or raise when None);
    JSONL files carry their text in `text_field` (`MiningSettings.text_field`)."""
    for file_index, path in enumerate(corpus_files(paths)):
        try:
            for lineno, text in _iter_texts(path, on_error, text_field):
                yield from line_sentences(file_index, lineno, text, long_line, path=path, on_error=on_error)
        except (gzip.BadGzipFile, EOFError, zlib.error) as e:
            err = InputError(f"corrupt or truncated gzip file ({e})", path)
            if on_error is None:
                raise err from None
            on_error(err)
