"""Score prompts with a language model: rank candidate objects, report P@1 and MRR.

For each relation the candidate objects are, by default, every distinct object of that relation
in the pairs given (as LAMA ranks over a shared candidate set). A (model, template, subject,
object) score is computed once and kept in the on-disk cache, so re-runs and selection are instant.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from promptmine.core.errors import InputError, PromptmineError
from promptmine.core.io import iter_jsonl, read_pairs, read_templates
from promptmine.core.progress import log, plural, progress
from promptmine.core.records import FactResult, Pair, Score, Selection, WeightedTemplate

# A -inf log-probability (object the scorer cannot produce) counts as this in weighted sums,
# so 0 * -inf never makes a NaN and such objects still rank last.
FLOOR = -1e4


# -- scoring with the cache ---------------------------------------------------------------------

class CachedScorer:
    """Wraps any Scorer: scores come from the cache when known, else from the model.

    Cache entries are keyed by (scorer identity, template, subject, candidate objects in order) and
    hold the subject's whole row, computed in one call with exactly those candidates. A score is
    thus the one an uncached run computes: in bfloat16 a causal score moved by up to 0.45 nats
    when its subject's candidate set changed (the token trie's layout changes the rounding), so
    scores computed beside other candidates are never mixed into a row. `cache`: True (the on-disk
    cache), a path or a DiskCache, or False/None for none (`promptmine.core.cache.open_cache`)."""

    def __init__(self, scorer, cache=True):
        from promptmine.core.cache import open_cache

        self.scorer = scorer
        self.cache = open_cache(cache, "scores")
        self.computed = 0  # (subject, object) scores computed by the model in this process
        self.reused = 0  # ... and read from the cache

    @property
    def identity(self) -> str:
        return self.scorer.identity

    @property
    def description(self) -> str:
        return getattr(self.scorer, "description", self.identity)

    def score(self, template: str, subjects: Sequence[str], objects: Sequence[str]):
        """A [len(subjects), len(objects)] numpy array of log-probabilities."""
        return self.score_many([(template, subjects, objects)])[0]

    def score_many(self, jobs: Sequence[tuple[str, Sequence[str], Sequence[str]]]) -> list:
        """`score` of several (template, subjects, objects) jobs: what the cache lacks goes to the
        scorer in one `score_many` call when it has one (the causal scorer packs the jobs' rows into
        shared forward passes), else one `score` call per job."""
        import numpy as np

        from promptmine.core.cache import cache_key

        cands = [list(dict.fromkeys(objects)) for _, _, objects in jobs]
        keys_of = [[cache_key(self.identity, t, s, c) for s in subjects] for (t, subjects, _), c in zip(jobs, cands)]
        known = self.cache.get_many(list(dict.fromkeys(k for keys in keys_of for k in keys)))
        asks, owners, asked = [], [], set()  # scorer jobs (whole rows), the keys of their rows
        for (template, subjects, _), c, keys in zip(jobs, cands, keys_of):
            todo = {s: k for s, k in zip(subjects, keys) if k not in known and k not in asked}
            asked.update(todo.values())
            if todo and c:
                asks.append((template, list(todo), c))
                owners.append(list(todo.values()))
            else:
                known.update({k: {} for k in todo.values()})
        many = getattr(self.scorer, "score_many", None)
        results = many(asks) if many is not None and len(asks) > 1 else [self.scorer.score(*a) for a in asks]
        updates = {}
        for (_, _, c), keys, rows in zip(asks, owners, results):
            for k, row in zip(keys, rows):
                updates[k] = dict(zip(c, map(float, row)))
        known.update(updates)
        if updates:
            self.cache.set_many(updates)
        n_new = sum(len(keys) * len(c) for (_, _, c), keys in zip(asks, owners))
        self.computed += n_new
        self.reused += sum(len(subjects) * len(c) for (_, subjects, _), c in zip(jobs, cands)) - n_new
        return [np.array([[known[k][o] for o in objects] for k in keys], dtype=np.float64).reshape(
            len(subjects), len(objects)) for (_, subjects, objects), keys in zip(jobs, keys_of)]


class CalibratedScorer:
    """Domain-conditional PMI (Holtzman et al. 2021; Zhao et al. 2021's content-free input): the
    object's log-probability under the prompt minus its log-probability under the same prompt with
    the subject replaced by a neutral filler. Frequent, short objects that the template favours
    whatever the subject stop winning by default.

    Wraps a CachedScorer, so it works for every scorer: the content-free rows are scored through it
    (cached on disk like any score, keyed by the filler as subject) and kept in memory per
    (template, candidate set); several fillers are averaged in probability space."""

    def __init__(self, scorer: CachedScorer, fillers: Sequence[str] = ("N/A",)):
        if not fillers:
            raise PromptmineError("calibration needs at least one content-free filler")
        self.scorer = scorer
        self.fillers = list(dict.fromkeys(fillers))
        self._free: dict[tuple[str, tuple[str, ...]], object] = {}

    @property
    def identity(self) -> str:
        return f"{self.scorer.identity}+calibrated[{'|'.join(self.fillers)}]"

    @property
    def computed(self) -> int:
        return self.scorer.computed

    @property
    def reused(self) -> int:
        return self.scorer.reused

    def content_free(self, template: str, objects: Sequence[str]):
        """log mean_f P(object | template with filler f as subject), one value per object."""
        key = (template, tuple(objects))
        if key not in self._free:
            self._set_free(key, self.scorer.score(template, self.fillers, objects))
        return self._free[key]

    def _set_free(self, key, rows) -> None:
        import numpy as np

        rows = np.maximum(rows, FLOOR)
        top = rows.max(axis=0)
        self._free[key] = top + np.log(np.exp(rows - top).mean(axis=0))

    def score(self, template: str, subjects: Sequence[str], objects: Sequence[str]):
        """log P(o | prompt(x)) - log P(o | prompt(filler)); objects the model cannot produce stay at FLOOR."""
        return self.score_many([(template, subjects, objects)])[0]

    def score_many(self, jobs: Sequence[tuple[str, Sequence[str], Sequence[str]]]) -> list:
        """`score` of several jobs, their raw and content-free rows asked of the scorer together."""
        import numpy as np

        free = [key for key in dict.fromkeys((t, tuple(objects)) for t, _, objects in jobs) if key not in self._free]
        asks = [(t, subjects, objects) for t, subjects, objects in jobs] + \
            [(t, self.fillers, list(objects)) for t, objects in free]
        many = getattr(self.scorer, "score_many", None)
        out = many(asks) if many is not None else [self.scorer.score(*a) for a in asks]
        for key, rows in zip(free, out[len(jobs):]):
            self._set_free(key, rows)
        return [np.where(raw <= FLOOR, FLOOR, raw - self._free[(t, tuple(objects))][None, :])
                for (t, _, objects), raw in zip(jobs, (np.maximum(r, FLOOR) for r in out[:len(jobs)]))]


def calibrated(scorer: CachedScorer, fillers: Sequence[str] = ("N/A",)) -> CalibratedScorer:
    return CalibratedScorer(scorer, fillers)


# -- metrics ------------------------------------------------------------------------------------

def ranks(scores, gold: Sequence[int]) -> list[int]:
    """1-based rank of each row's gold column. Ties count against the gold object (rank = number of
    candidates scoring at least as high), so a scorer that cannot tell candidates apart (all -inf)
    never gets credit."""
    import numpy as np

    scores = np.asarray(scores, dtype=np.float64)
    g = scores[np.arange(len(gold)), np.asarray(gold, dtype=int)]
    return (scores >= g[:, None]).sum(axis=1).astype(int).tolist()


def top_predictions(scores, gold: Sequence[int]) -> list[int]:
    """Index of each row's first-ranked candidate, agreeing with `ranks`: on a tie for first place
    another candidate wins over the gold one, so the prediction is gold exactly when its rank is 1."""
    import numpy as np

    scores = np.asarray(scores, dtype=np.float64)
    rows = np.arange(len(gold))
    at_max = scores >= scores.max(axis=1, keepdims=True)
    at_max[rows, np.asarray(gold, dtype=int)] &= at_max.sum(axis=1) == 1
    return at_max.argmax(axis=1).astype(int).tolist()


def p_at_1(rank_list: Sequence[int]) -> float:
    return sum(r == 1 for r in rank_list) / len(rank_list) if rank_list else 0.0


def mrr(rank_list: Sequence[int]) -> float:
    return sum(1.0 / r for r in rank_list) / len(rank_list) if rank_list else 0.0


def micro_average(scores: Iterable[Score]) -> tuple[float, float, int]:
    """(P@1, MRR, facts) over all facts of all relations, each fact counting once."""
    all_ranks = [r for s in scores for r in s.ranks]
    return p_at_1(all_ranks), mrr(all_ranks), len(all_ranks)


def combine(matrices: Sequence, weights: Sequence[float]):
    """Log-linear combination: sum_t w_t * log P_t(y | x), the ensembles' score of each candidate."""
    import numpy as np

    total = None
    for m, w in zip(matrices, weights):
        part = w * np.maximum(np.asarray(m, dtype=np.float64), FLOOR)
        total = part if total is None else total + part
    return total


