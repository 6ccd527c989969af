"""Back-translation routes: a route is a translator and its pivot languages, written `BACKEND:LANG`.

One grammar for every command and function that takes routes (`--routes`, and `--pivots` as its
alias): comma-separated `BACKEND:LANG` items (`bergamot:pt,apertium:es`), a bare `LANG` meaning the
command's chosen backend where it has one (`promptmine paraphrase --backend marian --pivots de,fr`),
`auto` for every route installed here and `none` for no route (`parse_routes`). Routes are checked
before any work (`check_routes`: unknown backends and pivots are errors) and opened by one opener
(`open_routes`: a backend or pivot unavailable here is skipped with a note).
"""

from __future__ import annotations

from collections.abc import Sequence

from promptmine.core.errors import PromptmineError
from promptmine.core.progress import log

Route = tuple[str, list[str]]  # (backend name, pivot languages)


def parse_routes(text: str, *, backend: str | None = None, flag: str = "--routes") -> list[Route]:
    """`bergamot:pt,apertium:es,bergamot:de` -> [("bergamot", ["pt", "de"]), ("apertium", ["es"])]; a bare
    `de` is `backend:de` (an error naming `flag` when there is no `backend`); `none` (or nothing) -> [];
    `auto` -> every route installed here (`installed_routes`)."""
    if text.strip().lower() in ("", "none"):
        return []
    if text.strip().lower() == "auto":
        return installed_routes()
    routes: dict[str, list[str]] = {}
    for item in text.split(","):
        name, sep, pivot = item.strip().partition(":")
        if not sep:
            name, pivot = backend, item.strip()
            if not name:
                raise PromptmineError(f"{flag} expects BACKEND:LANG items separated by commas, got {item!r}")
        if not name or not pivot:
            raise PromptmineError(f"{flag} expects BACKEND:LANG items separated by commas, got {item!r}")
        routes.setdefault(name, []).append(pivot)
    return list(routes.items())


def format_routes(routes: Sequence[tuple[object, Sequence[str]]]) -> str:
    """`bergamot:pt,apertium:es` for [(backend name or translator, pivots)]; `none` for no route."""
    return ",".join(f"{getattr(b, 'name', b)}:{p}" for b, ps in routes for p in ps) or "none"


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
        ok, offered = offered_pivots(name)
        pivots = [p for p, fix in offered.items() if fix is None]
        if ok and pivots:
            routes.append((name, pivots))
    return routes


def offered_pivots(backend: str, options: dict | None = None) -> tuple[bool, dict[str, str | None]]:
    """(whether the backend works here, its pivots with these options: language -> None when usable,
    else how to add it); no pivots means any language. Asks the class, loading no model."""
    from promptmine.models.translate import TRANSLATORS

    try:
        cls = TRANSLATORS.resolve(backend)
    except ImportError:
        return False, {}
    return cls.availability().ok, cls.offered_pivots(TRANSLATORS.validate(backend, options) if options else None)


def check_routes(routes: Sequence[tuple[str, Sequence[str]]], options: dict[str, dict] | None = None, *,
                 flag: str = "--routes") -> None:
    """An unknown backend, or a pivot a backend does not offer, is an error naming the backends and
    the pivots each offers (a backend given its own models, e.g. --model-dir, may pivot anywhere).
    A known backend that is not installed here is left to `open_routes`, which skips it with a note."""
    from promptmine.models.translate import TRANSLATORS

    if not routes:
        return
    problems = []
    offers = {name: offered_pivots(name) for name in TRANSLATORS.names()}
    for backend, pivots in routes:
        if backend not in offers:
            problems.append(f"unknown backend {backend!r}")
            continue
        own = (options or {}).get(backend)
        _, known = offered_pivots(backend, own) if own else offers[backend]
        if not known:  # any language
            continue
        bad = [p for p in pivots if p not in known]
        if bad:
            problems.append(f"{backend} has no pivot {', '.join(bad)}")
    if problems:
        def describe(name: str) -> str:
            ok, known = offers[name]
            langs = ", ".join(known) or "any language"
            usable = [p for p, fix in known.items() if fix is None]
            here = "" if ok and (not known or usable == list(known)) else \
                f"; usable here: {', '.join(usable)}" if ok else "; unavailable here"
            return f"{name} ({langs}{here})"

        raise PromptmineError(f"{flag}: {'; '.join(problems)}. Backends and their pivots: "
                              + ", ".join(describe(n) for n in offers) + "; `promptmine doctor` says how to add them")
