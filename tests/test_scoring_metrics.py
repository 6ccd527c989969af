"""promptmine.scoring.metrics: the one paired bootstrap of the reports and benchmarks, macro-F1 and accuracy."""

import warnings

import numpy as np

from promptmine.scoring.metrics import paired_bootstrap


def test_absolute_and_relative_intervals_resample_the_same_items():
    base = [True, False, False, True, False, True, False, False]
    row = [True, True, False, True, False, True, True, False]
    delta, lo, hi = paired_bootstrap(base, row, seed=3)
    assert delta == 0.25 and lo <= delta <= hi
    rel, rlo, rhi = paired_bootstrap(base, row, seed=3, relative=True)
    assert rel == 0.25 / (3 / 8) and rlo <= rel <= rhi
    # the same resampled items: the relative bounds are those of (row - base) / base over the same draws
    a, b = np.asarray(base, float), np.asarray(row, float)
    idx = np.random.default_rng(3).integers(0, len(a), size=(2000, len(a)))
    ma, mb = a[idx].mean(1), b[idx].mean(1)
    expected = (mb - ma) / np.where(ma > 0, ma, np.nan)
    assert (rlo, rhi) == (np.nanpercentile(expected, 2.5), np.nanpercentile(expected, 97.5))
    with warnings.catch_warnings():  # every resample's base is 0: numpy warns of an all-nan slice
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isnan(paired_bootstrap([False, False], [True, False], relative=True)[0])
    assert paired_bootstrap([], [], relative=True) == (0.0, 0.0, 0.0)
