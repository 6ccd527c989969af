"""What a sharded run processes: shards (line ranges of input files), the job run on each, and the report.

The corpus is cut into shards of N consecutive lines of one file; a shard's id comes from the
file's position in the input list and its line range, so the same inputs always give the same
shards. Only one shard's lines are held at a time while planning.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import Field

from promptmine.core.errors import InputError, PromptmineError
from promptmine.core.settings import Settings


class ShardSettings(Settings):
    """How a corpus is run in shards (`promptmine mine --workers/--resume/--engine/...`)."""

    workers: int = Field(1, ge=1, description="processes (or Ray actors) processing shards in parallel")
    engine: Literal["local", "ray"] = Field("local", description="local: a process pool on this machine; "
                                                                 "ray: Ray Data actors on a Ray cluster")
    resume: bool = Field(False, description="keep the shard results of an earlier run with the same inputs and "
                                            "settings and process only the missing shards")
    work_dir: Path | None = Field(None, description="where shard results are kept (None: a temporary folder)")
    shard_lines: int = Field(20_000, ge=1, description="corpus lines per shard: the unit of parallel work and "
                                                       "of resuming")
    address: str | None = Field(None, description="the Ray cluster to join (as for ray.init); None: a local "
                                                  "Ray instance")


DEFAULT_SHARD_LINES = ShardSettings.default("shard_lines")


class ShardJob(Protocol):
    """The work done per shard. Must be picklable: it is sent once to each worker."""

    def fingerprint(self) -> dict:
        """JSON-able settings that change the result (pairs, options): a work directory made with
        other settings is never resumed."""

    def setup(self) -> None:
        """Load what a worker needs (the spaCy pipeline, the matcher); called once per process."""

    def process(self, shard: Shard, lines: list[bytes]) -> Any:
        """The partial result of one shard (picklable, mergeable), from its raw lines (bytes, so
        the job decides what an undecodable line means)."""

    def merge(self, partials: Iterable[Any]) -> Any:
        """Combine partial results given in shard order into the final result."""


@dataclass(frozen=True)
class Shard:
    """Lines [start, stop) (1-based line numbers) of one input file.

    `offset` is the byte offset of line `start` in an uncompressed file, so a worker on another
    machine can read the shard itself (Ray); it is None for compressed files and streams."""

    file_index: int
    path: str
    start: int
    stop: int
    offset: int | None = None

    @property
    def id(self) -> str:
        return f"{self.file_index:05d}-{self.start:010d}-{self.stop - 1:010d}"

    @property
    def n_lines(self) -> int:
        return self.stop - self.start


@dataclass
class ShardReport:
    """Exactly what a run did, for the summary line and for tests."""

    work_dir: str
    workers: int
    engine: str
    shards_total: int = 0
    shards_processed: int = 0
    shards_skipped: int = 0
    lines_processed: int = 0
    lines_skipped: int = 0
    processed_ids: list[str] = field(default_factory=list)

    @property
    def lines_total(self) -> int:
        return self.lines_processed + self.lines_skipped

    def summary(self) -> str:
        s = (f"{self.shards_total} shards ({self.lines_total:,} lines): {self.shards_processed} processed now "
             f"({self.lines_processed:,} lines, {self.workers} worker{'s' if self.workers != 1 else ''}, "
             f"{self.engine})")
        if self.shards_skipped:
            s += f", {self.shards_skipped} resumed from earlier results ({self.lines_skipped:,} lines)"
        return s + f"; shard results in {self.work_dir}"


class ShardFailed(PromptmineError):
    """A shard raised; the shards finished before it are kept for --resume."""


def _is_gz(path: str | Path) -> bool:
    return str(path).endswith(".gz")


def iter_shards(files: list[Path], shard_lines: int = DEFAULT_SHARD_LINES, with_lines: bool = True,
                on_error: Callable[[InputError], None] | None = None) -> Iterator[tuple[Shard, list[bytes] | None]]:
    """Stream (shard, its raw lines) over the files; only one shard's lines are held at a time.

    With `with_lines=False` only the plan is made (line boundaries and byte offsets), for engines
    whose workers read their shards themselves. A corrupt .gz file ends at its last good line and
    goes to `on_error` (or raises)."""
    if shard_lines < 1:
        raise ValueError("shard_lines must be >= 1")
    for fi, path in enumerate(files):
        gz = _is_gz(path)
        spath = str(Path(path).resolve())
        start, offset, pos, n = 1, 0, 0, 0
        buf: list[bytes] = []
        try:
            with (gzip.open if gz else open)(path, "rb") as f:
                for lineno, raw in enumerate(f, 1):
                    if with_lines:
                        buf.append(raw)
                    n += 1
                    pos += len(raw)
                    if n == shard_lines:
                        yield Shard(fi, spath, start, lineno + 1, None if gz else offset), (buf if with_lines else None)
                        start, offset, n, buf = lineno + 1, pos, 0, []
        except (gzip.BadGzipFile, EOFError, zlib.error) as e:
            err = InputError(f"corrupt or truncated gzip file ({e})", path)
            if on_error is None:
                raise err from None
            on_error(err)
        if n:
            yield Shard(fi, spath, start, start + n, None if gz else offset), (buf if with_lines else None)


def read_shard(shard: Shard) -> list[bytes]:
    """The raw lines of a shard, read by the worker itself (seeks in plain files; a .gz file is
    decompressed from its start, so prefer several smaller .gz files to one huge one)."""
    out: list[bytes] = []
    if shard.offset is not None:
        with open(shard.path, "rb") as f:
            f.seek(shard.offset)
            for i in range(shard.n_lines):
                raw = f.readline()
                if not raw:
                    break
                out.append(raw)
    else:
        with gzip.open(shard.path, "rb") as f:
            for lineno, raw in enumerate(f, 1):
                if lineno >= shard.stop:
                    break
                if lineno >= shard.start:
                    out.append(raw)
    if len(out) != shard.n_lines:
        raise InputError(f"expected {shard.n_lines} lines from line {shard.start}, found {len(out)}: "
                         "the file changed during the run", shard.path)
    return out