# -- relations, facts and candidates ------------------------------------------------------------

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


# -- evaluating templates and selections --------------------------------------------------------

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
    each fact's prediction and rank, and the selection's method and row."""
    scored = scored if scored is not None else {}
    mats = []
    for wt in selection.templates:
        if wt.template not in scored:
            scored[wt.template] = score_template(scorer, wt.template, facts)
        mats.append(scored[wt.template].matrix)
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


# -- building scorers ---------------------------------------------------------------------------

def load_scorer(scorer="causal", options: dict | None = None, *, cache: bool = True) -> CachedScorer:
    """A scorer behind the score cache: `scorer` is a registry name (`causal`, `masked`, `openai`, ...)
    built with `options` (its `Options` fields, e.g. `{"model": "bert-base-cased", "device": "cpu"}`),
    a scorer object, or a CachedScorer (used as it is). `cache=False` neither reads nor writes the
    on-disk caches (scores, and a hosted scorer's answers)."""
    if isinstance(scorer, CachedScorer):
        return scorer
    if isinstance(scorer, str):
        from promptmine.models.score import SCORERS

        options = dict(options or {})
        if not cache and "cache" in SCORERS.options(scorer).model_fields:
            options.setdefault("cache", False)
        try:
            scorer = SCORERS.create(scorer, options)
        except (OSError, ValueError) as e:
            raise PromptmineError(f"cannot load the {scorer} scorer: {e}") from None
    return CachedScorer(scorer, cache)


# -- reading templates or selections ------------------------------------------------------------

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


def read_candidate_objects(path: str) -> list[str]:
    from promptmine.core.io import iter_lines

    return [line.strip() for _, line in iter_lines(path) if line.strip() and not line.startswith("#")]


def load_facts(pairs, relations: set[str | None], *, relation: str | None = None,
               max_candidates: int | None = None, candidates=None,
               limit: int | None = None, strict: bool = False) -> dict[str | None, RelationFacts]:
    """Facts per relation from a pairs file (malformed lines skipped and reported, or with `strict` an
    error) or a list of Pairs; `candidates`: a file or a list of objects."""
    path = pairs if isinstance(pairs, (str, Path)) else None
    pairs = read_pairs(path, strict=strict) if path is not None else list(pairs)
    if not pairs:
        raise InputError("no pairs", path)
    grouped = group_by_relation(pairs, relations, default=relation)
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


# -- report formatting --------------------------------------------------------------------------

def format_scores(scores: Sequence[Score]) -> str:
    from promptmine.report import text_table

    """One line per score, then the micro average; scores of several methods (a selections file)
    get a method column and one micro average per method, never one across methods."""
    groups: dict[str, list[Score]] = {}
    for s in scores:
        groups.setdefault(score_group(s), []).append(s)
    several = len(groups) > 1
    rows = [[s.relation or "-"] + ([score_group(s)] if several else []) +
            [s.template, s.n, f"{100 * s.p_at_1:.1f}", f"{100 * s.mrr:.1f}"] for s in scores]
    for group, members in groups.items():
        p1, m, n = micro_average(members)
        rows.append(["micro"] + ([group] if several else []) +
                    [f"all {len(members)} rows", n, f"{100 * p1:.1f}", f"{100 * m:.1f}"])
    return text_table(["relation"] + (["method"] if several else []) + ["template", "n", "P@1", "MRR"], rows)


def score_group(score: Score) -> str:
    """What a score's rows are averaged under: run's row, else the selection method (plain
    templates: "template")."""
    if score.row:
        return score.row
    return "template" if score.method in (None, "manual") else score.method


# -- the library function -------------------------------------------------------------------------

def evaluate(templates, pairs, *, scorer="causal", options: dict | None = None, relation: str | None = None,
             candidates=None, max_candidates: int | None = None, limit: int | None = None,
             cache: bool = True, strict: bool = False) -> list[Score]:
    """P@1 and MRR of each template (or selection) on the facts of its relation.

    `templates`: a file (templates, candidates or `promptmine select` output), or a list of template
    strings, Candidates, Selections or (relation, template) tuples; a template without a relation is
    evaluated on every relation. `pairs`: a facts file or a list of Pairs (`relation` names the
    relation of pairs without one). `candidates`: the objects to rank (a file or a list; default: the
    distinct objects of each relation's pairs, the `max_candidates` most frequent). `limit`: the first
    N facts per relation. `strict`: a malformed line of the pairs file is an error (default: skipped
    and reported). `scorer`/`options`/`cache`: as for `load_scorer`."""
    selections = as_selections(templates)
    if not selections:
        raise InputError("no templates", templates if isinstance(templates, (str, Path)) else None)
    facts_by_rel = load_facts(pairs, {s.relation for s in selections}, relation=relation,
                              max_candidates=max_candidates, candidates=candidates, limit=limit, strict=strict)
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
