"""Free-text prompts (a whole prompt, e.g. with few-shot examples): split into sentences, the sentences
round-tripped (or rewritten by a paraphraser) in batches, and N distinct variants assembled best-first
from the sentence candidates, with the protected spans (`promptmine.paraphrasing.spans`) given back
byte-for-byte.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence

from promptmine.core.errors import PromptmineError
from promptmine.core.progress import log, plural
from promptmine.core.records import normalize_text
from promptmine.core.settings import take
from promptmine.paraphrasing.roundtrip import Found, RoundTripStats, _open_cache, round_trip
from promptmine.paraphrasing.settings import ParaphraseSettings
from promptmine.paraphrasing.spans import SpanSettings, mask, protected_pieces, repair


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


def split_units(text: str) -> list[tuple[str, bool]]:
    """Pieces of `text` in order, each (piece, translate?): sentences are translated; line breaks,
    surrounding spaces and pieces without letters are kept verbatim, so the layout survives."""
    pieces: list[tuple[str, bool]] = []
    for line in re.split(r"(\n+)", text):
        if not line or line.startswith("\n"):
            if line:
                pieces.append((line, False))
            continue
        lead = line[:len(line) - len(line.lstrip())]
        trail = line[len(line.rstrip()):]
        if lead:
            pieces.append((lead, False))
        body = line.strip()
        pos = 0
        for m in _SENTENCE_END.finditer(body):
            sent = body[pos:m.start()]
            pieces.append((sent, bool(re.search(r"[^\W\d_]", sent))))
            pieces.append((m.group(), False))
            pos = m.end()
        if body[pos:]:
            pieces.append((body[pos:], bool(re.search(r"[^\W\d_]", body[pos:]))))
        if trail:
            pieces.append((trail, False))
    return pieces


def _rewrite_units(units: Sequence[str], paraphraser, n: int, stats: RoundTripStats) -> list[list[Found]]:
    """Up to `n` direct rewrites of each unit, as round_trip's ranked candidates (no pivot)."""
    stats.inputs += len(units)
    ranked = []
    for unit, hyps in zip(units, paraphraser.paraphrase(list(units), n)):
        seen, items = {normalize_text(unit)}, []
        for order, h in enumerate(hyps):
            stats.round_trips += 1
            cand = normalize_text(h.text)
            if cand and cand not in seen:
                seen.add(cand)
                items.append(Found(cand, h.logprob, [], first=order))
        if items and all(f.score is not None for f in items):
            items.sort(key=lambda f: (-f.score, f.first))
        stats.kept += len(items)
        ranked.append(items)
    return ranked


