"""Evaluate prompts: P@1 and MRR of templates and selections (one template, or a weighted ensemble)
on a relation's facts, and the library function `evaluate`.

For each relation the candidate objects are, by default, every distinct object of that relation
in the pairs given (as LAMA ranks over a shared candidate set). A (model, template, subject,
object) score is computed once and kept in the on-disk cache, so re-runs and selection are instant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from promptmine.core.errors import InputError, PromptmineError
from promptmine.core.io import iter_jsonl, read_templates
from promptmine.core.progress import log, plural, progress
from promptmine.core.records import FactResult, Score, Selection, WeightedTemplate
from promptmine.core.settings import take
from promptmine.models.score import DEFAULT_SCORER
from promptmine.scoring.facts import FactSettings, RelationFacts, load_facts, templates_for
from promptmine.scoring.metrics import combine, mrr, p_at_1, ranks, top_predictions
from promptmine.scoring.scorers import CachedScorer, CalibratedScorer, load_scorer


@dataclass
class Scored:
    """A template's scores on one relation's facts, kept for ensembling."""

    template: str
    matrix: object  # numpy [facts, candidates]
    ranks: list[int] = field(default_factory=list)


def score_template(scorer: CachedScorer, template: str, facts: RelationFacts) -> Scored:
    m = scorer.score(template, facts.subjects, facts.objects)
    return Scored(template, m, ranks(m, facts.gold) if facts.n else [])


def score_templates(scorer, jobs: Sequence[tuple[str, RelationFacts]]) -> list[Scored]:
    """`score_template` of several (template, facts) jobs, in one `score_many` call where the scorer
    has one (so their rows can share forward passes), else one at a time."""
    many = getattr(scorer, "score_many", None)
    mats = many([(t, f.subjects, f.objects) for t, f in jobs]) if many is not None else \
        [scorer.score(t, f.subjects, f.objects) for t, f in jobs]
    return [Scored(t, m, ranks(m, f.gold) if f.n else []) for (t, f), m in zip(jobs, mats)]


def to_score(facts: RelationFacts, name: str, model: str, rank_list: list[int], *,
             top: Sequence[int] | None = None, method: str | None = None, row: str | None = None) -> Score:
    """A Score of `rank_list` on `facts`; with `top` (the index of each fact's first-ranked
    candidate) it lists every fact: subject, gold object, prediction, rank."""
    per_fact = None
    if top is not None:
        per_fact = [FactResult(subject=s, object=facts.objects[g], prediction=facts.objects[t], rank=r)
                    for s, g, t, r in zip(facts.subjects, facts.gold, top, rank_list)]
    return Score(relation=facts.relation, template=name, model=model, p_at_1=p_at_1(rank_list),
                 mrr=mrr(rank_list), n=len(rank_list), ranks=rank_list, method=method, row=row, facts=per_fact)


def evaluate_selection(scorer: CachedScorer, selection: Selection, facts: RelationFacts,
                       scored: dict[str, Scored] | None = None) -> Score:
    """P@1/MRR of a selection (one template, or a weighted ensemble) on a relation's facts, with
    each fact's prediction and rank, and the selection's method and row; a selection chosen with
    calibrated scores (`calibration`: its fillers) is read out calibrated."""
    scored = scored if scored is not None else {}
    mats = []
    key = ""
    if selection.calibration and not isinstance(scorer, CalibratedScorer):  # the readout it was chosen with
        scorer = CalibratedScorer(scorer, selection.calibration)
        key = "\x00calibrated:" + "|".join(selection.calibration)  # apart from raw scores of the same template
    for wt in selection.templates:
        if wt.template + key not in scored:
            scored[wt.template + key] = score_template(scorer, wt.template, facts)
        mats.append(scored[wt.template + key].matrix)
    combined = combine(mats, [wt.weight for wt in selection.templates])
    rank_list = ranks(combined, facts.gold) if facts.n else []
    top = top_predictions(combined, facts.gold) if facts.n else []
    return to_score(facts, selection_name(selection), scorer.identity, rank_list, top=top,
                    method=selection.method, row=selection.row)


def evaluate_blocks(scorer: CachedScorer, selection: Selection, blocks: Sequence[RelationFacts],
                    scored: Sequence[dict[str, Scored]] | None = None) -> Score:
    """evaluate_selection over several blocks of one relation's facts, each ranked over its own
    candidate set (as a benchmark draws many small test samples), merged into one Score; `scored`
    (one dict per block) shares template scores between selections evaluated on the same blocks."""
    scored = scored if scored is not None else [{} for _ in blocks]
    parts = [evaluate_selection(scorer, selection, b, sc) for b, sc in zip(blocks, scored)]
    rank_list = [r for s in parts for r in s.ranks]
    return parts[0].model_copy(update={"p_at_1": p_at_1(rank_list), "mrr": mrr(rank_list), "n": len(rank_list),
                                       "ranks": rank_list, "facts": [f for s in parts for f in s.facts or []]})


def selection_name(selection: Selection) -> str:
    if len(selection.templates) == 1:
        return selection.templates[0].template
    return f"<{selection.method} ensemble of {plural(len(selection.templates), 'template')}>"


def read_selections_or_templates(path: str) -> list[Selection]:
    """A selection file (`promptmine select` output) or any template file; each template of the
    latter becomes a one-template selection, so both evaluate the same way."""
    if path.endswith((".jsonl", ".json", ".jsonl.gz")):
        first = next(iter_jsonl(path), None)
        if first is not None and isinstance(first[1].get("templates"), list):
            from promptmine.core.io import read_records

            return read_records(path, Selection)
    return [Selection(relation=rel, method="manual", model="", templates=[WeightedTemplate(template=t)])
            for rel, t in dict.fromkeys(read_templates(path))]


# -- the library function -------------------------------------------------------------------------

def evaluate(templates, pairs, *, scorer=DEFAULT_SCORER, options: dict | None = None, candidates=None,
             cache: bool = True, facts: FactSettings | None = None, **fields) -> list[Score]:
    """P@1 and MRR of each template (or selection) on the facts of its relation.

    `templates`: a file (templates, candidates or `promptmine select` output), or a list of template
    strings, Candidates, Selections or (relation, template) tuples; a template without a relation is
    evaluated on every relation. `pairs`: a facts file or a list of Pairs. `candidates`: the objects
    to rank (a file or a list; default: the distinct objects of each relation's pairs, the
    `max_candidates` most frequent). `facts` (`FactSettings`, its fields also as keywords):
    `default_relation` names the relation of pairs without one, `max_candidates`, `limit` the first N
    facts per relation, `strict` makes a malformed line of the pairs file an error (default: skipped
    and reported). `scorer`/`options`/`cache`: as for `load_scorer`."""
    [facts] = take(fields, (FactSettings, facts), who="evaluate")
    selections = as_selections(templates)
    if not selections:
        raise InputError("no templates", templates if isinstance(templates, (str, Path)) else None)
    facts_by_rel = load_facts(pairs, {s.relation for s in selections}, facts, candidates=candidates)
    jobs = [(rel, s) for rel, facts in facts_by_rel.items() for s in templates_for(selections, rel)]
    if not jobs:
        raise PromptmineError(f"no template matches the pairs' relations ({', '.join(map(str, facts_by_rel))}); "
                              "give templates with those relations, templates without one, or a relation")
    scorer = load_scorer(scorer, options, cache=cache)
    scores = [evaluate_selection(scorer, sel, facts_by_rel[rel])
              for rel, sel in progress(jobs, desc="evaluate", unit="template")]
    log(f"scores: {scorer.computed} computed, {scorer.reused} from the cache ({scorer.description})")
    return scores


def as_selections(templates) -> list[Selection]:
    """Selections from a file or a list of template strings, Candidates, Selections or (relation, template)."""
    if isinstance(templates, (str, Path)):
        return read_selections_or_templates(str(templates))
    out = []
    for t in templates:
        if isinstance(t, Selection):
            out.append(t)
            continue
        rel, text = (t.relation, t.template) if hasattr(t, "template") else (t if isinstance(t, tuple) else (None, t))
        out.append(Selection(relation=rel, method="manual", model="", templates=[WeightedTemplate(template=text)]))
    return out
