"""Paraphrasing prompts by back-translation (LPAQA section 3.2), or directly with a paraphraser.

Round trip: each prompt goes into a pivot language with B candidates (beam search), each of those back
with B candidates; the B*B results are ranked by forward plus backward length-normalised log-probability
and the top T across all pivots are kept. Backends without scores rank by how often a candidate recurs
across pivots (and slot renderings), keeping first-seen order on ties.

Slots survive the trip: `[X]`/`[Y]` are replaced by a rendering the translator leaves alone (names, or the
brackets themselves), restored afterwards, and any candidate without exactly the source's slots is dropped
and counted. Candidates are normalised (`promptmine.core.records.normalize_text`) and de-duplicated; the original
prompt comes first.

Long free-text prompts are split into sentences, the sentences round-tripped in batches, and N distinct
variants assembled from the best sentence candidates (`--permutations N`).

`paraphrase(...)` (exported as `promptmine.paraphrase`) is the entry point: it builds the backend
from its name and options and paraphrases templates and free-text prompts.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from promptmine.core.errors import PromptmineError
from promptmine.core.progress import log, plural, progress
from promptmine.core.records import X, Y, Candidate, check_template, normalize_text, template_key
from promptmine.filters import FUNCTION_WORDS, hygiene, is_content_word, is_filler, words

# How slots travel through a translator: a (subject, object) rendering, restored afterwards.
# `names` reads as natural text to NMT models; `rare` are invented words that subword models copy;
# `brackets` sends `[X]`/`[Y]` as they are. A translator's `placeholder_styles` says which to use.
PLACEHOLDER_STYLES: dict[str, tuple[str, str]] = {
    "names": ("Alice", "Bob"),
    "rare": ("Zanko", "Yurba"),
    "brackets": (X, Y),
    # more names: each is another input sentence, so a greedy translator gives another candidate
    "names2": ("Tom", "Anna"),
    "names3": ("John", "Mary"),
    "surnames": ("Smith", "Jones"),
}
# Renderings `grow_paraphrases` adds to a translator's own: names NMT and rule-based systems keep.
EXTRA_STYLES = ("names", "names2", "names3", "surnames")
# Sentences a template also travels in (`round_trip(frames=)`), cut off again on the way back.
FRAMES = ("We know that ", "In fact, ")
DEFAULT_STYLES = ("brackets",)  # for translators that say nothing (e.g. hosted ones told to keep slots)
CHUNK = 128  # inputs per translator call: the progress bar moves per chunk, the translator batches inside


def _slot_pattern(word: str) -> re.Pattern:
    if word in (X, Y):  # tolerate `[ X ]`, `[x]`
        return re.compile(r"\[\s*" + word[1] + r"\s*\]", re.IGNORECASE)
    return re.compile(r"\b" + re.escape(word) + r"\b", re.IGNORECASE)


def protect(text: str, style: str) -> str | None:
    """The text with its slots rendered in `style`, or None if that rendering already occurs in it."""
    if style == "none":
        return text
    sx, sy = PLACEHOLDER_STYLES[style]
    if style != "brackets" and (_slot_pattern(sx).search(text) or _slot_pattern(sy).search(text)):
        return None
    return text.replace(X, sx).replace(Y, sy)


def restore(text: str, style: str) -> str:
    """Turn a translated rendering back into `[X]`/`[Y]`."""
    if style == "none":
        return text
    sx, sy = PLACEHOLDER_STYLES[style]
    return _slot_pattern(sy).sub(Y, _slot_pattern(sx).sub(X, text))


# Any slot rendering left in a translation (`[X] is [Y] by Smith`): a slot the translator duplicated.
_LEFTOVER = re.compile(r"\b(?:" + "|".join(re.escape(w) for pair in PLACEHOLDER_STYLES.values() for w in pair
                                            if w not in (X, Y)) + r")\b", re.IGNORECASE)


# `Jones' label` restored as `[Y]' label`: the slot's own possessive is `'s`.
_BARE_POSSESSIVE = re.compile(r"(?<!')(\[[XY]\])'(?![a-z])")


def slot_counts(text: str) -> tuple[int, int]:
    return text.count(X), text.count(Y)


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


def open_routes(routes: Sequence[tuple[object, Sequence[str]]], options: dict | None = None, *,
                who: str = "paraphrase") -> list[tuple[object, list[str]]]:
    """[(translator, pivots)] for the (backend name or translator, pivots) routes that work here, names
    built with `options[name]`; an unavailable backend or pivot is skipped with a note naming `who`."""
    from promptmine.models.translate import TRANSLATORS

    usable = []
    for backend, pivots in routes:
        try:
            translator = backend if not isinstance(backend, str) else \
                TRANSLATORS.create(backend, dict((options or {}).get(backend) or {}))
            check_pivots(translator, "en", list(pivots))
        except (PromptmineError, OSError, RuntimeError, ValueError, ImportError) as e:
            log(f"{who}: {getattr(backend, 'name', backend)} ({','.join(pivots)}) unavailable, skipped: {e}")
            continue
        usable.append((translator, list(pivots)))
    return usable


def check_pivots(translator, src: str, pivots: Sequence[str]) -> None:
    """Fail before any work when a direction is missing, with the backend's own how-to if it has one."""
    if not pivots:
        raise PromptmineError("no pivot languages given")
    for pivot in pivots:
        if pivot == src:
            raise PromptmineError(f"pivot {pivot!r} is the source language")
        for a, b in ((src, pivot), (pivot, src)):
            if translator.supports(a, b):
                continue
            if hasattr(translator, "require"):
                translator.require(a, b)  # raises ModelNotAvailable naming the model and how to add it
            raise PromptmineError(f"the {translator.name} backend cannot translate {a}->{b}")


