"""Which prompts get scored on how many training examples: the strategies `Race` and `Exhaustive`.

`Race(budget, block_size, z, metric)` scores every template on a first block of facts and gives more
blocks only to those not clearly worse than the leader, within a budget of (fact, template) pairs, so
the winner and the ensembles' top-K are judged on hundreds of facts without scoring every candidate on
all of them; `Exhaustive()` scores everything. Both are settings written once (their fields' defaults);
`run` on a scorer, templates and facts gives a `RaceResult` that the choosers (`promptmine.selection.
choosers`) pick from. The same objects serve relations (`select`, `compare`, `run`) and the task search.

The shared interface: candidates (strings: templates, or a task's variant keys), blocks of items with
`n`, `gold` and `objects` (a relation's `RelationFacts` ranked over candidate objects; a task's
`ExampleBlock` of examples over its labels) and an evaluator: a relation's scorer (ranking facts through
`score_templates`), or anything with `score_blocks(jobs)` (the task search's `VariantScorer`, reading
examples out through label words), giving one `Scored` per (candidate, block).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from promptmine.core.errors import PromptmineError
from promptmine.core.progress import log, plural
from promptmine.scoring import FLOOR, RelationFacts, Scored, mrr, p_at_1, score_templates


def by_training_accuracy(scored: Sequence[Scored]) -> list[Scored]:
    """Best first by P@1, then MRR; equal templates keep their input order (e.g. the manual one first)."""
    return sorted(scored, key=lambda s: (-p_at_1(s.ranks), -mrr(s.ranks)))


@dataclass
class RaceResult:
    """What racing templates over training facts found.

    Every survivor was scored on the same first `facts` facts (in the seeded block order); the
    templates dropped along the way were scored on fewer (`seen`)."""

    survivors: list[Scored]  # best first (P@1, then MRR), on the shared facts
    gold: list[int]  # the gold column of each of those facts (candidate sets padded to one width)
    seen: dict[str, int]  # facts each template was scored on
    cost: int  # (fact, template) pairs scored (whether or not the cache already had them)
    rounds: list[tuple[int, int]] = field(default_factory=list)  # (facts so far, templates scored) per round
    strategy: str = "race"  # "race", or "exhaustive" when nothing was dropped

    @property
    def facts(self) -> int:
        return len(self.gold)


def split_blocks(facts: RelationFacts, size: int, seed: int = 0) -> list[RelationFacts]:
    """The facts shuffled (by `seed`) and cut into blocks of `size` sharing the candidate set."""
    order = list(range(facts.n))
    random.Random(f"{seed}:{facts.relation}:blocks").shuffle(order)
    return [RelationFacts(facts.relation, [facts.subjects[i] for i in order[a:a + size]],
                          [facts.gold[i] for i in order[a:a + size]], facts.objects)
            for a in range(0, len(order), max(1, size))]


def _per_fact(rank_list: Sequence[int], metric: str):
    import numpy as np

    r = np.asarray(rank_list, dtype=np.float64)
    return (r == 1).astype(np.float64) if metric == "hit1" else 1.0 / r


def advantage(candidate: Sequence[int], incumbent: Sequence[int], *, z: float, metric: str) -> tuple[float, float]:
    """(mean, lower bound) of a candidate's paired per-fact advantage over the incumbent (ranks on the
    same facts, in the same order; `metric` as the race's): the lower bound is mean - z * standard
    error. A candidate replaces the incumbent only when the bound is above zero."""
    import numpy as np

    d = _per_fact(candidate, metric) - _per_fact(incumbent, metric)
    if len(d) < 2:
        return float(d.mean()) if len(d) else 0.0, float("-inf")
    return float(d.mean()), float(d.mean() - z * d.std(ddof=1) / np.sqrt(len(d)))


def _stack(parts: Sequence[Scored], blocks: Sequence[RelationFacts], width: int):
    """One [facts, width] matrix from per-block matrices, narrower candidate sets padded with FLOOR."""
    import numpy as np

    rows = [np.pad(np.asarray(p.matrix, dtype=np.float64), ((0, 0), (0, width - len(b.objects))),
                   constant_values=FLOOR) for p, b in zip(parts, blocks)]
    return np.concatenate(rows, axis=0) if rows else np.zeros((0, width))


def _race(scorer, templates: Sequence[str], blocks: RelationFacts | Sequence[RelationFacts], race: Race, *,
          eliminate: bool, seed: int, keep: int, groups: Sequence[Sequence[str]], desc: str, first: int = 1,
          growth: float = 2.0, protect: Sequence[str] = (),
          nouns: tuple[str, str] = ("template", "fact")) -> RaceResult:
    """Racing (successive halving with a confidence bound) over blocks of training facts.

    The settings are `race`'s (`budget`, `block_size`, `z`, `metric`). All templates are scored on the
    first `first` block(s). After each round a template is dropped when its paired per-fact difference
    to its group's leader (reciprocal rank, or hit@1 with metric="hit1"; same facts) is clearly
    negative: mean + z * standard error < 0. Survivors are scored on more blocks (the facts seen grow
    by `growth` per round) until the training facts or the `budget` in (fact, template) pairs run out;
    when the next round does not fit the budget the weakest survivors (by mean) are dropped first, as
    in successive halving, and then fewer blocks are added. Never dropped: each group's leader, the
    `keep` best overall (the top-K that ensembles use) and the `protect`ed templates (the incumbent a
    candidate must clearly beat), so they end on the most facts. `groups` are
    template subsets that each need a winner (e.g. mined, and manual + paraphrased); templates in none
    form one group. `nouns`: what the note calls the candidates and the items (a task's prompts and
    examples).
    `eliminate=False` with no budget is exhaustive selection. Deterministic for a given `seed`
    (which only orders the facts when `blocks` is one RelationFacts)."""
    import numpy as np

    budget, z, metric = race.budget, race.z, race.metric
    # the evaluator: a task's variant scorer scores its own blocks of examples; a relation's scorer
    # ranks each block's facts over its candidate objects
    evaluate = getattr(scorer, "score_blocks", None) or (lambda jobs: score_templates(scorer, jobs))
    if isinstance(blocks, RelationFacts):
        blocks = split_blocks(blocks, race.block_size, seed)
    blocks = [b for b in blocks if b.n]
    templates = list(dict.fromkeys(templates))
    if not templates:
        raise PromptmineError("no templates to race")
    if metric not in ("rr", "hit1"):
        raise PromptmineError(f"unknown racing metric {metric!r}; choose rr or hit1")
    group_of: dict[str, list[str]] = {}
    for g in groups:
        members = [t for t in dict.fromkeys(g) if t in templates]
        for t in members:
            group_of.setdefault(t, members)
    rest = [t for t in templates if t not in group_of]
    for t in rest:
        group_of[t] = rest
    parts: dict[str, list[Scored]] = {t: [] for t in templates}
    alive = list(templates)
    done, cost, rounds = 0, 0, []
    remaining = budget

    def means(names, n_blocks):
        return {t: float(np.concatenate([_per_fact(p.ranks, metric) for p in parts[t][:n_blocks]]).mean())
                for t in names}

    def protected(names, mean):
        keep_set = set(sorted(names, key=lambda t: -mean[t])[:max(1, keep)]) | (set(protect) & set(names))
        for t in names:
            members = [m for m in group_of[t] if m in names]
            keep_set.add(max(members, key=lambda m: mean[m]))
        return keep_set

    target = max(1, first)
    while done < len(blocks):
        target = min(max(target, done + 1), len(blocks))
        size = lambda upto: sum(b.n for b in blocks[done:upto])  # noqa: E731
        if remaining is not None and done:
            mean = means(alive, done)
            safe = protected(alive, mean)
            # successive halving: the weakest go first when all cannot have the next blocks
            for t in sorted(alive, key=lambda t: mean[t]):
                if len(alive) * size(target) <= remaining:
                    break
                if t not in safe:
                    alive.remove(t)
            while target > done and len(alive) * size(target) > remaining:
                target -= 1
            if target == done:
                break
        # the round's templates x new blocks in one call: the scorer packs them into a few big passes
        jobs = [(t, b) for b in blocks[done:target] for t in alive]
        for (t, _), scored in zip(jobs, evaluate(jobs)):
            parts[t].append(scored)
        step = len(alive) * size(target)
        cost += step
        if remaining is not None:
            remaining -= step
        done = target
        rounds.append((sum(b.n for b in blocks[:done]), len(alive)))
        if eliminate and len(alive) > 1:
            per = {t: np.concatenate([_per_fact(p.ranks, metric) for p in parts[t]]) for t in alive}
            mean = {t: float(v.mean()) for t, v in per.items()}
            safe = protected(alive, mean)
            n = len(next(iter(per.values())))
            dropped = []
            for t in alive:
                if t in safe or n < 2:
                    continue
                leader = max((m for m in group_of[t] if m in per), key=lambda m: mean[m])
                d = per[t] - per[leader]
                if d.mean() + z * d.std(ddof=1) / np.sqrt(n) < 0:
                    dropped.append(t)
            alive = [t for t in alive if t not in dropped]
        target = int(np.ceil(done * growth)) if growth > 1 else done + 1
    seen_blocks = blocks[:done]
    width = max((len(b.objects) for b in seen_blocks), default=0)
    survivors = []
    for t in alive:
        m = _stack(parts[t], seen_blocks, width)
        survivors.append(Scored(t, m, [r for p in parts[t] for r in p.ranks]))
    gold = [g for b in seen_blocks for g in b.gold]
    seen = {t: sum(len(p.ranks) for p in parts[t]) for t in templates}
    thing, item = nouns
    log(f"{desc}: {plural(len(templates), thing)}, {len(alive)} left on {plural(len(gold), item)} after "
        f"{plural(len(rounds), 'round')} ({plural(cost, f'({item}, {thing}) pair')}"
        + (f" of a budget of {budget}" if budget is not None else "") + ")")
    return RaceResult(by_training_accuracy(survivors), gold, seen, cost, rounds,
                "race" if eliminate or budget is not None else "exhaustive")


@dataclass(frozen=True)
class Race:
    """Racing over blocks of training facts or examples (successive halving with a paired confidence
    bound, see `_race`): `budget` in (fact, template) scorings per relation (None: until the facts run
    out), blocks of `block_size`, a template dropped when its paired difference to the leader on the
    per-fact `metric` (reciprocal rank `rr`, or `hit1`) is below zero by `z` standard errors."""

    budget: int | None = None
    block_size: int = 32
    z: float = 1.645
    metric: str = "rr"

    name = "race"

    def run(self, scorer, templates: Sequence[str], facts, *, seed: int = 0, keep: int = 3,
            groups: Sequence[Sequence[str]] = (), desc: str = "race", protect: Sequence[str] = (),
            nouns: tuple[str, str] = ("template", "fact")) -> RaceResult:
        """Race `templates` on `facts` (one RelationFacts, cut into seeded blocks, or a list of blocks);
        never dropped: each group's leader, the `keep` best overall and the `protect`ed templates.
        `nouns`: the note's words for them."""
        return _race(scorer, templates, facts, self, eliminate=True, seed=seed, keep=keep, groups=groups, desc=desc,
                     protect=protect, nouns=nouns)


