"""Paired comparisons on the same test items: is a gain more than the luck of the sample?

One function for every report that compares two ways of prompting on the same facts or examples
(`run`'s relation report, `run --task`'s held-out rows, the benchmarks)."""

from __future__ import annotations

from collections.abc import Sequence


def paired_bootstrap(a: Sequence[bool], b: Sequence[bool], *, samples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Accuracy of b minus accuracy of a on the same items, with a 95% paired bootstrap interval
    (items resampled with replacement, `samples` times, fixed `seed`): (delta, low, high)."""
    import numpy as np

    x = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    if not len(x):
        return 0.0, 0.0, 0.0
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), size=(samples, len(x)))].mean(axis=1)
    return float(x.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))