# -- the round trip --------------------------------------------------------------------------------
_FINAL_STOP = re.compile(r"\s*[.!?]$")


def _toggle_stop(text: str) -> str:
    """The sentence without its final full stop, or with one when it has none."""
    text = text.rstrip()
    return _FINAL_STOP.sub("", text) if _FINAL_STOP.search(text) else text + "."


def _junk(text: str, source: str) -> bool:
    """A template the round trip broke: no content word left where the source had one, or a filler the source
    does not have: a capitalised word inside the sentence (`[X] The capital is [Y].`), a number."""
    ws = words(text)
    if not any(is_content_word(w) for w, _ in ws):
        src = words(source)
        # a source without one (`[X] is a [Y] .`) may get `[X] is one [Y].`, but nothing shorter
        if any(is_content_word(w) for w, _ in src) or len(ws) < len(src):
            return True
    own = {w for w, _ in words(source)}
    return any(is_filler(w, initial) and w not in own for w, initial in ws)


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


def round_trip(units: Sequence[str], translator, pivots: Sequence[str], *, beams: int = 7, src: str = "en",
               styles: Sequence[str] | None = None, cache=None, stats: RoundTripStats | None = None,
               desc: str = "round trips", key=normalize_text, stop_variants: bool = False,
               frames: Sequence[str] = ()) -> list[list[Found]]:
    """Ranked distinct round-trip candidates for each unit (the unit itself left out).

    Candidates are the same when `key` says so (templates: `records.template_key`). With
    `stop_variants`, each unit also travels with its final full stop toggled (a greedy translator
    often renders `... [Y]` and `... [Y].` differently); those results get the unit's own ending back.
    Each of `frames` (e.g. `We know that `) is another form: the unit inside that sentence, whose
    translation is kept when the frame comes back and is cut off (`[X]'s capital is [Y].` from `We
    know that the capital of [X] is [Y].`); when it does not, the result is dropped (`stats.unframed`)."""
    styles = list(styles or getattr(translator, "placeholder_styles", DEFAULT_STYLES))
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
                p = protect(form, s)
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
                        cand = normalize_text(_BARE_POSSESSIVE.sub(r"\1's", restore(bh.text, style)))
                        if slot_counts(cand) != want[i] or not cand.strip() or (
                                style != "none" and _LEFTOVER.search(cand) and not _LEFTOVER.search(units[i])):
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


def paraphrase_templates(templates: list[str], translator, pivots: list[str], *, beams: int = 7, top: int = 40,
                         src: str = "en", styles: Sequence[str] | None = None, cache="default",
                         relations: Sequence[str | None] | None = None,
                         stats: RoundTripStats | None = None) -> list[list[Candidate]]:
    """For each template: the original (pivot None) first, then up to `top` paraphrases, best first:
    one generation of `grow_paraphrases` with one translator, its pivots and its own slot renderings
    (LPAQA's round trip; `grow_paraphrases` itself grows a pool further).

    `cache` is "default" (the on-disk cache), a promptmine.core.cache.DiskCache, or None. `stats`, if given,
    is filled with the counts (round trips, dropped for a lost slot, kept)."""
    return grow_paraphrases(templates, [(translator, pivots)], generations=1, beams=beams, top=top, src=src,
                            styles=styles, extra_styles=(), stop_variants=False, frames=(), cache=cache,
                            relations=relations, stats=stats)


