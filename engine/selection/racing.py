"""Choose prompts by how well they make a model answer training facts, as LPAQA does.

- top1: the template with the best training P@1 (MRR breaks ties).
- rank: the K best templates, their log-probabilities averaged (weights 1/K).
- optimized: one weight per template, softmax(theta), learnt on the training facts to maximise the
  gold object's probability under the log-linear combination sum_t w_t log P_t(y|x) (softmax over
  the candidates), with early stopping on a held-out split of the training facts (at least a few
  dozen facts; with fewer, the rank ensemble, and the Selection's `note` says so).

Which templates get scored on how many facts: `race` (default) scores all of them on a first block
of facts and gives more facts only to those not clearly worse than the leader, within a budget of
(fact, template) pairs, so the winner and the ensembles' top-K are judged on hundreds of facts
without scoring every candidate on all of them; exhaustive selection scores everything.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from promptmine.core.errors import InputError, PromptmineError
from promptmine.scoring import (
    FLOOR, CachedScorer, RelationFacts, Scored, calibrated, load_facts, load_scorer, mrr, p_at_1,
    score_template, score_templates,
)
from promptmine.core.io import read_templates
from promptmine.core.progress import log, plural, progress
from promptmine.core.records import Selection, WeightedTemplate

METHODS = ("top1", "rank", "optimized")


def by_training_accuracy(scored: Sequence[Scored]) -> list[Scored]:
    """Best first by P@1, then MRR; equal templates keep their input order (e.g. the manual one first)."""
    return sorted(scored, key=lambda s: (-p_at_1(s.ranks), -mrr(s.ranks)))


def select_top1(scored: Sequence[Scored], relation: str | None, model: str) -> Selection:
    best = by_training_accuracy(scored)[0]
    return Selection(relation=relation, method="top1", model=model, templates=[WeightedTemplate(template=best.template)])


def select_rank(scored: Sequence[Scored], relation: str | None, model: str, k: int = 3) -> Selection:
    best = by_training_accuracy(scored)[:max(1, k)]
    return Selection(relation=relation, method="rank", model=model,
                     templates=[WeightedTemplate(template=s.template, weight=1.0 / len(best)) for s in best])


def learn_weights(matrices: Sequence, gold: Sequence[int], *, dev_fraction: float = 0.2, seed: int = 0,
                  lr: float = 0.1, max_steps: int = 300, patience: int = 20) -> list[float]:
    """Softmax weights over templates maximising the mean log-probability of the gold objects.

    `matrices`: per template a [facts, candidates] array of log P(candidate | fact, template).
    With at least 5 facts, a `dev_fraction` of them (chosen with `seed`) is held out and training
    stops once the dev loss has not improved for `patience` full-batch Adam steps; the weights of
    the best dev loss are returned. With fewer facts, training loss decides."""
    import numpy as np
    import torch

    t = len(matrices)
    if t == 1:
        return [1.0]
    s = torch.tensor(np.maximum(np.stack([np.asarray(m, dtype=np.float64) for m in matrices]), FLOOR),
                     dtype=torch.float64)  # [T, N, C]
    y = torch.tensor(list(gold), dtype=torch.long)
    n = len(y)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_dev = int(round(n * dev_fraction)) if n >= 5 else 0
    dev, fit = order[:n_dev], order[n_dev:]

    def loss(theta, idx):
        combined = torch.einsum("t,tnc->nc", torch.softmax(theta, 0), s[:, idx])
        return torch.nn.functional.cross_entropy(combined, y[idx])

    theta = torch.zeros(t, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([theta], lr=lr)
    watch = dev if n_dev else fit
    with torch.no_grad():
        best, best_theta = float(loss(theta, watch)), theta.detach().clone()
    since = 0
    for _ in range(max_steps):
        opt.zero_grad()
        loss(theta, fit).backward()
        opt.step()
        with torch.no_grad():
            current = float(loss(theta, watch))
        if current < best - 1e-9:
            best, best_theta, since = current, theta.detach().clone(), 0
        else:
            since += 1
            if since >= patience:
                break
    return torch.softmax(best_theta, 0).tolist()


def select_optimized(scored: Sequence[Scored], gold: Sequence[int], relation: str | None, model: str, *,
                     min_weight: float = 1e-3, **train) -> Selection:
    """Learnt weights; templates under `min_weight` are dropped (and the rest renormalised), which
    changes the combined scores by well under 0.1% and saves scoring them at test time."""
    weights = learn_weights([s.matrix for s in scored], gold, **train)
    kept = [(s.template, w) for s, w in zip(scored, weights) if w >= min_weight] or \
        [(scored[max(range(len(weights)), key=weights.__getitem__)].template, 1.0)]
    total = sum(w for _, w in kept)
    kept.sort(key=lambda tw: -tw[1])
    return Selection(relation=relation, method="optimized", model=model,
                     templates=[WeightedTemplate(template=t, weight=w / total) for t, w in kept])


def select_by(method: str, scored: Sequence[Scored], facts: RelationFacts, model: str, *, k: int = 3,
              **train) -> Selection:
    """One relation's selection by `method` (top1, rank, optimized) from its scored templates."""
    if not scored:
        raise PromptmineError(f"{facts.relation}: no templates to select from")
    if method == "top1":
        return select_top1(scored, facts.relation, model)
    if method == "rank":
        return select_rank(scored, facts.relation, model, k)
    if method == "optimized":
        return select_optimized(scored, facts.gold, facts.relation, model, **train)
    raise PromptmineError(f"unknown selection method {method!r}; choose from {', '.join(METHODS)}")


