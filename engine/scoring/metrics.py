"""Every metric, in one place: ranks, P@1 and MRR (facts ranked over candidate objects), accuracy and
macro-F1 (labelled examples), the log-linear combination of the ensembles, and the paired bootstrap
that says whether a gain is more than the luck of the sample: the arithmetic that scoring, selection,
the task search, the reports and the benchmarks share, on plain arrays (no model, no record beyond
Score)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from promptmine.core.records import Score

# A -inf log-probability (object the scorer cannot produce) counts as this in weighted sums,
# so 0 * -inf never makes a NaN and such objects still rank last.
FLOOR = -1e4


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


def accuracy(logp, gold: Sequence[int]) -> float:
    """Share of rows whose gold column scores highest alone (P@1 of a label readout)."""
    import numpy as np

    return p_at_1(ranks(np.asarray(logp), gold)) if len(gold) else 0.0


def macro_f1(pred: Sequence[int], gold: Sequence[int], n_labels: int) -> float:
    """Unweighted mean over labels of F1 (a label never predicted nor gold counts 0)."""
    f1s = []
    for c in range(n_labels):
        tp = sum(p == c and g == c for p, g in zip(pred, gold))
        fp = sum(p == c and g != c for p, g in zip(pred, gold))
        fn = sum(p != c and g == c for p, g in zip(pred, gold))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / n_labels if n_labels else 0.0


def paired_bootstrap(a: Sequence[bool], b: Sequence[bool], *, samples: int = 2000, seed: int = 0,
                     relative: bool = False) -> tuple[float, float, float]:
    """Accuracy of b minus accuracy of a on the same items, with a 95% paired bootstrap interval
    (items resampled with replacement, `samples` times, fixed `seed`): (delta, low, high).
    `relative`: the change as a fraction of a's accuracy (resamples where a scores 0 left out; nan
    when a never does), as the LPAQA benchmarks report it."""
    import numpy as np

    xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if not len(xa):
        return 0.0, 0.0, 0.0
    idx = np.random.default_rng(seed).integers(0, len(xa), size=(samples, len(xa)))
    if relative:
        ma, mb = xa[idx].mean(1), xb[idx].mean(1)
        rel = (mb - ma) / np.where(ma > 0, ma, np.nan)
        base = xa.mean()
        return (float((xb.mean() - base) / base) if base else float("nan"),
                float(np.nanpercentile(rel, 2.5)), float(np.nanpercentile(rel, 97.5)))
    x = xb - xa
    means = x[idx].mean(axis=1)
    return float(x.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))