@dataclass
class PoolEntry:
    """A paraphrase in a growing pool: the routes that reached it and how strongly they agree."""

    text: str
    generation: int
    chains: list[str]  # pivot chains that produced it, e.g. "pt" (generation 1), "pt>es" (generation 2)
    backends: list[str]  # the translators along those chains, e.g. "bergamot>apertium"
    agreement: int  # (route, pivot, rendering, parent) combinations that produced it
    order: tuple  # first seen: (rank in its round trip, parent's rank, route)
    score: float | None


def grow_paraphrases(templates: Sequence[str], routes: Sequence[tuple[object, Sequence[str]]], *,
                     generations: int = 2, breadth: int = 10, beams: int = 7, top: int = 40, src: str = "en",
                     styles: Sequence[str] | None = None, extra_styles: Sequence[str] = EXTRA_STYLES,
                     stop_variants: bool = True, frames: Sequence[str] = FRAMES, cache="default",
                     relations: Sequence[str | None] | None = None,
                     stats: RoundTripStats | None = None) -> list[list[Candidate]]:
    """A pool of paraphrases per template from every route (a translator and its pivots), grown by
    generations: generation 1 round-trips each template through every route; generation g+1
    round-trips the best `breadth` paraphrases of generation g through every route again, which
    chains pivots (en>pt>en>es>en, en>es>en>pt>en) and lets a greedy translator move further from
    the original than one round trip does.

    Each generation is ranked on its own (by round-trip score when every candidate has one, else by
    agreement: how many routes, pivots, slot renderings and parents produced it; then first seen)
    and de-duplicated against the original and all earlier generations under
    `records.template_key`. Slots travel in `styles` (default: the translator's own) plus
    `extra_styles`; with `stop_variants` each input also goes with its final full stop toggled, and
    inside each of `frames` (`round_trip`): different input sentences are what give a greedy
    translator more than one candidate.
    Returns, per template, the original first (pivot None), then up to `top` paraphrases,
    generation 1 first; `pivot` names the pivot chains (`pt>es`), `backend` the translators."""
    for t in templates:
        check_template(t)
    if generations < 1 or breadth < 1:
        raise PromptmineError("generations and breadth must be at least 1")
    if not routes:
        raise PromptmineError("no translation routes given")
    stats = stats if stats is not None else RoundTripStats()
    cache = _open_cache(cache)
    seen = [{template_key(t)} for t in templates]
    pools: list[list[PoolEntry]] = [[] for _ in templates]
    frontier = [[(normalize_text(t), "", "")] for t in templates]  # (text, pivot chain, backend chain)
    for gen in range(1, generations + 1):
        inputs = list(dict.fromkeys(text for parents in frontier for text, _, _ in parents))
        if not inputs:
            break
        results = []
        for translator, pivots in routes:
            own = list(styles or getattr(translator, "placeholder_styles", DEFAULT_STYLES))
            ranked = round_trip(inputs, translator, list(pivots), beams=beams, src=src,
                                styles=list(dict.fromkeys(own + list(extra_styles))), cache=cache, stats=stats,
                                key=template_key, stop_variants=stop_variants, frames=frames,
                                desc=f"round trips (generation {gen})")
            results.append(dict(zip(inputs, ranked)))
        for i, parents in enumerate(frontier):
            new: dict[str, PoolEntry] = {}
            for parent_rank, (parent, chain, backend_chain) in enumerate(parents):
                for r, (translator, _) in enumerate(routes):
                    backend = f"{backend_chain}>{translator.name}" if backend_chain else translator.name
                    for rank, f in enumerate(results[r][parent]):
                        k = template_key(f.text)
                        if k in seen[i]:
                            continue
                        if _junk(f.text, parent):
                            stats.junk += 1
                            continue
                        why = hygiene(f.text, templates[i], parent)
                        if why:  # never a parent of the next generation either
                            seen[i].add(k)
                            stats.rejected.append((i, f.text, why))
                            continue
                        e = new.get(k)
                        if e is None:
                            e = new[k] = PoolEntry(f.text, gen, [], [], 0, (rank, parent_rank, r), f.score)
                        e.order = min(e.order, (rank, parent_rank, r))
                        e.chains += [c for c in (f"{chain}>{p}" if chain else p for p in f.pivots) if c not in e.chains]
                        if backend not in e.backends:
                            e.backends.append(backend)
                        e.agreement += len(f.routes)
                        if f.score is not None and (e.score is None or f.score > e.score):
                            e.score = f.score
            items = list(new.values())
            if items and all(e.score is not None for e in items):
                items.sort(key=lambda e: (-e.score, e.order))
            else:
                items.sort(key=lambda e: (-e.agreement, e.order))
            seen[i].update(new)
            pools[i] += items
            frontier[i] = [(e.text, e.chains[0], e.backends[0]) for e in items[:breadth]]
    out = []
    for i, template in enumerate(templates):
        rel = relations[i] if relations else None
        names = ",".join(dict.fromkeys(translator.name for translator, _ in routes))
        cands = [Candidate(relation=rel, template=normalize_text(template), method="paraphrase", source=template,
                           pivot=None, backend=names, score=None)]
        cands += [Candidate(relation=rel, template=e.text, method="paraphrase", source=template,
                            pivot=",".join(e.chains), backend=",".join(e.backends), score=e.score)
                  for e in pools[i][:top]]
        out.append(cands)
    if stats.dropped:
        log(f"paraphrase: dropped {stats.dropped} of {stats.round_trips} round trips that lost or "
            f"duplicated a slot ([X]/[Y])")
    if stats.rejected:
        log(f"paraphrase: dropped {plural(len(stats.rejected), 'paraphrase')} by hygiene ("
            + hygiene_counts([why for _, _, why in stats.rejected]) + ")")
    return out