def score_all(scorer: CachedScorer, templates: Sequence[str], facts: RelationFacts, desc: str = "score") -> list[Scored]:
    return [score_template(scorer, t, facts) for t in progress(templates, desc=desc, unit="template")]


# -- adaptive selection: racing over blocks of training facts -----------------------------------

@dataclass
class Race:
    """What racing templates over training facts found.

    Every survivor was scored on the same first `facts` facts (in the seeded block order); the
    templates dropped along the way were scored on fewer (`seen`)."""

    survivors: list[Scored]  # best first (P@1, then MRR), on the shared facts
    gold: list[int]  # the gold column of each of those facts (candidate sets padded to one width)
    seen: dict[str, int]  # facts each template was scored on
    cost: int  # (fact, template) pairs scored (whether or not the cache already had them)
    rounds: list[tuple[int, int]] = field(default_factory=list)  # (facts so far, templates scored) per round
    method: str = "race"

    @property
    def facts(self) -> int:
        return len(self.gold)


def split_blocks(facts: RelationFacts, size: int = 32, seed: int = 0) -> list[RelationFacts]:
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


def _stack(parts: Sequence[Scored], blocks: Sequence[RelationFacts], width: int):
    """One [facts, width] matrix from per-block matrices, narrower candidate sets padded with FLOOR."""
    import numpy as np

    rows = [np.pad(np.asarray(p.matrix, dtype=np.float64), ((0, 0), (0, width - len(b.objects))),
                   constant_values=FLOOR) for p, b in zip(parts, blocks)]
    return np.concatenate(rows, axis=0) if rows else np.zeros((0, width))


def race(scorer, templates: Sequence[str], blocks: RelationFacts | Sequence[RelationFacts], *,
         budget: int | None = None, seed: int = 0, block_size: int = 32, first: int = 1, growth: float = 2.0,
         z: float = 1.645, metric: str = "rr", keep: int = 3, groups: Sequence[Sequence[str]] = (),
         eliminate: bool = True, desc: str = "race") -> Race:
    """Racing (successive halving with a confidence bound) over blocks of training facts.

    All templates are scored on the first `first` block(s). After each round a template is dropped
    when its paired per-fact difference to its group's leader (reciprocal rank, or hit@1 with
    metric="hit1"; same facts) is clearly negative: mean + z * standard error < 0. Survivors are
    scored on more blocks (the facts seen grow by `growth` per round) until the training facts or
    the `budget` in (fact, template) pairs run out; when the next round does not fit the budget the
    weakest survivors (by mean) are dropped first, as in successive halving, and then fewer blocks
    are added. Never dropped: each group's leader and the `keep` best overall (the top-K that
    ensembles use), so they end on the most facts. `groups` are template subsets that each need a
    winner (e.g. mined, and manual + paraphrased); templates in none form one group.
    `eliminate=False` with no budget is exhaustive selection. Deterministic for a given `seed`
    (which only orders the facts when `blocks` is one RelationFacts)."""
    import numpy as np

    if isinstance(blocks, RelationFacts):
        blocks = split_blocks(blocks, block_size, seed)
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
        keep_set = set(sorted(names, key=lambda t: -mean[t])[:max(1, keep)])
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
        for (t, _), scored in zip(jobs, score_templates(scorer, jobs)):
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
    log(f"{desc}: {plural(len(templates), 'template')}, {len(alive)} left on {plural(len(gold), 'fact')} after "
        f"{plural(len(rounds), 'round')} ({plural(cost, '(fact, template) pair')}"
        + (f" of a budget of {budget}" if budget is not None else "") + ")")
    return Race(by_training_accuracy(survivors), gold, seen, cost, rounds,
                "race" if eliminate or budget is not None else "exhaustive")


