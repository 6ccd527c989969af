"""The sharded run (`promptmine.sharding.runner`) on a Ray cluster, with Ray Data.

The shard plan (file, line range, byte offset) becomes a dataset; `map_batches` runs a callable
class on a fixed pool of actors, so each actor loads the job (its spaCy pipeline) once and reads
its shards from the files itself. The driver writes each shard's result to the same work
directory as the local runner as results stream back, and merges them in shard order: the output
equals the local runner's, and `--resume` works across engines.

On a multi-machine cluster the corpus must be readable at the same path on every node (a shared
filesystem). Ray is imported only here, and only when this engine is chosen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptmine.core.errors import PromptmineError
from promptmine.core.progress import plural, progress
from promptmine.sharding.plan import Shard, ShardFailed, ShardJob, ShardReport, ShardSettings, iter_shards, read_shard
from promptmine.sharding.workdir import WorkDir, merge_results


class _ShardWorker:
    """One per Ray actor: sets the job up once, then processes one shard per batch."""

    def __init__(self, job: ShardJob):
        self.job = job
        self.setup_error = ""
        try:
            job.setup()
        except Exception as e:  # reported per shard: a failing actor constructor only says "actor died"
            self.setup_error = f"{type(e).__name__}: {e}"

    def __call__(self, batch: dict) -> dict:
        import pickle

        import numpy as np

        ids, results, lines_n, errors = [], [], [], []
        for i in range(len(batch["id"])):
            offset = int(batch["offset"][i])
            shard = Shard(int(batch["file_index"][i]), str(batch["path"][i]), int(batch["start"][i]),
                          int(batch["stop"][i]), None if offset < 0 else offset)
            lines: list[bytes] = []
            result, error = b"", self.setup_error
            if not error:
                try:
                    lines = read_shard(shard)
                    result = pickle.dumps(self.job.process(shard, lines), protocol=pickle.HIGHEST_PROTOCOL)
                except Exception as e:  # reported by the driver, which keeps the finished shards
                    error, lines = f"{type(e).__name__}: {e}", []
            results.append(result)
            errors.append(error)
            ids.append(shard.id)
            lines_n.append(len(lines))
        return {"id": np.array(ids, dtype=object), "result": np.array(results, dtype=object),
                "lines": np.array(lines_n, dtype=np.int64), "error": np.array(errors, dtype=object)}


def connect(address: str | None, ray_init: dict | None = None) -> bool:
    """Connect to the cluster at `address`, or start a local Ray instance for None/"local".
    Returns whether this call started Ray (and so should shut it down)."""
    try:
        import ray
    except ImportError as e:
        raise PromptmineError("the Ray engine needs Ray: pip install 'promptmine[ray]'") from e
    if ray.is_initialized():
        return False
    kwargs = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    kwargs.update(ray_init or {})
    if address not in (None, "", "local"):
        kwargs = {k: v for k, v in kwargs.items() if k not in ("num_cpus", "object_store_memory")}
        kwargs["address"] = address
    try:
        ray.init(**kwargs)
    except Exception as e:
        where = f"the Ray cluster at {address}" if kwargs.get("address") else "a local Ray instance"
        raise PromptmineError(f"could not start {where}: {type(e).__name__}: {e}") from e
    return True


def run_ray(job: ShardJob, files: list[Path], settings: ShardSettings, *, manifest: dict,
            ray_init: dict | None = None, on_error=None) -> tuple[Any, ShardReport]:
    """Run the job's shards on Ray with `settings.workers` actors (on the cluster at `settings.address`);
    same work directory and merge as local."""
    workers = settings.workers
    work = WorkDir(settings.work_dir)
    work.prepare(manifest, settings.resume)
    report = ShardReport(work_dir=str(work.path), workers=workers, engine="ray")
    # The plan is small (one row per shard, no text): workers read their lines themselves.
    plan = [shard for shard, _ in iter_shards(files, settings.shard_lines, with_lines=False, on_error=on_error)]
    todo = []
    for shard in plan:
        if settings.resume and work.done(shard):
            report.shards_skipped += 1
            report.lines_skipped += shard.n_lines
        else:
            todo.append(shard)
    report.shards_total = len(plan)
    if todo:
        started = connect(settings.address, ray_init)
        try:
            _run_on_ray(job, todo, work, workers, report)
        finally:
            if started:
                import ray

                ray.shutdown()
    return merge_results(job, work, plan), report


def _run_on_ray(job: ShardJob, todo: list[Shard], work: WorkDir, workers: int, report: ShardReport) -> None:
    import logging

    import ray.data

    logging.getLogger("ray.data").setLevel(logging.WARNING)  # per-operator INFO lines would flood stderr
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # our own bar counts lines; Ray's would interleave with it
    by_id = {s.id: s for s in todo}
    rows = [{"id": s.id, "file_index": s.file_index, "path": s.path, "start": s.start, "stop": s.stop,
             "offset": -1 if s.offset is None else s.offset} for s in todo]
    # One block per shard so shards spread over the actors; a fixed pool of `workers` actors.
    ds = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
        _ShardWorker, fn_constructor_args=(job,), batch_size=1, batch_format="numpy", num_cpus=1,
        compute=ray.data.ActorPoolStrategy(size=min(workers, len(rows))))
    failed: list[str] = []
    with progress(desc="shards (ray)", total=sum(s.n_lines for s in todo), unit="line") as bar:
        for row in ds.iter_rows():
            shard = by_id[row["id"]]
            if row["error"]:
                failed.append(f"shard {shard.id} ({shard.path}:{shard.start}-{shard.stop - 1}): {row['error']}")
                continue
            work.write_pickled(shard, row["result"])
            report.shards_processed += 1
            report.lines_processed += int(row["lines"])
            report.processed_ids.append(shard.id)
            bar.update(int(row["lines"]))
    if failed:
        raise ShardFailed(f"{plural(len(failed), 'shard')} failed on Ray; first: {failed[0]}. "
                          f"{report.shards_processed} shards finished in this run are kept in {work.path}; "
                          "rerun with --resume to continue")