def hygiene_counts(reasons: Sequence[str]) -> str:
    """`2 tautologies, 1 role swap` from the reasons of `filters.hygiene`, in HYGIENE's order."""
    from promptmine.filters import HYGIENE

    names = {"tautology": ("tautology", "tautologies"), "role_swap": ("role swap", "role swaps"),
             "negation": ("new negation", "new negations"), "fragment": ("fragment", "fragments")}
    return ", ".join(plural(reasons.count(r), *names[r]) for r in HYGIENE if r in reasons)


def paraphrase_direct(templates: list[str], paraphraser, *, n: int = 40, top: int = 40,
                      relations: Sequence[str | None] | None = None,
                      stats: RoundTripStats | None = None) -> list[list[Candidate]]:
    """Paraphrase with a models.translate.Paraphraser (no pivot): original first, then up to `top`."""
    for t in templates:
        check_template(t)
    stats = stats if stats is not None else RoundTripStats()
    stats.inputs += len(templates)
    results = paraphraser.paraphrase(templates, n)
    out = []
    for i, (template, hyps) in enumerate(zip(templates, results)):
        rel = relations[i] if relations else None
        original = normalize_text(template)
        seen = {template_key(original)}
        kept = []
        for order, h in enumerate(hyps):
            stats.round_trips += 1
            cand = normalize_text(h.text)
            if slot_counts(cand) != (1, 1):
                stats.dropped += 1
                continue
            if template_key(cand) not in seen:
                seen.add(template_key(cand))
                kept.append((h.logprob, order, cand))
        if kept and all(k[0] is not None for k in kept):
            kept.sort(key=lambda k: (-k[0], k[1]))
        stats.kept += len(kept)
        cands = [Candidate(relation=rel, template=original, method="paraphrase", source=template,
                           backend=paraphraser.name)]
        cands += [Candidate(relation=rel, template=c, method="paraphrase", source=template,
                            backend=paraphraser.name, score=lp) for lp, _, c in kept[:top]]
        out.append(cands)
    if stats.dropped:
        log(f"paraphrase: dropped {stats.dropped:,} of {plural(stats.round_trips, 'paraphrase')} that lost or "
            f"duplicated a slot ([X]/[Y])")
    return out


# -- long free-text prompts ------------------------------------------------------------------------
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


