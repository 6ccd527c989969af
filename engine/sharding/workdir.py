"""The work directory of a sharded run: a manifest (what the results were made from) and one
result file per shard, written atomically, so a rerun with `resume=True` keeps finished shards."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

from promptmine.core.errors import PromptmineError
from promptmine.core.io import atomic_write
from promptmine.sharding.plan import Shard, ShardJob

FORMAT = 1  # bump when the layout of the work directory or of a shard file changes
MANIFEST = "manifest.json"


class WorkDir:
    """`<out>.shards/`: a manifest (what the results were made from) and one file per shard."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def result_path(self, shard: Shard) -> Path:
        return self.path / f"{shard.id}.pkl"

    def done(self, shard: Shard) -> bool:
        return self.result_path(shard).exists()

    def write(self, shard: Shard, partial: Any) -> None:
        self.write_pickled(shard, pickle.dumps(partial, protocol=pickle.HIGHEST_PROTOCOL))

    def write_pickled(self, shard: Shard, data: bytes) -> None:
        """Store a result that arrives already pickled (from a Ray actor) without unpickling it."""
        with atomic_write(self.result_path(shard), "wb") as f:
            f.write(data)

    def read(self, shard: Shard) -> Any:
        with open(self.result_path(shard), "rb") as f:
            return pickle.load(f)

    def prepare(self, manifest: dict, resume: bool) -> None:
        """Start a fresh work directory, or check that the one to resume was made the same way."""
        mpath = self.path / MANIFEST
        for stale in self.path.glob(".*.tmp"):  # left by a run killed while writing a result
            stale.unlink(missing_ok=True)
        if resume and mpath.exists():
            old = json.loads(mpath.read_text(encoding="utf-8"))
            if old != manifest:
                changed = sorted(k for k in set(old) | set(manifest) if old.get(k) != manifest.get(k))
                if "job" in changed and isinstance(old.get("job"), dict):
                    was, now = old["job"], manifest["job"]
                    keys = sorted(k for k in set(was) | set(now) if was.get(k) != now.get(k))
                    changed[changed.index("job")] = f"job settings ({', '.join(keys)})"
                raise PromptmineError(
                    f"cannot resume from {self.path}: it was made with different {', '.join(changed)}; "
                    "run without --resume to start over")
            return
        if self.path.exists():
            for f in self.path.glob("*.pkl"):
                f.unlink()
        self.path.mkdir(parents=True, exist_ok=True)
        with atomic_write(mpath) as f:
            json.dump(manifest, f, indent=1, sort_keys=True)


def make_manifest(job: ShardJob, files: list[Path] | None, shard_lines: int) -> dict:
    """What the shard results depend on: the job's settings, the shard size and the input files
    (path, size, modification time), so a changed input is never mixed with old results."""
    inputs = None
    if files is not None:
        inputs = []
        for p in files:
            st = Path(p).stat()
            inputs.append({"path": str(Path(p).resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    job_fp = json.loads(json.dumps(job.fingerprint(), sort_keys=True, ensure_ascii=False))
    return {"format": FORMAT, "shard_lines": shard_lines, "inputs": inputs, "job": job_fp}


def merge_results(job: ShardJob, work: WorkDir, shards: list[Shard]) -> Any:
    """Merge the shard results in shard order (loaded one at a time)."""
    ordered = sorted(shards, key=lambda s: (s.file_index, s.start))
    return job.merge(work.read(s) for s in ordered)
