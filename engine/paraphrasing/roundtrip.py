"""The round trip (LPAQA section 3.2): each input into a pivot language with B candidates (beam search), each
of those back with B candidates, ranked by forward plus backward length-normalised log-probability, or,
for backends without scores, by how often a candidate recurs across pivots and slot renderings.

Translations are cached on disk by the translator's identity and the inputs (`translate_cached`), so a
re-run sends only what is missing. Slots travel as `promptmine.paraphrasing.slots` renders them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from promptmine.core.errors import PromptmineError
from promptmine.core.progress import progress
from promptmine.core.records import normalize_text
from promptmine.filters import FUNCTION_WORDS
from promptmine.paraphrasing.routes import check_pivots
from promptmine.paraphrasing.settings import ParaphraseSettings
from promptmine.paraphrasing.slots import (BARE_POSSESSIVE, DEFAULT_STYLES, LEFTOVER, PLACEHOLDER_STYLES, render_slots,
                                          restore_slots, slot_counts)

# Sentences a template also travels in (`round_trip(frames=)`), cut off again on the way back.
FRAMES = ("We know that ", "In fact, ")
CHUNK = 128  # inputs per translator call: the progress bar moves per chunk, the translator batches inside


# -- translations, cached on disk ------------------------------------------------------------------
def _open_cache(cache):
    """The translation cache for `cache` ("default"/True, a path, a DiskCache, or None/False for none)."""
    from promptmine.core.cache import open_cache

    return open_cache(cache, "translations")


def translate_cached(translator, texts: Sequence[str], src: str, tgt: str, n: int, cache=None, bar=None) -> dict:
    """{text: [Hypothesis, ...]} for the distinct texts; results cached by translator identity + inputs
    (`cache` as for `_open_cache`; None: no cache)."""
    from promptmine.core.cache import cache_key
    from promptmine.models.translate import Hypothesis

    cache = _open_cache(cache)
    unique = list(dict.fromkeys(texts))
    out: dict = {}
    keys = {t: cache_key(translator.identity, src, tgt, n, t) for t in unique}
    hits = cache.get_many(list(keys.values()))
    for t in unique:
        if keys[t] in hits:
            out[t] = [Hypothesis(h, lp) for h, lp in hits[keys[t]]]
    if bar is not None:
        bar.update(len(out))
    missing = [t for t in unique if t not in out]
    for start in range(0, len(missing), CHUNK):
        chunk = missing[start:start + CHUNK]
        results = translator.translate(chunk, src, tgt, n)
        for t, hyps in zip(chunk, results):
            out[t] = list(hyps)
        # an empty result is a failure the backend reported (e.g. a hosted request): retry it next run
        cache.set_many({keys[t]: [[h.text, h.logprob] for h in out[t]] for t in chunk if out[t]})
        if bar is not None:
            bar.update(len(chunk))
    return out


# -- the round trip --------------------------------------------------------------------------------
_FINAL_STOP = re.compile(r"\s*[.!?]$")


def _toggle_stop(text: str) -> str:
    """The sentence without its final full stop, or with one when it has none."""
    text = text.rstrip()
    return _FINAL_STOP.sub("", text) if _FINAL_STOP.search(text) else text + "."


def _lower_first(text: str) -> str:
    """`The capital of [X]` -> `the capital of [X]`, to follow a frame; slots and names stay."""
    first = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if first.istitle() and first.lower() in FUNCTION_WORDS else text


def _unframe(text: str, frame: str, like: str) -> str | None:
    """The translation without the frame it was sent in, starting as `like` does; None when the
    frame did not come back word for word."""
    if not text.lower().startswith(frame.lower()):
        return None
    rest = text[len(frame):].lstrip()
    if rest[:1].islower() and not like[:1].islower():
        rest = rest[0].upper() + rest[1:]
    return normalize_text(rest) if rest else None


def _stop_like(text: str, like: str) -> str:
    """`text` ending as `like` does: with its final punctuation mark, or without one."""
    end = _FINAL_STOP.search(like.rstrip())
    return _FINAL_STOP.sub("", text.rstrip()) + (end.group().strip() if end else "")


@dataclass
class Found:
    """One distinct round-trip result for an input."""

    text: str
    score: float | None
    pivots: list[str]
    routes: set = field(default_factory=set)  # (pivot, style, input form) that produced it
    paths: int = 0
    first: int = 0


@dataclass
class RoundTripStats:
    inputs: int = 0
    round_trips: int = 0  # back-translations looked at (B*B per input, pivot and style)
    dropped: int = 0  # lost or duplicated a slot
    kept: int = 0  # distinct candidates other than the original
    junk: int = 0  # templates: results without a content word or with a new filler (`[X] The capital`), dropped
    unframed: int = 0  # results of a framed input whose frame did not come back, dropped
    # templates: (input index, candidate, reason) dropped by `filters.hygiene` (tautology, role swap, ...)
    rejected: list = field(default_factory=list)
    span_repaired: int = 0  # free text: sentence candidates whose protected spans were put back
    span_dropped: int = 0  # ... and candidates or variants dropped for a damaged protected span


def round_trip(units: Sequence[str], translator, pivots: Sequence[str], settings: ParaphraseSettings | None = None, *,
               styles: Sequence[str] | None = None, cache=None, stats: RoundTripStats | None = None,
               desc: str = "round trips", key=normalize_text, stop_variants: bool = False,
               frames: Sequence[str] = ()) -> list[list[Found]]:
    """Ranked distinct round-trip candidates for each unit (the unit itself left out), through `pivots`
    from and back to `settings.src` with `settings.beams` candidates a step; slots travel in `styles`
    (default: `settings.placeholders`, else the translator's own renderings).

    Candidates are the same when `key` says so (templates: `records.template_key`). With
    `stop_variants`, each unit also travels with its final full stop toggled (a greedy translator
    often renders `... [Y]` and `... [Y].` differently); those results get the unit's own ending back.
    Each of `frames` (e.g. `We know that `) is another form: the unit inside that sentence, whose
    translation is kept when the frame comes back and is cut off (`[X]'s capital is [Y].` from `We
    know that the capital of [X] is [Y].`); when it does not, the result is dropped (`stats.unframed`)."""
    settings = settings or ParaphraseSettings()
    src, beams = settings.src, settings.beams
    styles = list(styles or settings.placeholders or getattr(translator, "placeholder_styles", DEFAULT_STYLES))
    for s in styles:
        if s not in PLACEHOLDER_STYLES:
            raise PromptmineError(f"unknown placeholder style {s!r}; choose from {', '.join(PLACEHOLDER_STYLES)}")
    stats = stats if stats is not None else RoundTripStats()
    stats.inputs += len(units)
    check_pivots(translator, src, pivots)
    originals = [key(normalize_text(u)) for u in units]
    want = [slot_counts(u) for u in units]
    protected: dict[tuple[int, str, str], str] = {}  # (unit, style, form: "", "stop" or a frame) -> text sent
    for i, u in enumerate(units):
        forms = [("", u)] + ([("stop", _toggle_stop(u))] if stop_variants else [])
        forms += [(frame, frame + _lower_first(u)) for frame in frames]
        for toggled, form in forms:
            # text without slots travels as it is ("none"); with slots, in every style that fits it
            rendered = False
            for s in (styles if want[i] != (0, 0) else ["none"]):
                p = render_slots(form, s)
                if p is not None:
                    protected[(i, s, toggled)] = p
                    rendered = True
            if not rendered:
                protected[(i, "brackets", toggled)] = form  # every rendering already occurs in the text itself
    found: list[dict[str, Found]] = [{} for _ in units]
    counter = 0
    bar = progress(desc=desc, total=len(set(protected.values())) * len(pivots), unit="text")
    try:
        for pivot in pivots:
            fwd = translate_cached(translator, list(protected.values()), src, pivot, beams, cache, bar)
            back_inputs = list(dict.fromkeys(h.text for hyps in fwd.values() for h in hyps))
            bar.total += len(back_inputs)
            bar.refresh()
            back = translate_cached(translator, back_inputs, pivot, src, beams, cache, bar)
            for (i, style, toggled), p in protected.items():
                for fh in fwd[p]:
                    for bh in back[fh.text]:
                        stats.round_trips += 1
                        cand = normalize_text(BARE_POSSESSIVE.sub(r"\1's", restore_slots(bh.text, style)))
                        if slot_counts(cand) != want[i] or not cand.strip() or (
                                style != "none" and LEFTOVER.search(cand) and not LEFTOVER.search(units[i])):
                            stats.dropped += 1
                            continue
                        if toggled == "stop":
                            cand = normalize_text(_stop_like(cand, units[i]))
                        elif toggled:
                            cand = _unframe(cand, toggled, units[i])
                            if cand is None:
                                stats.unframed += 1
                                continue
                        k = key(cand)
                        if k == originals[i]:
                            continue
                        score = None if fh.logprob is None or bh.logprob is None else fh.logprob + bh.logprob
                        f = found[i].get(k)
                        if f is None:
                            counter += 1
                            f = found[i][k] = Found(cand, score, [pivot], first=counter)
                        elif score is not None and (f.score is None or score > f.score):
                            f.score = score
                            f.pivots = [pivot] + [p_ for p_ in f.pivots if p_ != pivot]
                        elif pivot not in f.pivots:
                            f.pivots.append(pivot)
                        f.routes.add((pivot, style, toggled))
                        f.paths += 1
    finally:
        bar.close()
    ranked = []
    for per_input in found:
        items = list(per_input.values())
        if items and all(f.score is not None for f in items):
            items.sort(key=lambda f: (-f.score, f.first))
        else:  # no scores: what several pivots (and renderings) agree on first
            items.sort(key=lambda f: (-len(f.routes), -f.paths, f.first))
        stats.kept += len(items)
        ranked.append(items)
    return ranked