def paraphrase_text(text: str, translator, pivots: list[str], *, beams: int = 7, permutations: int = 5,
                    src: str = "en", styles: Sequence[str] | None = None, cache="default",
                    stats: RoundTripStats | None = None, protect: bool = True, labels: Sequence[str] = (),
                    keep: Sequence[str] = (), keep_regex: Sequence[str] = (),
                    examples_verbatim: bool = False) -> list[dict]:
    """The original prompt (pivot None), then up to `permutations` distinct paraphrases, best first, as
    output records {"source", "template", "pivot", "backend", "score"} (score: mean round-trip log-prob
    per sentence). `translator` may also be a paraphraser (e.g. the hosted one): each sentence is then
    rewritten directly, `beams` rewrites each, and `pivots` is ignored.

    With `protect` (default), the spans of promptmine.protect come back byte-for-byte: `{placeholders}`,
    `[X]`/`[Y]`, cues opening a line (`Sentence:`), the `labels` words, the `keep` strings and
    `keep_regex` matches; sentence candidates that damage one are repaired or dropped (counted in
    `stats.span_repaired`/`span_dropped`). `examples_verbatim` keeps the few-shot example lines (a line
    opening with a cue, or ending in a label after a separator like `//`) as they are and paraphrases only the instruction."""
    from promptmine.protect import ProtectOptions, mask, protected_pieces, repair

    stats = stats if stats is not None else RoundTripStats()
    opts = ProtectOptions(labels=labels, keep=keep, keep_regex=keep_regex, examples_verbatim=examples_verbatim)
    if protect:
        masked = mask(text, opts.spans(text))
        pieces = protected_pieces(masked, split_units, examples_verbatim=examples_verbatim)
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
        ranked = round_trip(units, translator, list(pivots), beams=beams, src=src, styles=styles,
                            cache=_open_cache(cache), stats=stats, desc="sentences")
    if protect:  # each sentence candidate keeps its tokens, or is repaired, or dropped
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


# Registered translators a default run may use without being asked: local, no server, no conversion
# (ctranslate2 runs the same Marian models as `marian`; `openai` needs a server).
AUTO_BACKENDS = ("marian", "bergamot", "apertium")


def installed_routes(backends: Sequence[str] = AUTO_BACKENDS) -> list[tuple[str, list[str]]]:
    """Every (backend, pivots) route usable here, in `backends` order: each backend's pivots whose
    models or language pairs are installed (`availability()`, no model loaded), e.g.
    [("bergamot", ["pt"]), ("apertium", ["es", "ca", "gl", "eo", "hbs"])]."""
    from promptmine.models.translate import TRANSLATORS

    routes = []
    for name in backends:
        if name not in TRANSLATORS.names():
            continue
        avail = TRANSLATORS.resolve(name).availability()
        pivots = [p for p, fix in avail.pivots.items() if fix is None]
        if avail.ok and pivots:
            routes.append((name, pivots))
    return routes


def paraphrase_routes(templates: Sequence[str], routes: Sequence[tuple[object, Sequence[str]]], *,
                      generations: int | None = None, beams: int = 7, top: int = 40, src: str = "en",
                      styles: Sequence[str] | None = None, cache="default",
                      relations: Sequence[str | None] | None = None,
                      stats: RoundTripStats | None = None) -> list[list[Candidate]]:
    """Paraphrases of each template from every route (translator, pivots). `generations` None (the
    default): one round trip per route (LPAQA's), then, for each template that got none from it, a
    grown pool (`grow_paraphrases`, 2 generations with more slot renderings and input variants): short
    templates (`[X] is a subclass of [Y] .`) often come back unchanged from one round trip. A number:
    that many generations of `grow_paraphrases` for every template (1: LPAQA's round trip)."""
    stats = stats if stats is not None else RoundTripStats()
    if generations is not None and generations > 1:
        return grow_paraphrases(templates, routes, generations=generations, beams=beams, top=top, src=src,
                                styles=styles, cache=cache, relations=relations, stats=stats)
    found = grow_paraphrases(templates, routes, generations=1, beams=beams, top=top, src=src, styles=styles,
                             extra_styles=(), stop_variants=False, frames=(), cache=cache, relations=relations,
                             stats=stats)
    empty = [i for i, cands in enumerate(found) if len(cands) < 2]
    if generations is None and empty:
        log(f"paraphrase: one round trip gave nothing for {plural(len(empty), 'template')}; growing their pools")
        grown = grow_paraphrases([templates[i] for i in empty], routes, generations=2, beams=beams, top=top,
                                 src=src, styles=styles, cache=cache,
                                 relations=[relations[i] for i in empty] if relations else None, stats=stats)
        for i, cands in zip(empty, grown):
            found[i] = cands
    return found


# -- the library function -------------------------------------------------------------------------
@dataclass
class ParaphraseResult:
    """What `paraphrase` found: per template its candidates (the original first), per free-text prompt
    its variants ({"source", "template", "pivot", "backend", "score"}), and the counts."""

    candidates: list[list[Candidate]]
    texts: list[list[dict]]
    stats: RoundTripStats


