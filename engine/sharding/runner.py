"""Run a `ShardJob` over shards: in this process (workers=1) or on a process pool, or on Ray.

Each shard is processed by a worker process (the job is set up once per process by the pool
initializer) and its partial result is written atomically to the work directory. The partial
results are merged in shard order, never in completion order, so 1 or N workers (or a Ray
cluster, see `promptmine.sharding.ray`) give the same output.

Memory stays bounded: the corpus is streamed, at most `2 * workers` shards are in flight, and a
shard's result goes to disk instead of back to the parent. The runner knows nothing of what a job
computes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from promptmine.core.errors import InputError, PromptmineError
from promptmine.core.progress import progress
from promptmine.sharding.plan import (Shard, ShardFailed, ShardJob, ShardReport, ShardSettings, iter_shards,
                                      read_shard)
from promptmine.sharding.workdir import WorkDir, make_manifest, merge_results


_WORKER_JOB: ShardJob | None = None
_WORKER_SETUP_ERROR: BaseException | None = None


def _worker_init(job: ShardJob) -> None:
    """Pool initializer: one job (one spaCy pipeline) per worker process, loaded once. A failure
    is kept and raised by the first shard, so the user sees it (an initializer that raises only
    breaks the pool)."""
    global _WORKER_JOB, _WORKER_SETUP_ERROR
    _WORKER_JOB = job
    try:
        job.setup()
    except Exception as e:
        _WORKER_SETUP_ERROR = e


def _worker_run(shard: Shard, lines: list[bytes] | None, work_dir: str) -> tuple[str, int]:
    """Process one shard in a worker and write its result there (not back to the parent)."""
    assert _WORKER_JOB is not None, "worker not initialised"
    if _WORKER_SETUP_ERROR is not None:
        raise _WORKER_SETUP_ERROR
    if lines is None:
        lines = read_shard(shard)
    partial = _WORKER_JOB.process(shard, lines)
    WorkDir(work_dir).write(shard, partial)
    return shard.id, len(lines)


def worker_died_hint(err: BaseException) -> str:
    """What to check when a worker process died without a Python error of its own (the pool only says
    it broke): the usual causes, the first of which a script's author can fix in one line."""
    from concurrent.futures.process import BrokenProcessPool

    if not isinstance(err, BrokenProcessPool):
        return ""
    return (" (a worker process died: workers start by importing the calling script, so a script that "
            "mines with several workers must do so under `if __name__ == \"__main__\":`; otherwise it "
            "ran out of memory or was killed)")


def _mp_context(preload: Iterable[str] = ()):
    """forkserver on Linux (safe with threads, cheap start), spawn elsewhere. The forkserver
    imports `preload` once (spaCy takes seconds to import), and every worker forks from it."""
    import multiprocessing as mp

    if not sys.platform.startswith("linux"):
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(list(preload))
    return ctx


def run_local(job: ShardJob, shards: Iterable[tuple[Shard, list[bytes] | None]], work_dir: str | Path, *,
              workers: int, resume: bool = False, manifest: dict | None = None,
              max_in_flight: int | None = None, desc: str = "shards") -> tuple[Any, ShardReport]:
    """Process the shards (a lazy stream) with `workers` processes; return (merged result, report).

    With workers=1 everything runs in this process (no pool). On a failing shard the shards
    already finished stay on disk and ShardFailed says how to resume."""
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    workers = max(1, int(workers))
    work = WorkDir(work_dir)
    work.prepare(manifest if manifest is not None else make_manifest(job, None, 0), resume)
    report = ShardReport(work_dir=str(work.path), workers=workers, engine="local")
    seen: list[Shard] = []
    bar = progress(desc=desc, unit="line")

    def finished(shard: Shard, n: int) -> None:
        report.shards_processed += 1
        report.lines_processed += n
        report.processed_ids.append(shard.id)
        bar.update(n)

    def resumed(shard: Shard) -> bool:
        """Record `shard` as seen; True (and counted as skipped) when --resume finds its result."""
        seen.append(shard)
        if not (resume and work.done(shard)):
            return False
        report.shards_skipped += 1
        report.lines_skipped += shard.n_lines
        bar.update(shard.n_lines)
        return True

    def failure(shard: Shard, err: BaseException) -> ShardFailed:
        return ShardFailed(
            f"shard {shard.id} ({shard.path}:{shard.start}-{shard.stop - 1}) failed: "
            f"{type(err).__name__}: {err}{worker_died_hint(err)}. {report.shards_processed} shards finished in "
            f"this run are kept in {work.path}; rerun with --resume to continue")

    try:
        if workers == 1:  # in this process; the job sets itself up at its first shard
            for shard, lines in shards:
                if resumed(shard):
                    continue
                try:
                    lines = read_shard(shard) if lines is None else lines
                    if not report.shards_processed:
                        job.setup()
                    work.write(shard, job.process(shard, lines))
                except PromptmineError:
                    raise
                except Exception as e:
                    raise failure(shard, e) from e
                finished(shard, len(lines))
        else:
            limit = max_in_flight or 2 * workers
            pending: dict = {}
            error: tuple[Shard, BaseException] | None = None
            with ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(getattr(job, "preload", ())),
                                     initializer=_worker_init, initargs=(job,)) as pool:
                def collect(done) -> None:
                    nonlocal error
                    for fut in done:
                        shard = pending.pop(fut)
                        exc = fut.exception()
                        if exc is not None:
                            error = error or (shard, exc)
                            continue
                        finished(shard, fut.result()[1])

                for shard, lines in shards:
                    if resumed(shard):
                        continue
                    while len(pending) >= limit:
                        collect(wait(pending, return_when=FIRST_COMPLETED)[0])
                    if error is not None:
                        break
                    pending[pool.submit(_worker_run, shard, lines, str(work.path))] = shard
                    del lines  # the stream's buffer: only in-flight shards stay referenced
                while pending:  # let running shards finish: their results count for --resume
                    collect(wait(pending, return_when=FIRST_COMPLETED)[0])
            if error is not None:
                shard, exc = error
                if isinstance(exc, PromptmineError):  # bad input (--strict): its file:line says it all
                    raise exc
                raise failure(shard, exc) from exc
    finally:
        bar.close()
    report.shards_total = len(seen)
    return merge_results(job, work, seen), report


def run_files(job: ShardJob, files: list[Path], settings: ShardSettings, *, ray_init: dict | None = None,
              on_error: Callable[[InputError], None] | None = None) -> tuple[Any, ShardReport]:
    """Run a job over corpus files with the engine, workers and work directory of `settings` (whose
    `work_dir` must be set)."""
    if settings.work_dir is None:
        raise ValueError("run_files needs settings.work_dir, where shard results are kept")
    manifest = make_manifest(job, files, settings.shard_lines)
    if settings.engine == "ray":
        from promptmine.sharding.ray import run_ray

        return run_ray(job, files, settings, manifest=manifest, ray_init=ray_init, on_error=on_error)
    if settings.engine != "local":
        raise ValueError(f"unknown engine {settings.engine!r} (local or ray)")
    result, report = run_local(job, iter_shards(files, settings.shard_lines, on_error=on_error), settings.work_dir,
                               workers=settings.workers, resume=settings.resume, manifest=manifest)
    return result, report
