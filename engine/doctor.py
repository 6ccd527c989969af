"""`promptmine.doctor` (`promptmine doctor`): what can work on this machine and how to add the rest.

Each backend answers for itself through its class's `availability()` (no model is loaded), so a
new backend is covered by registering it; the parser line is the dependency extractor's answer, and
the model store is asked directly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

STATUSES = ("ok", "missing")


@dataclass(frozen=True)
class Check:
    """One thing doctor looked at: `kind` (translator, paraphraser, scorer, pivot, parser, model),
    `name`, `status` (ok | missing), what it found (`detail`) and how to add it (`fix`)."""

    kind: str
    name: str
    status: str
    detail: str = ""
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_json(self) -> dict:
        return asdict(self)


def _backends(kind: str, registry) -> list[Check]:
    """One Check per backend of a registry, then (for translators that work) one per pivot."""
    from promptmine.models.registry import Availability

    out: list[Check] = []
    pivots: list[Check] = []
    for name in registry.names():
        try:
            found: Availability = registry.resolve(name).availability()
        except ImportError as e:  # the backend's module needs a package that is not installed
            out.append(Check(kind, name, "missing", f"cannot import: {e}", f"pip install {e.name or 'its package'}"))
            continue
        out.append(Check(kind, name, "ok" if found.ok else "missing", found.detail, found.fix))
        if found.ok:
            pivots += [Check("pivot", f"{name}:{lang}", "ok" if fix is None else "missing",
                             f"en->{lang}->en with {name}" if fix is None else "", fix or "")
                       for lang, fix in sorted(found.pivots.items())]
    return out + pivots


def _parser() -> Check:
    """What dependency templates need (the dependency extractor's own availability)."""
    from promptmine.mining.extractors import EXTRACTORS

    found = EXTRACTORS.resolve("dependency").availability()
    return Check("parser", "spacy", "ok" if found.ok else "missing", found.detail, found.fix)


def _models() -> list[Check]:
    from promptmine.models.store import human_size, list_models

    out = []
    for m in list_models():
        ok = m.status == "present"
        detail = f"{m.role}, {m.where}: {m.path} ({human_size(m.size)})" if m.path else f"{m.role} ({m.source})"
        if m.status == "incomplete":
            detail += f"; incomplete: {m.hint}"
        out.append(Check("model", m.name, "ok" if ok else "missing", detail,
                         "" if ok else (m.hint if m.status == "missing" else f"promptmine models pull {m.name}")))
    return out


def doctor(*, models: bool = True) -> list[Check]:
    """Every translator, paraphraser and scorer backend, the pivots of the working translators, the
    parser and (with `models`) every model the store knows, each usable here or not and how to fix it."""
    from promptmine.models.score import SCORERS
    from promptmine.models.translate import PARAPHRASERS, TRANSLATORS

    checks = _backends("translator", TRANSLATORS) + _backends("paraphraser", PARAPHRASERS)
    checks += _backends("scorer", SCORERS) + [_parser()]
    return checks + (_models() if models else [])


@dataclass(frozen=True)
class Readiness:
    """Whether `promptmine run` with no flags works here (`ready`), and one sentence saying why."""

    ready: bool
    summary: str


def default_pipeline(checks: list[Check]) -> Readiness:
    """The default `run` needs the causal scorer (shipped SmolLM2); the parser adds dependency
    templates and the pivots paraphrases, so without them it runs with less. Everything else doctor
    lists (Marian, masked LMs, hosted servers) is optional."""
    from promptmine.core.progress import plural

    by = {(c.kind, c.name): c for c in checks}
    scorer = by.get(("scorer", "causal"))
    parser = by.get(("parser", "spacy"))
    pivots = [c.name for c in checks if c.kind == "pivot" and c.ok and not c.name.startswith(("openai", "ctranslate2"))]
    if scorer is None or not scorer.ok:
        fix = f" ({scorer.fix})" if scorer is not None and scorer.fix else ""
        return Readiness(False, f"The default pipeline (`promptmine run`) is NOT ready: the causal scorer is "
                                f"missing{fix}.")
    parts = ["the causal scorer", "the parser" if parser is not None and parser.ok else
             "no parser (middle-word templates only)",
             f"{plural(len(pivots), 'paraphrase pivot')} ({', '.join(pivots)})" if pivots else "no pivot (no paraphrases)"]
    return Readiness(True, "The default pipeline (`promptmine run`) is ready: " + ", ".join(parts) + ".")
