"""Ranks, P@1, MRR and the log-linear combination: the arithmetic that scoring, selection and the
task search share, on plain arrays (no model, no record beyond Score)."""

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