def paraphrase(templates: str | Sequence[str] = (), *, texts: Sequence[str] = (), backend="auto",
               options: dict | None = None, direct: bool = False, pivots: Sequence[str] | None = None,
               src: str = "en", beams: int = 7, top: int = 40, permutations: int = 5,
               placeholders: Sequence[str] | None = None, relations: Sequence[str | None] | None = None,
               cache: bool = True, protect: bool = True, labels: Sequence[str] = (), keep: Sequence[str] = (),
               keep_regex: Sequence[str] = (), examples_verbatim: bool = False,
               generations: int | None = None) -> ParaphraseResult:
    """Paraphrase templates (one `[X]` and one `[Y]` each) and free-text prompts.

    `backend` is "auto" (default: every route installed here, `installed_routes`: Marian where its
    models are in the store, the shipped Bergamot, every Apertium English pair; free-text prompts go
    through the first), a registry name (`marian`, `bergamot`, `apertium`, `openai`, ...) built with
    `options` (its `Options` fields, e.g. `{"model_dir": "~/models"}`), or a translator object. With
    `direct`, a paraphraser (`openai`) rewrites the templates without a pivot. `pivots` default to the
    backend's; `placeholders` to the backend's slot renderings; `relations` label the templates'
    candidates; `cache=False` neither reads nor writes the translation cache. `protect`, `labels`,
    `keep`, `keep_regex` and `examples_verbatim` apply to free-text prompts (see `paraphrase_text`;
    the labels of few-shot examples are found without `labels` too). `generations`: None (default)
    is one round trip, grown further only for templates it left without a paraphrase
    (`paraphrase_routes`); a number is that many generations for every template (1: LPAQA's)."""
    templates = [templates] if isinstance(templates, str) else list(templates)
    texts = list(texts)
    for t in templates:
        check_template(t)
    if not templates and not texts:
        raise PromptmineError("nothing to paraphrase: give templates or texts")
    if beams < 1 or top < 0 or permutations < 1 or (generations is not None and generations < 1):
        raise PromptmineError("beams, permutations and generations must be at least 1, top at least 0")
    stats = RoundTripStats()
    options = dict(options or {})
    if direct:  # free-text prompts: each sentence rewritten by the paraphraser, spans protected alike
        paraphraser = _backend("PARAPHRASERS", "openai" if backend == "auto" else backend, options, cache)
        found = paraphrase_direct(templates, paraphraser, n=max(beams, top), top=top, relations=relations,
                                  stats=stats) if templates else []
        variants = [paraphrase_text(text, paraphraser, [], beams=beams, permutations=permutations, src=src,
                                    stats=stats, protect=protect, labels=labels, keep=keep, keep_regex=keep_regex,
                                    examples_verbatim=examples_verbatim, cache=None)
                    for text in texts]
        return ParaphraseResult(found, variants, stats)
    if backend == "auto":
        names = installed_routes()
        if not names:
            raise PromptmineError("no translator is installed: `promptmine doctor` says how to add one")
        if pivots:  # pivots asked for: the first installed backend that has them all
            names = [(n, list(pivots)) for n, ps in names if set(pivots) <= set(ps)][:1] or [(names[0][0], list(pivots))]
        routes = [(_backend("TRANSLATORS", n, dict(options) if i == 0 else {}, cache), ps)
                  for i, (n, ps) in enumerate(names)]
        log("paraphrase: routes " + ", ".join(f"{n}:{','.join(ps)}" for n, ps in names))
    else:
        translator = _backend("TRANSLATORS", backend, options, cache)
        routes = [(translator, list(pivots or getattr(translator, "default_pivots", ())))]
    disk = _open_cache("default") if cache else None  # one connection for every input
    found = paraphrase_routes(templates, routes, generations=generations, beams=beams, top=top, src=src,
                              styles=placeholders, cache=disk, relations=relations, stats=stats) if templates else []
    translator, text_pivots = routes[0]
    variants = [paraphrase_text(text, translator, list(text_pivots), beams=beams, permutations=permutations, src=src,
                                styles=placeholders, cache=disk, stats=stats, protect=protect, labels=labels,
                                keep=keep, keep_regex=keep_regex, examples_verbatim=examples_verbatim)
                for text in texts]
    return ParaphraseResult(found, variants, stats)


def _backend(registry: str, backend, options: dict, cache: bool):
    """A backend object from its registry name and options; an object is used as it is."""
    if not isinstance(backend, str):
        return backend
    from promptmine.models import translate

    reg = getattr(translate, registry)
    if not cache and "cache" in reg.options(backend).model_fields:
        options.setdefault("cache", False)  # one switch for every cache (the hosted answers' too)
    return reg.create(backend, options)
