"""The comparison of LPAQA rows (promptmine.selection.comparison): candidate pools."""

from promptmine.selection import Pool


def test_pool_dedupes_by_the_scored_text_and_keeps_manual_first():
    # `[Y] .` and `[Y].` score differently (50 vs 60 P@1 on a test set): both stay; space runs merge
    pool = Pool("[X] was born in [Y] .", ["[X] was born in [Y].", "[X]  was born in [Y] .", "[X] , born in [Y]"],
                ["[X] was born in [Y].", "[X] is from [Y]."]).dedupe()
    assert pool.all == ["[X] was born in [Y] .", "[X] was born in [Y].", "[X] , born in [Y]", "[X] is from [Y]."]
