"""Paired comparisons on the same test items: is a gain more than the luck of the sample?

One function for every report that compares two ways of prompting on the same facts or examples
(`run`'s relation report, `run --task`'s held-out rows, the benchmarks)."""

from __future__ import annotations

from collections.abc import Sequence


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
