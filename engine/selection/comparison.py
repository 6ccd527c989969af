"""`compare`: select on training facts, evaluate on test facts, for each way of prompting of
LPAQA's tables (ROWS) and each relation's candidate `Pool`; what `promptmine run` and the LPAQA
benchmark report.

Rows: Manual (the relation's template), Mined top-1 (best mined template on the training facts),
Paraphrased top-1 (best of the manual template and its back-translations), Mined+Paraphrased top-1
(best of all), the top-K rank ensemble and the optimised ensemble (both over all candidates).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from promptmine.core.progress import log, plural
from promptmine.core.records import Score, Selection, WeightedTemplate
from promptmine.scoring import RelationFacts, evaluate_blocks, micro_average, score_templates
from promptmine.selection.choosers import OptimizedEnsemble, RankEnsemble, Top1
from promptmine.selection.racing import Race, RaceResult, Strategy

ROWS = ("Manual", "Mined top-1", "Paraphrased top-1", "Mined+Paraphrased top-1", "top-K rank ensemble",
        "Optimized ensemble")


@dataclass
class Pool:
    """One relation's candidate templates by origin (manual first)."""

    manual: str
    mined: list[str] = field(default_factory=list)
    paraphrased: list[str] = field(default_factory=list)

    def dedupe(self) -> Pool:
        """Each prompt once, where it first appears: manual, then mined, then paraphrased. Only
        spacing runs are merged: `[Y] .` and `[Y].`, `member of the [Y]` and `member of [Y]` are
        different texts to the scorer (they score differently), so both stay candidates."""
        seen = {scored_text(self.manual)}
        mined, para = [], []
        for src, dst in ((self.mined, mined), (self.paraphrased, para)):
            for t in src:
                if scored_text(t) not in seen:
                    seen.add(scored_text(t))
                    dst.append(t)
        return Pool(self.manual, mined, para)

    @property
    def all(self) -> list[str]:
        return [self.manual] + self.mined + self.paraphrased


def scored_text(template: str) -> str:
    """A template as the scorer reads it, up to runs of spaces (what `Pool.dedupe` merges)."""
    return " ".join(template.split())


@dataclass
class Comparison:
    scores: dict[str, list[Score]]  # row -> per-relation test scores
    selections: dict[str, list[Selection]]  # row -> per-relation selections
    races: dict[str, RaceResult] = field(default_factory=dict)  # relation -> how its candidates were raced
    # row -> relation -> why the row's method did not run there (its selection is another row's)
    fallbacks: dict[str, dict[str, str]] = field(default_factory=dict)

    def ran(self, row: str) -> list[bool]:
        """Per relation (in `scores[row]` order): whether the row's own method chose its prompt."""
        fell = self.fallbacks.get(row, {})
        return [s.relation not in fell for s in self.scores[row]]

    def micro(self, row: str) -> tuple[float, float, int]:
        return micro_average(self.scores[row])

    @property
    def cost(self) -> int:
        """(fact, template) pairs scored for selection."""
        return sum(r.cost for r in self.races.values())


