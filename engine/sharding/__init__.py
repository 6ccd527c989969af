"""Sharded, resumable runs over a corpus of any size, on all cores or a Ray cluster.

Generic: `run_files(job, files, ShardSettings(work_dir=, workers=, engine=, ...))` runs any `ShardJob`
(plan.py) with the local process pool (runner.py) or Ray (ray.py), keeping shard results in a work
directory (workdir.py). The mining job that uses it is `promptmine.mining.sharded`.
"""

from promptmine.sharding.plan import (DEFAULT_SHARD_LINES, Shard, ShardFailed, ShardJob, ShardReport, ShardSettings,
                                      iter_shards, read_shard)
from promptmine.sharding.runner import run_files, run_local
from promptmine.sharding.workdir import WorkDir, make_manifest, merge_results

__all__ = ["DEFAULT_SHARD_LINES", "Shard", "ShardFailed", "ShardJob", "ShardReport", "ShardSettings", "WorkDir",
           "iter_shards", "make_manifest", "merge_results", "read_shard", "run_files", "run_local"]
