"""The per-batch work of mining: find pair mentions, parse, extract templates, count them.

`mine_batch` is a pure function of one batch that returns mergeable `MineCounts`, so batches can
run in this process (`promptmine.mining`), in other processes or on Ray (`promptmine.mining.sharded`),
or be resumed, and `MineCounts.merge` gives the same result in any order.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from promptmine.core.records import Pair
from promptmine.mining import extractors
from promptmine.mining.corpus import Sentence
from promptmine.mining.match import Matcher, MatchSettings
from promptmine.mining.settings import MiningSettings

EXAMPLES = 3


class PairIndex:
    """All pairs of all relations behind one matcher: which subject key goes with which object key."""

    def __init__(self, pairs: Sequence[Pair], settings: MatchSettings | None = None):
        self.pairs = list(pairs)
        self.matcher = Matcher((), settings)
        # subject key -> [(object key, pair index)]
        self.by_subject: dict[int, list[tuple[int, int]]] = defaultdict(list)
        seen: set[tuple[str, int, int]] = set()
        for i, p in enumerate(self.pairs):
            if not p.relation:
                raise ValueError(f"pair {i} ({p.subject!r}, {p.object!r}) has no relation")
            sk, ok = self.matcher.add(p.subject), self.matcher.add(p.object)
            if sk is None or ok is None or sk == ok or (p.relation, sk, ok) in seen:
                continue  # empty, self-referential or duplicate pair: nothing to learn from it
            seen.add((p.relation, sk, ok))
            self.by_subject[sk].append((ok, i))
        self.by_subject = dict(self.by_subject)

    @property
    def relations(self) -> list[str]:
        return sorted({p.relation for p in self.pairs})

    def hits(self, text: str) -> list[tuple[int, tuple[int, int], tuple[int, int]]]:
        """(pair index, x char span, y char span) for each pair mentioned in the text; when a
        string occurs several times, the closest non-overlapping x/y occurrences are used."""
        found = self.matcher.find(text)
        if len(found) < 2:
            return []
        spans: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for m in found:
            spans[m.key].append((m.start, m.end))
        out = []
        for sk in spans:
            for ok, pair_index in self.by_subject.get(sk, ()):
                if ok not in spans:
                    continue
                best = None
                for xs in spans[sk]:
                    for ys in spans[ok]:
                        if xs[0] < ys[1] and ys[0] < xs[1]:
                            continue  # overlapping mentions
                        gap = ys[0] - xs[1] if xs[0] < ys[0] else xs[0] - ys[1]
                        if best is None or gap < best[0]:
                            best = (gap, xs, ys)
                if best is not None:
                    out.append((pair_index, best[1], best[2]))
        out.sort()
        return out


@dataclass
class TemplateCount:
    pairs: set[int] = field(default_factory=set)  # pair indices
    sentences: int = 0
    examples: list[tuple[tuple, str]] = field(default_factory=list)  # (corpus position, sentence)

    def add_example(self, pos: tuple, text: str) -> None:
        if len(self.examples) < EXAMPLES or pos < self.examples[-1][0]:
            self.examples.append((pos, text))
            self.examples.sort()
            del self.examples[EXAMPLES:]

    def copy(self) -> TemplateCount:
        return TemplateCount(set(self.pairs), self.sentences, list(self.examples))

    def absorb(self, other: TemplateCount) -> None:
        """Add another count of the same template: pairs united, sentences summed, earliest examples kept."""
        self.pairs |= other.pairs
        self.sentences += other.sentences
        for pos, text in other.examples:
            self.add_example(pos, text)


@dataclass
class MineCounts:
    """What a batch found; `merge` is associative and order-independent (examples kept by corpus position)."""

    templates: dict[tuple[str, str, str], TemplateCount] = field(default_factory=dict)  # (relation, method, template)
    read: int = 0
    matched: int = 0
    parsed: int = 0
    mentions: int = 0  # (sentence, pair) co-occurrences
    parse_seconds: float = 0.0  # time inside spaCy, to compare the whole run against the parser alone

    def merge(self, other: MineCounts) -> MineCounts:
        for key, c in other.templates.items():
            mine = self.templates.get(key)
            if mine is None:
                self.templates[key] = c.copy()
            else:
                mine.absorb(c)
        self.read += other.read
        self.matched += other.matched
        self.parsed += other.parsed
        self.mentions += other.mentions
        self.parse_seconds += other.parse_seconds
        return self


def mine_batch(sentences: Sequence[Sentence], index: PairIndex, nlp,
               settings: MiningSettings | None = None) -> MineCounts:
    """Match, parse and extract templates for one batch of sentences (`settings.methods`: extractor
    names; `batch_size`, `max_words`). Pure: depends only on its inputs."""
    from promptmine.models.parser import parse

    settings = settings or MiningSettings()
    chosen = extractors.chosen(settings.methods)
    max_words = settings.max_words
    counts = MineCounts(read=len(sentences))
    matched = [(s, h) for s in sentences if (h := index.hits(s.text))]
    counts.matched = len(matched)
    if not matched:
        return counts
    started = time.perf_counter()
    docs = list(parse(nlp, (s.text for s, _ in matched), batch_size=settings.batch_size))
    counts.parse_seconds = time.perf_counter() - started
    for (sentence, hits), doc in zip(matched, docs):
        counts.parsed += 1
        seen_here: set[tuple[str, str]] = set()  # (relation, template): a sentence counts once per template
        for pair_index, xchars, ychars in hits:
            found = extractors.templates(doc, xchars, ychars, chosen)
            if found is None:
                continue
            counts.mentions += 1
            relation = index.pairs[pair_index].relation
            for method, ex in found:
                if not extractors.keep(ex, max_words):
                    continue
                key = (relation, method, ex.template)
                c = counts.templates.get(key)
                if c is None:
                    c = counts.templates[key] = TemplateCount()
                c.pairs.add(pair_index)
                if (relation, ex.template) not in seen_here:
                    seen_here.add((relation, ex.template))
                    c.sentences += 1
                    c.add_example(sentence.pos, sentence.text)
    return counts
