"""Transitional: the sharded miner moved to `promptmine.mining.mine(..., workers=, engine=, resume=,
work_dir=)` (runner in `promptmine.sharding`). Kept only until the CLI calls `mine` directly."""

from __future__ import annotations


def mine_sharded(corpus, pairs, *, ray_init=None, **options):
    """(MineResult, ShardReport) as before; `ray_init` is now derived from workers by `mine`."""
    from promptmine.mining import mine

    options.setdefault("work_dir", None)
    result = mine(corpus, pairs, **options)
    return result, result.shards