def compare(scorer, pools: dict[str, Pool], train: dict[str, RelationFacts | list[RelationFacts]],
            test: dict[str, RelationFacts | list[RelationFacts]], *, strategy: Strategy = Race(),
            rank: RankEnsemble = RankEnsemble(), optimized: OptimizedEnsemble = OptimizedEnsemble(), seed: int = 0,
            on_stage=None) -> Comparison:
    """Select on `train`, evaluate on `test`, for every row of ROWS and every relation in `pools`.

    `strategy`: `Race(...)` (the candidates race over blocks of training facts, its `budget` per
    relation, with the mined ones and the manual + paraphrased ones as groups that each keep a
    winner, and the ensembles' best never dropped) or `Exhaustive()` (every candidate on every
    training fact). The top-1 rows are the best survivors of their pool (`Top1`); then the `rank`
    and `optimized` ensembles' choices (the optimised one falls back to the rank ensemble on too few
    facts, its Selection says so in `note`; `seed` draws its held-out split and orders the facts).
    Each Selection's `facts` is how many training facts its templates were scored on. `train` and
    `test` values may be one RelationFacts or a list of blocks, each with its own candidate set (a
    relation's test blocks merge into one Score). All relations are selected before any is
    evaluated; `on_stage(name)`, when given, is called as each phase ("select", "evaluate") starts."""
    k = rank.k
    scores: dict[str, list[Score]] = {r: [] for r in ROWS}
    sels: dict[str, list[Selection]] = {r: [] for r in ROWS}
    races: dict[str, RaceResult] = {}
    chosen_by_rel: dict[str, dict[str, Selection]] = {}
    fallbacks: dict[str, dict[str, str]] = {}
    if on_stage:
        on_stage("select")
    for rel, pool in pools.items():
        pool = pool.dedupe()
        tr = train[rel]
        n_train, n_test = (sum(b.n for b in as_blocks(x)) for x in (tr, test[rel]))
        if n_train == 0 or n_test == 0:
            log(f"{rel}: skipped (train {n_train}, test {plural(n_test, 'fact')})")
            continue
        groups = [pool.mined, [pool.manual] + pool.paraphrased]
        result = strategy.run(scorer, pool.all, tr, seed=seed, keep=max(rank.keep, optimized.keep), groups=groups,
                              desc=f"select {rel}")
        races[rel] = result
        manual = Selection(relation=rel, method="manual", model=scorer.identity,
                           templates=[WeightedTemplate(template=pool.manual)], facts=result.seen[pool.manual])

        def pick(templates: list[str]) -> Selection:
            return Top1().choose(result, rel, scorer.identity, among=templates) or manual

        chosen = {
            "Manual": manual,
            # no mined template for this relation: the row falls back to the manual prompt
            "Mined top-1": pick(pool.mined) if pool.mined else manual,
            "Paraphrased top-1": pick([pool.manual] + pool.paraphrased),
            "Mined+Paraphrased top-1": pick(pool.all),
            "top-K rank ensemble": rank.choose(result, rel, scorer.identity, seed=seed),
            "Optimized ensemble": optimized.choose(result, rel, scorer.identity, seed=seed),
        }
        chosen_by_rel[rel] = chosen
        if not pool.mined:
            fallbacks.setdefault("Mined top-1", {})[rel] = "no mined template: the manual prompt"
        if not pool.paraphrased:
            fallbacks.setdefault("Paraphrased top-1", {})[rel] = "no paraphrase: the manual prompt"
        if not pool.mined and not pool.paraphrased:
            fallbacks.setdefault("Mined+Paraphrased top-1", {})[rel] = "no candidate: the manual prompt"
        if chosen["Optimized ensemble"].method != "optimized":
            fallbacks.setdefault("Optimized ensemble", {})[rel] = chosen["Optimized ensemble"].note or "not optimised"
    if on_stage:
        on_stage("evaluate")
    # every selected template on every test block of every relation, in one call: the scorer packs
    # them into shared forward passes; the rows below then read these scores
    scored_by_rel = {rel: [{} for _ in as_blocks(test[rel])] for rel in chosen_by_rel}
    jobs = [(rel, i, t, b) for rel, chosen in chosen_by_rel.items() for i, b in enumerate(as_blocks(test[rel]))
            for t in dict.fromkeys(wt.template for sel in chosen.values() for wt in sel.templates)]
    for (rel, i, t, _), sc in zip(jobs, score_templates(scorer, [(t, b) for _, _, t, b in jobs])):
        scored_by_rel[rel][i][t] = sc
    for rel, chosen in chosen_by_rel.items():
        blocks = as_blocks(test[rel])
        test_scored = scored_by_rel[rel]
        for row, sel in chosen.items():
            sel = sel.model_copy(update={"row": row_label(row, k)})  # its scores carry the row too
            sels[row].append(sel)
            scores[row].append(evaluate_blocks(scorer, sel, blocks, test_scored))
    return Comparison(scores, sels, races, fallbacks)


def as_blocks(facts: RelationFacts | list[RelationFacts]) -> list[RelationFacts]:
    """A relation's facts as a list of blocks, each with its own candidate set (one block: itself)."""
    return [facts] if isinstance(facts, RelationFacts) else list(facts)


def row_label(row: str, k: int) -> str:
    return row.replace("top-K", f"top-{k}")
