"""`paraphrase(...)` (exported as `promptmine.paraphrase`), the entry point: builds the translators (or a
direct paraphraser) from names and options, and paraphrases templates (`pool`) and free-text prompts
(`freetext`) through them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promptmine.core.errors import PromptmineError
from promptmine.core.progress import log
from promptmine.core.records import Candidate, check_template
from promptmine.core.settings import take
from promptmine.paraphrasing.direct import paraphrase_direct
from promptmine.paraphrasing.freetext import paraphrase_text
from promptmine.paraphrasing.pool import paraphrase_routes
from promptmine.paraphrasing.roundtrip import RoundTripStats, _open_cache
from promptmine.paraphrasing.routes import format_routes, installed_routes, open_routes, parse_routes
from promptmine.paraphrasing.settings import ParaphraseSettings
from promptmine.paraphrasing.spans import SpanSettings


@dataclass
class ParaphraseResult:
    """What `paraphrase` found: per template its candidates (the original first), per free-text prompt
    its variants ({"source", "template", "pivot", "backend", "score"}), and the counts."""

    candidates: list[list[Candidate]]
    texts: list[list[dict]]
    stats: RoundTripStats


def paraphrase(templates: str | Sequence[str] = (), *, texts: Sequence[str] = (), backend="auto",
               options: dict | None = None, direct: bool = False, pivots: Sequence[str] | None = None,
               routes: str | Sequence[tuple[object, Sequence[str]]] | None = None,
               relations: Sequence[str | None] | None = None, cache: bool = True,
               settings: ParaphraseSettings | None = None, spans: SpanSettings | None = None,
               **fields) -> ParaphraseResult:
    """Paraphrase templates (one `[X]` and one `[Y]` each) and free-text prompts.

    `backend` is "auto" (default: every route installed here, `installed_routes`: Marian where its
    models are in the store, the shipped Bergamot, every Apertium English pair; free-text prompts go
    through the first), a registry name (`marian`, `bergamot`, `apertium`, `openai`, ...) built with
    `options` (its `Options` fields, e.g. `{"model_dir": "~/models"}`), or a translator object. With
    `direct`, a paraphraser (`openai`) rewrites the templates without a pivot. `pivots` default to the
    backend's. `routes` instead of `backend` and `pivots`: several translators together, as
    `"bergamot:pt,apertium:es"` (`routes.parse_routes`; a bare `LANG` is a pivot of `backend`) or
    [(backend name or translator, pivots)], `options` then per backend name; one unavailable here is
    skipped with a note (`open_routes`). `relations` label the templates' candidates; `cache=False`
    neither reads nor writes the translation cache.

    `settings` (`ParaphraseSettings`: `src`, `beams`, `top`, `permutations`, `placeholders` (default:
    the backend's slot renderings) and `generations`: None (default) is one round trip, grown further
    only for templates it left without a paraphrase (`paraphrase_routes`); a number is that many
    generations for every template (1: LPAQA's)) and `spans` (`SpanSettings`: `protect`, `labels`,
    `keep`, `keep_regex`, `examples_verbatim`, for free-text prompts, see `paraphrase_text`; the labels
    of few-shot examples are found without `labels` too); their fields may also be given as keywords
    (`paraphrase(templates, beams=3, labels=["positive"])`)."""
    settings, spans = take(fields, (ParaphraseSettings, settings), (SpanSettings, spans), who="paraphrase")
    templates = [templates] if isinstance(templates, str) else list(templates)
    texts = list(texts)
    for t in templates:
        check_template(t)
    if not templates and not texts:
        raise PromptmineError("nothing to paraphrase: give templates or texts")
    stats = RoundTripStats()
    options = dict(options or {})
    if direct:  # free-text prompts: each sentence rewritten by the paraphraser, spans protected alike
        paraphraser = _backend("PARAPHRASERS", "openai" if backend == "auto" else backend, options, cache)
        found = paraphrase_direct(templates, paraphraser, settings, relations=relations, stats=stats) \
            if templates else []
        variants = [paraphrase_text(text, paraphraser, [], settings, spans, stats=stats, cache=None) for text in texts]
        return ParaphraseResult(found, variants, stats)
    if routes is not None:
        named = parse_routes(routes, backend=backend if isinstance(backend, str) and backend != "auto" else None) \
            if isinstance(routes, str) else [(b, list(ps)) for b, ps in routes]
        per_backend = {b: _cache_option(b, dict(options.get(b) or {}), cache) for b, _ in named if isinstance(b, str)}
        routes = open_routes(named, per_backend)
        if not routes:
            raise PromptmineError(f"none of the routes {format_routes(named)} is usable here: "
                                  "`promptmine doctor` says how to add them")
        log("paraphrase: routes " + format_routes(routes))
    elif backend == "auto":
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
    found = paraphrase_routes(templates, routes, settings, cache=disk, relations=relations, stats=stats) \
        if templates else []
    translator, text_pivots = routes[0]
    variants = [paraphrase_text(text, translator, list(text_pivots), settings, spans, cache=disk, stats=stats)
                for text in texts]
    return ParaphraseResult(found, variants, stats)


def _backend(registry: str, backend, options: dict, cache: bool):
    """A backend object from its registry name and options; an object is used as it is."""
    if not isinstance(backend, str):
        return backend
    from promptmine.models import translate

    return getattr(translate, registry).create(backend, _cache_option(backend, options, cache, registry))


def _cache_option(backend: str, options: dict, cache: bool, registry: str = "TRANSLATORS") -> dict:
    """`options`, with the backend's own cache off when `cache` is False (one switch for every cache,
    the hosted answers' too)."""
    from promptmine.models import translate

    if cache:
        return options
    try:
        fields = getattr(translate, registry).options(backend).model_fields
    except (PromptmineError, ImportError):  # unknown or not installed: the opener says so
        return options
    if "cache" in fields:
        options.setdefault("cache", False)
    return options
