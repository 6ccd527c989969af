"""Choose from what a strategy found (a `RaceResult`): `Top1()`, `RankEnsemble(k)` and
`OptimizedEnsemble(...)`, as LPAQA does.

- top1: the template with the best training P@1 (MRR breaks ties).
- rank: the K best templates, their log-probabilities averaged (weights 1/K).
- optimized: one weight per template, softmax(theta), learnt on the training facts to maximise the
  gold object's probability under the log-linear combination sum_t w_t log P_t(y|x) (softmax over
  the candidates), with early stopping on a held-out split of the training facts (at least a few
  dozen facts; with fewer, the rank ensemble, and the Selection's `note` says so).

A chooser's name is the `method` of the Selection records it makes (`promptmine select --method`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from promptmine.core.progress import plural
from promptmine.core.records import Selection, WeightedTemplate
from promptmine.scoring import FLOOR, Scored
from promptmine.selection.racing import RaceResult, by_training_accuracy


def select_top1(scored: Sequence[Scored], relation: str | None, model: str) -> Selection:
    best = by_training_accuracy(scored)[0]
    return Selection(relation=relation, method="top1", model=model, templates=[WeightedTemplate(template=best.template)])


def select_rank(scored: Sequence[Scored], relation: str | None, model: str, k: int) -> Selection:
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


@dataclass(frozen=True)
class Top1:
    """The best survivor: the single prompt that answered the training facts best."""

    name = "top1"

    @property
    def keep(self) -> int:
        """How many of the best templates a race must never drop for this chooser."""
        return 1

    def choose(self, result: RaceResult, relation: str | None, model: str, *, among: Sequence[str] | None = None,
               seed: int = 0) -> Selection | None:
        """The best survivor (among `among` when given; None when none of them survived)."""
        pool = None if among is None else set(among)
        best = next((s for s in result.survivors if pool is None or s.template in pool), None)
        if best is None:
            return None
        return Selection(relation=relation, method=self.name, model=model, facts=result.facts,
                         templates=[WeightedTemplate(template=best.template)])


@dataclass(frozen=True)
class RankEnsemble:
    """The `k` best survivors, their log-probabilities averaged."""

    k: int = 3

    name = "rank"

    @property
    def keep(self) -> int:
        return max(self.k, 2)

    def choose(self, result: RaceResult, relation: str | None, model: str, *, seed: int = 0) -> Selection:
        best = result.survivors[:max(1, self.k)]
        return Selection(relation=relation, method=self.name, model=model, facts=result.facts,
                         templates=[WeightedTemplate(template=s.template, weight=1.0 / len(best)) for s in best])


@dataclass(frozen=True)
class OptimizedEnsemble:
    """Weights over the best `max_templates` survivors, fit on part of the facts and early-stopped on
    a held-out `dev_fraction` of at least `min_dev` facts with at least `min_fit` left to fit; with
    fewer facts (or one template), the top-`k` rank ensemble, with a note."""

    k: int = RankEnsemble.k
    dev_fraction: float = 0.3
    min_dev: int = 40
    min_fit: int = 60
    max_templates: int = 6

    name = "optimized"

    @property
    def keep(self) -> int:
        return max(self.k, 2)

    def choose(self, result: RaceResult, relation: str | None, model: str, *, seed: int = 0) -> Selection:
        return self.fit(result.survivors, result.gold, relation, model, seed=seed)

    def fit(self, scored: Sequence[Scored], gold: Sequence[int], relation: str | None, model: str, *,
            seed: int = 0, **train) -> Selection:
        """The ensemble of `scored` (best first) on facts with `gold` answers; `seed` splits the held-out part."""
        n = len(gold)
        cands = list(scored)[:max(1, self.max_templates)]
        n_dev = max(self.min_dev, int(round(n * self.dev_fraction)))
        if len(cands) < 2 or n - n_dev < self.min_fit:
            sel = select_rank(cands, relation, model, self.k)
            why = ("one template left" if len(cands) < 2 else
                   f"{n} training facts; learning weights needs {self.min_dev + self.min_fit} ({self.min_dev} held out)")
            return sel.model_copy(update={"facts": n, "note": f"rank ensemble instead of optimised: {why}"})
        sel = select_optimized(cands, gold, relation, model, dev_fraction=n_dev / n, seed=seed, **train)
        return sel.model_copy(update={"facts": n, "note": f"weights fit on {plural(n - n_dev, 'fact')}, "
                                                          f"early-stopped on {n_dev} held out"})


Chooser = Top1 | RankEnsemble | OptimizedEnsemble
CHOOSERS: dict[str, type[Top1] | type[RankEnsemble] | type[OptimizedEnsemble]] = {
    c.name: c for c in (Top1, RankEnsemble, OptimizedEnsemble)}  # `select --method`