def race_top1(result: Race, among: Sequence[str], relation: str | None, model: str) -> Selection | None:
    """The best survivor among `among` (None when none of them survived)."""
    pool = set(among)
    best = next((s for s in result.survivors if s.template in pool), None)
    if best is None:
        return None
    return Selection(relation=relation, method="top1", model=model, templates=[WeightedTemplate(template=best.template)],
                     facts=result.facts)


def race_rank(result: Race, relation: str | None, model: str, k: int = 3) -> Selection:
    best = result.survivors[:max(1, k)]
    return Selection(relation=relation, method="rank", model=model, facts=result.facts,
                     templates=[WeightedTemplate(template=s.template, weight=1.0 / len(best)) for s in best])


def ensemble(scored: Sequence[Scored], gold: Sequence[int], relation: str | None, model: str, *, k: int = 3,
             dev_fraction: float = 0.3, min_dev: int = 40, min_fit: int = 60, max_templates: int = 6,
             seed: int = 0, **train) -> Selection:
    """The optimised ensemble of the best `max_templates` templates (best first in `scored`), its
    weights fit on part of the facts and early-stopped on a held-out part of at least `min_dev`
    facts. Too few facts for that (or one template): the top-`k` rank ensemble, with a note."""
    n = len(gold)
    cands = list(scored)[:max(1, max_templates)]
    n_dev = max(min_dev, int(round(n * dev_fraction)))
    if len(cands) < 2 or n - n_dev < min_fit:
        sel = select_rank(cands, relation, model, k)
        why = ("one template left" if len(cands) < 2 else
               f"{n} training facts; learning weights needs {min_dev + min_fit} ({min_dev} held out)")
        return sel.model_copy(update={"facts": n, "note": f"rank ensemble instead of optimised: {why}"})
    sel = select_optimized(cands, gold, relation, model, dev_fraction=n_dev / n, seed=seed, **train)
    return sel.model_copy(update={"facts": n, "note": f"weights fit on {plural(n - n_dev, 'fact')}, early-stopped on {n_dev} held out"})


# -- the library function -------------------------------------------------------------------------