def paraphrase_text(text: str, translator, pivots: list[str], settings: ParaphraseSettings | None = None,
                    spans: SpanSettings | None = None, *, cache="default", stats: RoundTripStats | None = None,
                    **fields) -> list[dict]:
    """The original prompt (pivot None), then up to `settings.permutations` distinct paraphrases, best
    first, as output records {"source", "template", "pivot", "backend", "score"} (score: mean round-trip
    log-prob per sentence). `translator` may also be a paraphraser (e.g. the hosted one): each sentence
    is then rewritten directly, `settings.beams` rewrites each, and `pivots` is ignored. The fields of
    `settings` and `spans` may also be given as keywords (`permutations=3, labels=[...]`).

    With `spans.protect` (default), the spans of `promptmine.paraphrasing.spans` come back byte-for-byte:
    `{placeholders}`, `[X]`/`[Y]`, cues opening a line (`Sentence:`), the `labels` words, the `keep`
    strings and `keep_regex` matches; sentence candidates that damage one are repaired or dropped
    (counted in `stats.span_repaired`/`span_dropped`). `examples_verbatim` keeps the few-shot example
    lines (a line opening with a cue, or ending in a label after a separator like `//`) as they are and
    paraphrases only the instruction."""
    settings, opts = take(fields, (ParaphraseSettings, settings), (SpanSettings, spans), who="paraphrase_text")
    stats = stats if stats is not None else RoundTripStats()
    beams, permutations = settings.beams, settings.permutations
    if opts.protect:
        masked = mask(text, opts.spans(text))
        pieces = protected_pieces(masked, split_units, examples_verbatim=opts.examples_verbatim)
        unmask = masked.unmask
        must_have = opts.texts(text)
    else:
        pieces, unmask, must_have = split_units(text), (lambda t: t), None
    units = list(dict.fromkeys(p for p, tr in pieces if tr))  # a repeated sentence changes the same way
    if not units:
        raise PromptmineError("nothing to translate in the prompt (everything is protected or verbatim)")
    if hasattr(translator, "paraphrase") and not hasattr(translator, "translate"):
        ranked = _rewrite_units(units, translator, beams, stats)  # a paraphraser (e.g. hosted), no pivot
    else:
        ranked = round_trip(units, translator, list(pivots), settings, cache=_open_cache(cache), stats=stats,
                            desc="sentences")
    if opts.protect:  # each sentence candidate keeps its tokens, or is repaired, or dropped
        for unit, items in zip(units, ranked):
            kept, seen = [], {normalize_text(unit)}
            for f in items:
                fixed, was_fixed = repair(unit, f.text)
                if fixed is None:
                    stats.span_dropped += 1
                    continue
                stats.span_repaired += was_fixed
                if normalize_text(fixed) not in seen:
                    seen.add(normalize_text(fixed))
                    f.text = fixed
                    kept.append(f)
            items[:] = kept
    scored = all(f.score is not None for items in ranked for f in items)
    # options per unit, best first: (value, text, pivots); the unit itself comes last, so variants
    # can also differ in which sentences they leave alone (greedy backends give one candidate each)
    options = []
    for unit, items in zip(units, ranked):
        opts_ = [((f.score if scored else -r), f.text, f.pivots) for r, f in enumerate(items)]
        worst = min((o[0] for o in opts_), default=0.0)
        options.append(opts_ + [(worst - 1.0 if scored else -len(opts_) - 1.0, unit, [])])

    def render(idx: tuple[int, ...]) -> str:
        chosen = {u: options[k][idx[k]][1] for k, u in enumerate(units)}
        return unmask("".join(chosen[p] if tr else p for p, tr in pieces))

    def value(idx: tuple[int, ...]) -> float:
        return sum(options[k][i][0] for k, i in enumerate(idx))

    original = normalize_text(text)
    start = (0,) * len(units)
    heap = [(-value(start), start)]
    seen = {start}
    emitted: set[str] = set()
    out: list[dict] = [{"source": text, "template": text, "pivot": None, "backend": translator.name, "score": None}]
    budget = max(100, permutations * 50)  # best-first over combinations of sentence candidates
    while heap and len(out) <= permutations and budget > 0:
        budget -= 1
        neg, idx = heapq.heappop(heap)
        variant = render(idx)
        key = normalize_text(variant)
        if key != original and key not in emitted:
            emitted.add(key)
            if must_have is not None and opts.texts(variant) != must_have:
                stats.span_dropped += 1  # a translated sentence brought in a protected string of its own
            else:
                used = list(dict.fromkeys(p for k, i in enumerate(idx) for p in options[k][i][2]))
                out.append({"source": text, "template": variant, "pivot": ",".join(used) or None,
                            "backend": translator.name, "score": (-neg / len(units)) if scored else None})
        for k in range(len(units)):
            if idx[k] + 1 < len(options[k]):
                nxt = idx[:k] + (idx[k] + 1,) + idx[k + 1:]
                if nxt not in seen:
                    seen.add(nxt)
                    heapq.heappush(heap, (-value(nxt), nxt))
    if len(out) <= permutations:
        found = f"only {plural(len(out) - 1, 'distinct variant')}" if len(out) > 1 else "no variants"
        log(f"paraphrase: {found} of the prompt (asked for {permutations})")
    if stats.span_repaired or stats.span_dropped:
        log(f"paraphrase: protected spans: {plural(stats.span_repaired, 'sentence candidate')} repaired, "
            f"{stats.span_dropped:,} dropped")
    return out