@dataclass(frozen=True)
class Exhaustive:
    """Every template on every training fact, in blocks of `block_size` (how the scorer gets them;
    the task search also cuts its examples by it). `metric` is Race's, so that a strategy can stand
    in for the other; with nothing dropped it changes no result."""

    block_size: int = Race.block_size
    metric: str = Race.metric

    name = "exhaustive"

    def run(self, scorer, templates: Sequence[str], facts, *, seed: int = 0, keep: int = 3,
            groups: Sequence[Sequence[str]] = (), desc: str = "score", protect: Sequence[str] = (),
            nouns: tuple[str, str] = ("template", "fact")) -> RaceResult:
        everything = Race(budget=None, block_size=self.block_size, z=0.0, metric=self.metric)
        return _race(scorer, templates, facts, everything, eliminate=False, seed=seed, keep=keep, groups=groups,
                     desc=desc, protect=protect, nouns=nouns)


Strategy = Race | Exhaustive
STRATEGIES: dict[str, type[Race] | type[Exhaustive]] = {"race": Race, "exhaustive": Exhaustive}  # --selection


def strategy_named(name: str, *, budget: int | None = Race.budget, **settings) -> Strategy:
    """The strategy a `--selection` flag names, with `settings` (block_size, metric, ...); `budget` is
    racing's alone (an exhaustive run scores everything, whatever the budget)."""
    if name not in STRATEGIES:
        raise PromptmineError(f"unknown selection {name!r}; choose from {', '.join(STRATEGIES)}")
    return Race(budget=budget, **settings) if name == "race" else Exhaustive(**settings)