def select(templates, pairs, *, method: str = "top1", k: int = 3, dev_fraction: float = 0.3, seed: int = 0,
           selection: str = "race", budget: int | None = None, block_size: int = 32, z: float = 1.645,
           metric: str = "rr", max_templates: int = 6, min_dev: int = 40, min_fit: int = 60,
           calibrate: bool = False, fillers: Sequence[str] = ("N/A",),
           scorer="causal", options: dict | None = None, relation: str | None = None,
           max_candidates: int | None = None, limit: int | None = None, cache: bool = True,
           strict: bool = False) -> list[Selection]:
    """Per relation, the prompts that make the model answer the training facts `pairs` best.

    `templates`: a file or a list of template strings, Candidates or (relation, template) tuples (a
    template without a relation competes in every relation). `method`: top1, rank (the `k` best
    averaged) or optimized (learnt weights, early-stopped on a `dev_fraction` of the facts split
    with `seed`; at least `min_dev` held out and `min_fit` to fit, else the rank ensemble with a note).
    `selection`: race (adaptive: see `race`; `budget` in (fact, template) pairs per relation, None =
    until the facts run out; `block_size`, `z`, `metric`) or exhaustive (every template on every fact).
    `calibrate`: rank by calibrated scores (CalibratedScorer, content-free `fillers`).
    `pairs`, `relation`, `max_candidates`, `limit`, `strict`: as for `evaluate`; `scorer`/`options`/`cache`: as for
    `load_scorer`. Each Selection's `facts` says how many training facts its templates were scored on."""
    if method not in METHODS:
        raise PromptmineError(f"unknown selection method {method!r}; choose from {', '.join(METHODS)}")
    if isinstance(templates, (str, Path)):
        pool = read_templates(str(templates))
    else:
        pool = [t if isinstance(t, tuple) else (getattr(t, "relation", None), getattr(t, "template", t))
                for t in templates]
    pool = list(dict.fromkeys(pool))
    if not pool:
        raise InputError("no templates", templates if isinstance(templates, (str, Path)) else None)
    facts_by_rel = load_facts(pairs, {r for r, _ in pool}, relation=relation, max_candidates=max_candidates,
                              limit=limit, strict=strict)
    if selection not in ("race", "exhaustive"):
        raise PromptmineError(f"unknown selection {selection!r}; choose race or exhaustive")
    scorer = load_scorer(scorer, options, cache=cache)
    if calibrate:
        scorer = calibrated(scorer, fillers)
    out: list[Selection] = []
    for rel, facts in facts_by_rel.items():
        mine = [t for r, t in pool if r in (rel, None)]
        if not mine:
            log(f"{rel}: no templates for this relation; skipped")
            continue
        if facts.n == 0:
            log(f"{rel}: no training facts; skipped")
            continue
        result = race(scorer, mine, facts, budget=budget if selection == "race" else None, seed=seed,
                      block_size=block_size, z=z, metric=metric, keep=max(k, 2) if method != "top1" else 1,
                      eliminate=selection == "race", desc=f"select {rel}")
        if method == "top1":
            sel = race_top1(result, mine, rel, scorer.identity)
        elif method == "rank":
            sel = race_rank(result, rel, scorer.identity, k)
        else:
            sel = ensemble(result.survivors, result.gold, rel, scorer.identity, k=k, dev_fraction=dev_fraction,
                           min_dev=min_dev, min_fit=min_fit, max_templates=max_templates, seed=seed)
        out.append(sel)
        best = result.survivors[0]
        log(f"{rel}: {plural(len(mine), 'template')}, best of {len(result.survivors)} left on {result.facts} of "
            f"{facts.n} "
            f"facts ({plural(len(facts.objects), 'candidate')}): P@1 {100 * p_at_1(best.ranks):.1f}: {best.template}"
            + (f"; {sel.note}" if sel.note else ""))
    if not out:
        raise PromptmineError("nothing selected: no relation had both templates and training facts")
    log(f"selected prompts for {plural(len(out), 'relation')} ({plural(scorer.computed, 'score')} computed, "
        f"{scorer.reused:,} cached)")
    return out


# -- selection strategies as objects (DSPy-style: settings once, then `run` on the data) -------------

@dataclass(frozen=True)
class Racing:
    """Racing over blocks of training examples (see `race`): `budget` in (example, prompt) scorings
    (None: until the examples run out), a paired bound with `z` on the per-example `metric`."""

    budget: int | None = None
    block_size: int = 32
    z: float = 1.645
    metric: str = "rr"

    def run(self, scorer, templates: Sequence[str], facts, *, seed: int = 0, keep: int = 3,
            groups: Sequence[Sequence[str]] = (), desc: str = "race") -> Race:
        return race(scorer, templates, facts, budget=self.budget, seed=seed, block_size=self.block_size, z=self.z,
                    metric=self.metric, keep=keep, groups=groups, eliminate=True, desc=desc)


@dataclass(frozen=True)
class Exhaustive:
    """Every prompt on every training example."""

    block_size: int = 32
    metric: str = "rr"

    def run(self, scorer, templates: Sequence[str], facts, *, seed: int = 0, keep: int = 3,
            groups: Sequence[Sequence[str]] = (), desc: str = "score") -> Race:
        return race(scorer, templates, facts, budget=None, seed=seed, block_size=self.block_size, metric=self.metric,
                    keep=keep, groups=groups, eliminate=False, desc=desc)
