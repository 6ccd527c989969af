"""A relation's facts ranked over a shared candidate set: from pairs (grouped by relation, the
candidate objects chosen or given) to `RelationFacts`, which scorers, selection and evaluation read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from promptmine.core.errors import InputError
from promptmine.core.io import read_pairs
from promptmine.core.progress import log, plural
from promptmine.core.records import Pair, Selection
from promptmine.core.settings import Settings


class FactSettings(Settings):
    """Which facts of a pairs file are scored and over which candidates (`evaluate`, `select`)."""

    default_relation: str | None = Field(None, description="relation of pairs that name none (None: the "
                                                           "templates' only relation, if they have one)")
    max_candidates: int | None = Field(None, ge=1, description="candidate objects per relation: the N most "
                                                               "frequent (None: all distinct objects)")
    limit: int | None = Field(None, ge=1, description="the first N facts per relation (None: all)")
    strict: bool = Field(False, description="a malformed line of the pairs file is an error (else skipped and "
                                            "reported)")


@dataclass
class RelationFacts:
    """One relation's facts ranked over a shared candidate set."""

    relation: str | None
    subjects: list[str]
    gold: list[int]  # index of each fact's object in `objects`
    objects: list[str]
    dropped: int = 0  # facts whose object fell outside a capped candidate set

    @property
    def n(self) -> int:
        return len(self.subjects)


def relation_facts(relation: str | None, pairs: Sequence[Pair], *, max_candidates: int | None = None,
                   candidates: Sequence[str] | None = None) -> RelationFacts:
    """Facts of one relation with their candidate objects: `candidates` if given, else the distinct
    objects of the pairs (the `max_candidates` most frequent, ties by first appearance). Facts whose
    object is not a candidate are dropped and counted."""
    if candidates is None:
        counts = Counter(p.object for p in pairs)
        order = {o: i for i, o in reversed(list(enumerate(p.object for p in pairs)))}
        objects = sorted(counts, key=lambda o: (-counts[o], order[o]))
        if max_candidates:
            objects = objects[:max_candidates]
        objects.sort(key=order.__getitem__)
    else:
        objects = list(dict.fromkeys(candidates))
    index = {o: i for i, o in enumerate(objects)}
    kept = [p for p in pairs if p.object in index]
    return RelationFacts(relation, [p.subject for p in kept], [index[p.object] for p in kept], objects,
                         dropped=len(pairs) - len(kept))


def group_by_relation(pairs: Sequence[Pair], relations_of_templates: set[str | None] | None = None,
                      default: str | None = None) -> dict[str | None, list[Pair]]:
    """Pairs by relation. Pairs without one take `default`, or the templates' only relation."""
    if default is None and relations_of_templates:
        named = {r for r in relations_of_templates if r is not None}
        if len(named) == 1:
            default = next(iter(named))
    out: dict[str | None, list[Pair]] = {}
    for p in pairs:
        out.setdefault(p.relation or default, []).append(p)
    return out


def read_candidate_objects(path: str) -> list[str]:
    from promptmine.core.io import iter_lines

    return [line.strip() for _, line in iter_lines(path) if line.strip() and not line.startswith("#")]


def load_facts(pairs, relations: set[str | None], settings: FactSettings | None = None, *,
               candidates=None) -> dict[str | None, RelationFacts]:
    """Facts per relation from a pairs file (malformed lines skipped and reported, or with
    `settings.strict` an error) or a list of Pairs; `candidates`: a file or a list of objects."""
    settings = settings or FactSettings()
    max_candidates, limit = settings.max_candidates, settings.limit
    path = pairs if isinstance(pairs, (str, Path)) else None
    pairs = read_pairs(path, strict=settings.strict) if path is not None else list(pairs)
    if not pairs:
        raise InputError("no pairs", path)
    grouped = group_by_relation(pairs, relations, default=settings.default_relation)
    cands = read_candidate_objects(str(candidates)) if isinstance(candidates, (str, Path)) else candidates
    out = {}
    for rel, ps in grouped.items():
        facts = relation_facts(rel, ps, max_candidates=max_candidates, candidates=cands)
        if limit:
            facts = RelationFacts(rel, facts.subjects[:limit], facts.gold[:limit], facts.objects, facts.dropped)
        if facts.dropped:
            log(f"{rel}: {facts.dropped:,} of {plural(len(ps), 'pair')} dropped (object not among the "
                f"{plural(len(facts.objects), 'candidate')})")
        out[rel] = facts
    return out


def templates_for(selections: Sequence[Selection], relation: str | None) -> list[Selection]:
    """Selections for a relation: its own, plus those that name no relation."""
    return [s for s in selections if s.relation in (relation, None)]
