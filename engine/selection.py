"""Choose prompts by how well they make a model answer training facts, as LPAQA does.

- top1: the template with the best training P@1 (MRR breaks ties).
- rank: the K best templates, their log-probabilities averaged (weights 1/K).
- optimized: one weight per template, softmax(theta), learnt on the training facts to maximise the
  gold object's probability under the log-linear combination sum_t w_t log P_t(y|x) (softmax over
  the candidates), with early stopping on a held-out dev split of the training facts.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from promptmine.core.errors import InputError, PromptmineError
from promptmine.scoring import (
    FLOOR, CachedScorer, RelationFacts, Scored, add_scorer_arguments, load_facts, make_scorer, mrr, p_at_1,
    score_template,
)
from promptmine.core.io import read_templates, write_jsonl
from promptmine.core.progress import log, progress
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


def select(method: str, scored: Sequence[Scored], facts: RelationFacts, model: str, *, k: int = 3,
           **train) -> Selection:
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


def run_cli(args: argparse.Namespace) -> int:
    templates = list(dict.fromkeys(read_templates(args.templates)))
    if not templates:
        raise InputError("no templates", args.templates)
    facts_by_rel = load_facts(args.train, {r for r, _ in templates}, relation=args.relation,
                              max_candidates=args.max_candidates, limit=args.limit)
    scorer = make_scorer(args)
    out: list[Selection] = []
    for rel, facts in facts_by_rel.items():
        mine = [t for r, t in templates if r in (rel, None)]
        if not mine:
            log(f"{rel}: no templates for this relation; skipped")
            continue
        if facts.n == 0:
            log(f"{rel}: no training facts; skipped")
            continue
        scored = score_all(scorer, mine, facts, desc=f"score {rel}")
        sel = select(args.method, scored, facts, scorer.identity, k=args.k, dev_fraction=args.dev_fraction,
                     seed=args.seed)
        out.append(sel)
        best = by_training_accuracy(scored)[0]
        log(f"{rel}: {len(mine)} templates on {facts.n} facts, {len(facts.objects)} candidates; best "
            f"P@1 {100 * p_at_1(best.ranks):.1f}: {best.template}")
        for wt in sel.templates:
            print(f"{rel}\t{args.method}\t{wt.weight:.4f}\t{wt.template}")
    if not out:
        raise PromptmineError("nothing selected: no relation had both templates and training facts")
    write_jsonl(args.out, out)
    log(f"wrote {len(out)} selections to {args.out} ({scorer.computed} scores computed, {scorer.reused} cached)")
    return 0


def add_cli(subparsers) -> None:
    p = subparsers.add_parser(
        "select", help="pick the best prompts (top-1, top-K rank ensemble, optimised weights)",
        description="Score every candidate template on training facts and choose, per relation, the "
                    "best one (top1), the K best averaged (rank), or weights learnt to maximise the gold "
                    "object's probability (optimized, early-stopped on a dev split). Writes Selection "
                    "records (templates with weights) that `promptmine evaluate --templates` reads.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  promptmine select --templates candidates.jsonl --train train.jsonl "
               "--method optimized --out selected.jsonl")
    p.add_argument("--templates", required=True, metavar="FILE",
                   help="candidate templates: JSONL with `template` and optional `relation` (mine/paraphrase "
                        "output, LAMA relations) or plain text, one a line")
    p.add_argument("--train", required=True, metavar="FILE", help="training facts (LAMA/T-REx JSONL, plain JSONL or TSV)")
    p.add_argument("--relation", default=None, help="relation of training pairs that name none")
    p.add_argument("--method", choices=METHODS, default="top1", help="selection method (default: %(default)s)")
    p.add_argument("--k", type=int, default=3, help="templates in the rank ensemble (default: %(default)s)")
    p.add_argument("--dev-fraction", type=float, default=0.2,
                   help="optimized: share of training facts held out for early stopping (default: %(default)s)")
    p.add_argument("--seed", type=int, default=0, help="optimized: seed of the dev split (default: %(default)s)")
    p.add_argument("--max-candidates", type=int, default=None, metavar="N",
                   help="keep the N most frequent objects as candidates (default: all distinct objects)")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="use the first N training facts per relation")
    p.add_argument("--out", required=True, metavar="FILE", help="where to write the selections (JSONL)")
    add_scorer_arguments(p)
    p.set_defaults(func=run_cli)
