"""`compare`: select on training facts, evaluate on test facts, for each way of prompting of
LPAQA's tables (ROWS) and each relation's candidate `Pool`; what `promptmine run` and the LPAQA
benchmark report.

Rows: Manual (the relation's template), Mined top-1 (best mined template on the training facts),
Paraphrased top-1 (best of the manual template and its back-translations), Mined+Paraphrased top-1
(best of all), the top-K rank ensemble and the optimised ensemble (both over all candidates), then the
relation search's rows (`promptmine.selection.stages`): Searched (template only), the wording winner
through the format and calibration stages, and Searched (all stages), with demonstrations too.
Every row keeps the manual prompt unless its choice is clearly better on the training facts (a
paired bound, `racing.advantage`), and candidates that hygiene or the fluency check finds broken are
dropped before any race (`Comparison.screened`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from promptmine.core.progress import log, plural
from promptmine.core.records import Score, Selection, WeightedTemplate
from promptmine.scoring import (
    RelationFacts, calibrated, combine, evaluate_blocks, micro_average, ranks, score_templates,
    selection_name,
)
from promptmine.selection.choosers import OptimizedEnsemble, RankEnsemble, Top1
from promptmine.selection.racing import Race, RaceResult, Strategy, advantage, split_blocks
from promptmine.selection.stages import (
    RelationVariant, SearchSettings, StageOutcome, decide, reserve_demos, screen, search_after_wording,
)

ROWS = ("Manual", "Mined top-1", "Paraphrased top-1", "Mined+Paraphrased top-1", "top-K rank ensemble",
        "Optimized ensemble", "Searched (template only)", "Searched (all stages)")
SEARCH_ROWS = ROWS[-2:]
DEMO_POOL = 15  # training facts set aside per relation for demonstrations (at most a quarter of them)


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
    # relation -> candidate -> why it was dropped before selection (hygiene, fluency)
    screened: dict[str, dict[str, str]] = field(default_factory=dict)
    # row -> relation -> the stages' outcomes (the top-1 rows' and ensembles' one verdict, the searches' each)
    searches: dict[str, dict[str, list[StageOutcome]]] = field(default_factory=dict)

    def kept_manual(self, row: str) -> dict[str, str]:
        """Relations where the row kept the manual prompt, with why (the best challenger's bound)."""
        out = {}
        for rel, stages in self.searches.get(row, {}).items():
            if not any(st.replaced for st in stages):
                best = max((st for st in stages if st.challenger), key=lambda st: st.lower, default=None)
                out[rel] = ("no candidate" if best is None else
                            f"best challenger {best.mean:+.3f} per fact, lower bound {best.lower:+.3f} "
                            f"on {best.facts} facts")
        return out

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
            search: SearchSettings = SearchSettings(), on_stage=None) -> Comparison:
    """Select on `train`, evaluate on `test`, for every row of ROWS and every relation in `pools`.

    Before selection, `stages.screen` drops the candidates hygiene or the fluency check finds broken
    (`Comparison.screened`). `strategy`: `Race(...)` (the candidates race over blocks of training
    facts, its `budget` per relation, with the mined ones and the manual + paraphrased ones as groups
    that each keep a winner, the manual prompt and the ensembles' best never dropped) or `Exhaustive()`
    (every candidate on every training fact). Each top-1 row's best survivor of its pool (`Top1`), and
    each ensemble (`rank`, `optimized`; the optimised one falls back to the rank ensemble on too few
    facts, its Selection says so in `note`; `seed` draws its held-out split and orders the facts),
    replaces the manual prompt only when clearly better on the shared training facts (`search.z`).
    The search rows go on from the Mined+Paraphrased winner through `search.dimensions`
    (`stages.search_after_wording`); the demonstrations come from training facts set aside from the
    race (`DEMO_POOL`). Each Selection's `facts` is how many training facts its templates were scored
    on. `train` and `test` values may be one RelationFacts or a list of blocks, each with its own
    candidate set (a relation's test blocks merge into one Score). All relations are selected before
    any is evaluated; `on_stage(name)`, when given, is called as each phase ("select", "evaluate")
    starts."""
    k = rank.k
    scores: dict[str, list[Score]] = {r: [] for r in ROWS}
    sels: dict[str, list[Selection]] = {r: [] for r in ROWS}
    races: dict[str, RaceResult] = {}
    chosen_by_rel: dict[str, dict[str, Selection]] = {}
    fallbacks: dict[str, dict[str, str]] = {}
    screened: dict[str, dict[str, str]] = {}
    searches: dict[str, dict[str, list[StageOutcome]]] = {r: {} for r in ROWS[1:]}
    metric = strategy.metric
    if on_stage:
        on_stage("select")
    for rel, pool in pools.items():
        pool = pool.dedupe()
        tr = as_blocks(train[rel])
        n_train, n_test = (sum(b.n for b in as_blocks(x)) for x in (tr, test[rel]))
        if n_train == 0 or n_test == 0:
            log(f"{rel}: skipped (train {n_train}, test {plural(n_test, 'fact')})")
            continue
        demos = "demos" in search.dimensions
        demo_pool, tr = reserve_demos(tr, min(DEMO_POOL, n_train // 4) if demos else 0,
                                      avoid={s for b in as_blocks(test[rel]) for s in b.subjects})
        if not tr:
            log(f"{rel}: skipped (no training fact left beside the demonstrations)")
            continue
        if isinstance(train[rel], RelationFacts):  # one set of facts: the race's seeded blocks, for every stage
            tr = split_blocks(tr[0], strategy.block_size, seed)
        dropped = screen(pool.manual, pool.mined + pool.paraphrased)
        if dropped:
            screened[rel] = dropped
            pool = Pool(pool.manual, [t for t in pool.mined if t not in dropped],
                        [t for t in pool.paraphrased if t not in dropped])
        groups = [pool.mined, [pool.manual] + pool.paraphrased]
        result = strategy.run(scorer, pool.all, tr, seed=seed, keep=max(rank.keep, optimized.keep), groups=groups,
                              desc=f"select {rel}", protect=[pool.manual])
        races[rel] = result
        manual = Selection(relation=rel, method="manual", model=scorer.identity,
                           templates=[WeightedTemplate(template=pool.manual)], facts=result.seen[pool.manual])

        def pick(row: str, templates: list[str]) -> Selection:
            out = decide(row, result, pool.manual, len(templates), search.z, metric, among=templates)
            searches[row][rel] = [out]
            if not out.replaced:
                return manual.model_copy(update={"facts": result.facts})
            return Top1().choose(result, rel, scorer.identity, among=[out.after])

        def guard(row: str, sel: Selection) -> Selection:
            """An ensemble replaces the manual prompt only when clearly better on the shared facts."""
            ens = combined_ranks(result, sel)
            base = next(s for s in result.survivors if s.template == pool.manual)
            mean, lower = advantage(ens, base.ranks, z=search.z, metric=metric)
            out = StageOutcome(row, len(sel.templates), pool.manual, pool.manual, challenger=selection_name(sel),
                               mean=mean, lower=lower, facts=result.facts)
            if lower > 0:
                out.after = selection_name(sel)
                out.change = sel.method
            searches[row][rel] = [out]
            return sel if lower > 0 else manual.model_copy(update={"facts": result.facts,
                                                                    "note": f"{sel.method} ensemble not clearly "
                                                                            f"better: the manual prompt"})

        opt = optimized.choose(result, rel, scorer.identity, seed=seed)
        chosen = {
            "Manual": manual,
            # no mined template for this relation: the row falls back to the manual prompt
            "Mined top-1": pick("Mined top-1", pool.mined) if pool.mined else manual,
            "Paraphrased top-1": pick("Paraphrased top-1", pool.paraphrased),
            "Mined+Paraphrased top-1": pick("Mined+Paraphrased top-1", pool.mined + pool.paraphrased),
            "top-K rank ensemble": guard("top-K rank ensemble", rank.choose(result, rel, scorer.identity, seed=seed)),
            "Optimized ensemble": guard("Optimized ensemble", opt),
        }
        wording = searches["Mined+Paraphrased top-1"][rel][0] if "wording" in search.dimensions else None
        start = RelationVariant(wording.after if wording else pool.manual)
        runners_up = [RelationVariant(sc.template) for sc in result.survivors
                      if sc.template not in (pool.manual, start.template)][:search.starts]
        for row, with_demos in zip(SEARCH_ROWS, (False, demos)):
            found = search_after_wording(scorer, rel, start, tr, demo_pool, strategy, search, seed=seed,
                                         demos=with_demos, wording=wording,
                                         manual=RelationVariant(pool.manual) if with_demos else None,
                                         others=runners_up if with_demos else ())
            searches[row][rel] = found.stages
            chosen[row] = Selection(relation=rel, method="top1" if found.prompt.text != pool.manual else "manual",
                                    model=scorer.identity, templates=[WeightedTemplate(template=found.prompt.text)],
                                    facts=max((st.facts for st in found.stages), default=result.facts),
                                    calibration=list(found.prompt.calibration) or None,
                                    note="; ".join(found.changes) or None)
        chosen_by_rel[rel] = chosen
        if not pool.mined:
            fallbacks.setdefault("Mined top-1", {})[rel] = "no mined template: the manual prompt"
        if not pool.paraphrased:
            fallbacks.setdefault("Paraphrased top-1", {})[rel] = "no paraphrase: the manual prompt"
        if not pool.mined and not pool.paraphrased:
            fallbacks.setdefault("Mined+Paraphrased top-1", {})[rel] = "no candidate: the manual prompt"
        if opt.method != "optimized":
            fallbacks.setdefault("Optimized ensemble", {})[rel] = opt.note or "not optimised"
    if on_stage:
        on_stage("evaluate")
    # every selected template on every test block of every relation, in one call per readout: the
    # scorer packs them into shared forward passes; the rows below then read these scores
    readouts = {(): scorer}
    for chosen in chosen_by_rel.values():
        for sel in chosen.values():
            if sel.calibration:
                readouts.setdefault(tuple(sel.calibration), calibrated(scorer, sel.calibration))
    scored_by = {(cal, rel): [{} for _ in as_blocks(test[rel])] for cal in readouts for rel in chosen_by_rel}
    for cal, sc in readouts.items():
        jobs = [(rel, i, t, b) for rel, chosen in chosen_by_rel.items() for i, b in enumerate(as_blocks(test[rel]))
                for t in dict.fromkeys(wt.template for sel in chosen.values() if tuple(sel.calibration or ()) == cal
                                       for wt in sel.templates)]
        for (rel, i, t, _), got in zip(jobs, score_templates(sc, [(t, b) for _, _, t, b in jobs])):
            scored_by[(cal, rel)][i][t] = got
    for rel, chosen in chosen_by_rel.items():
        blocks = as_blocks(test[rel])
        for row, sel in chosen.items():
            sel = sel.model_copy(update={"row": row_label(row, k)})  # its scores carry the row too
            cal = tuple(sel.calibration or ())
            sels[row].append(sel)
            scores[row].append(evaluate_blocks(readouts[cal], sel, blocks, scored_by[(cal, rel)]))
    return Comparison(scores, sels, races, fallbacks, screened, searches)


def combined_ranks(result: RaceResult, sel: Selection) -> list[int]:
    """Ranks of an ensemble's log-linear combination on the race's shared facts."""
    by = {s.template: s for s in result.survivors}
    return ranks(combine([by[wt.template].matrix for wt in sel.templates], [wt.weight for wt in sel.templates]),
                 result.gold)


def as_blocks(facts: RelationFacts | list[RelationFacts]) -> list[RelationFacts]:
    """A relation's facts as a list of blocks, each with its own candidate set (one block: itself)."""
    return [facts] if isinstance(facts, RelationFacts) else list(facts)


def row_label(row: str, k: int) -> str:
    return row.replace("top-K", f"top-{k}")
