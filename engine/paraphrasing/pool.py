"""Pool growth: paraphrases of templates from every route (a translator and its pivots), grown over
generations of round trips (chained pivots, more slot renderings and input forms), with the junk and
the candidates `promptmine.filters.hygiene` rejects dropped on the way.

`paraphrase_templates` is LPAQA's single round trip with one translator; `paraphrase_routes` is the
default (one round trip per route, grown further only where it gave nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promptmine.core.errors import PromptmineError
from promptmine.core.progress import log, plural
from promptmine.core.records import Candidate, check_template, normalize_text, template_key
from promptmine.core.settings import take
from promptmine.filters import hygiene, is_content_word, is_filler, words
from promptmine.paraphrasing.roundtrip import FRAMES, RoundTripStats, _open_cache, round_trip
from promptmine.paraphrasing.settings import ParaphraseSettings
from promptmine.paraphrasing.slots import DEFAULT_STYLES

# Renderings `grow_paraphrases` adds to a translator's own: names NMT and rule-based systems keep.
EXTRA_STYLES = ("names", "names2", "names3", "surnames")
GROWN = 2  # generations of a grown pool (`grow_paraphrases` when none is set; `promptmine run`'s)


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


def paraphrase_templates(templates: list[str], translator, pivots: list[str],
                         settings: ParaphraseSettings | None = None, *, cache="default",
                         relations: Sequence[str | None] | None = None, stats: RoundTripStats | None = None,
                         **fields) -> list[list[Candidate]]:
    """For each template: the original (pivot None) first, then up to `settings.top` paraphrases, best
    first: one generation of `grow_paraphrases` with one translator, its pivots and its own slot
    renderings (LPAQA's round trip; `grow_paraphrases` itself grows a pool further). `settings`' fields
    may also be given as keywords (`beams=3`).

    `cache` is "default" (the on-disk cache), a promptmine.core.cache.DiskCache, or None. `stats`, if given,
    is filled with the counts (round trips, dropped for a lost slot, kept)."""
    [settings] = take(fields, (ParaphraseSettings, settings), who="paraphrase_templates")
    return grow_paraphrases(templates, [(translator, pivots)], settings.model_copy(update={"generations": 1}),
                            extra_styles=(), stop_variants=False, frames=(), cache=cache, relations=relations,
                            stats=stats)


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


def grow_paraphrases(templates: Sequence[str], routes: Sequence[tuple[object, Sequence[str]]],
                     settings: ParaphraseSettings | None = None, *, breadth: int = 10,
                     extra_styles: Sequence[str] = EXTRA_STYLES, stop_variants: bool = True,
                     frames: Sequence[str] = FRAMES, cache="default", relations: Sequence[str | None] | None = None,
                     stats: RoundTripStats | None = None, **fields) -> list[list[Candidate]]:
    """A pool of paraphrases per template from every route (a translator and its pivots), grown by
    `settings.generations` generations (None: `GROWN`; `settings`' fields may also be given as
    keywords): generation 1 round-trips each template through every route; generation g+1
    round-trips the best `breadth` paraphrases of generation g through every route again, which
    chains pivots (en>pt>en>es>en, en>es>en>pt>en) and lets a greedy translator move further from
    the original than one round trip does.

    Each generation is ranked on its own (by round-trip score when every candidate has one, else by
    agreement: how many routes, pivots, slot renderings and parents produced it; then first seen)
    and de-duplicated against the original and all earlier generations under
    `records.template_key`. Slots travel in `settings.placeholders` (default: the translator's own)
    plus `extra_styles`; with `stop_variants` each input also goes with its final full stop toggled, and
    inside each of `frames` (`round_trip`): different input sentences are what give a greedy
    translator more than one candidate.
    Returns, per template, the original first (pivot None), then up to `settings.top` paraphrases,
    generation 1 first; `pivot` names the pivot chains (`pt>es`), `backend` the translators."""
    [settings] = take(fields, (ParaphraseSettings, settings), who="grow_paraphrases")
    generations, top = settings.generations or GROWN, settings.top
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
            own = list(settings.placeholders or getattr(translator, "placeholder_styles", DEFAULT_STYLES))
            ranked = round_trip(inputs, translator, list(pivots), settings,
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


def paraphrase_routes(templates: Sequence[str], routes: Sequence[tuple[object, Sequence[str]]],
                      settings: ParaphraseSettings | None = None, *, cache="default",
                      relations: Sequence[str | None] | None = None, stats: RoundTripStats | None = None,
                      **fields) -> list[list[Candidate]]:
    """Paraphrases of each template from every route (translator, pivots). `settings.generations` None
    (the default): one round trip per route (LPAQA's), then, for each template that got none from it, a
    grown pool (`grow_paraphrases`, `GROWN` generations with more slot renderings and input variants):
    short templates (`[X] is a subclass of [Y] .`) often come back unchanged from one round trip. A
    number: that many generations of `grow_paraphrases` for every template (1: LPAQA's round trip)."""
    [settings] = take(fields, (ParaphraseSettings, settings), who="paraphrase_routes")
    stats = stats if stats is not None else RoundTripStats()
    generations = settings.generations
    if generations is not None and generations > 1:
        return grow_paraphrases(templates, routes, settings, cache=cache, relations=relations, stats=stats)
    found = grow_paraphrases(templates, routes, settings.model_copy(update={"generations": 1}), extra_styles=(),
                             stop_variants=False, frames=(), cache=cache, relations=relations, stats=stats)
    empty = [i for i, cands in enumerate(found) if len(cands) < 2]
    if generations is None and empty:
        log(f"paraphrase: one round trip gave nothing for {plural(len(empty), 'template')}; growing their pools")
        grown = grow_paraphrases([templates[i] for i in empty], routes,
                                 settings.model_copy(update={"generations": GROWN}), cache=cache,
                                 relations=[relations[i] for i in empty] if relations else None, stats=stats)
        for i, cands in zip(empty, grown):
            found[i] = cands
    return found
