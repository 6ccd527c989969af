"""Sharded, resumable runs over a corpus of any size, on all cores.

The corpus is cut into shards of N consecutive lines of one file; a shard's id comes from the
file's position in the input list and its line range, so the same inputs always give the same
shards. Each shard is processed by a worker process (one spaCy pipeline per process, loaded once
by the pool initializer) and its partial result is written atomically to a work directory. A
rerun with `resume=True` skips the shards whose results exist, so an interrupted run continues
where it stopped. The partial results are merged in shard order, never in completion order, so
1 or N workers (or a Ray cluster, see engine/ray_engine.py) give the same output.

Memory stays bounded: the corpus is streamed, at most `2 * workers` shards are in flight, and a
shard's result goes to disk instead of back to the parent.

What is run is a `ShardJob` (see the Protocol below); `MiningJob` at the end runs engine.mine's
per-batch mining (`mine_batch`) on each shard, and `mine_sharded` is `engine.mine.mine` in shards.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import pickle
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from promptmine.core.errors import InputError, PromptmineError
from promptmine.core.io import atomic_write
from promptmine.core.progress import log, progress

FORMAT = 1  # bump when the layout of the work directory or of a shard file changes
DEFAULT_SHARD_LINES = 20_000
MANIFEST = "manifest.json"


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
    shards_total: int = 0
    shards_processed: int = 0
    shards_skipped: int = 0
    lines_processed: int = 0
    lines_skipped: int = 0
    workers: int = 1
    engine: str = "local"
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


# ---------------------------------------------------------------------------------------------
# Planning and reading shards

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


# ---------------------------------------------------------------------------------------------
# The work directory

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


# ---------------------------------------------------------------------------------------------
# Local runner: a process pool

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
              workers: int = 1, resume: bool = False, manifest: dict | None = None,
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
            f"{type(err).__name__}: {err}. {report.shards_processed} shards finished in this run are kept "
            f"in {work.path}; rerun with --resume to continue")

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


def run_files(job: ShardJob, files: list[Path], work_dir: str | Path, *,
              workers: int = 1, resume: bool = False, shard_lines: int = DEFAULT_SHARD_LINES,
              engine: str = "local", address: str | None = None, ray_init: dict | None = None,
              on_error: Callable[[InputError], None] | None = None) -> tuple[Any, ShardReport]:
    """Run a job over corpus files with the chosen engine ("local" process pool or "ray")."""
    manifest = make_manifest(job, files, shard_lines)
    if engine == "ray":
        from promptmine.ray_engine import run_ray

        return run_ray(job, files, work_dir, workers=workers, resume=resume, shard_lines=shard_lines,
                       manifest=manifest, address=address, ray_init=ray_init, on_error=on_error)
    if engine != "local":
        raise ValueError(f"unknown engine {engine!r} (local or ray)")
    result, report = run_local(job, iter_shards(files, shard_lines, on_error=on_error), work_dir, workers=workers,
                               resume=resume, manifest=manifest)
    return result, report



# ---------------------------------------------------------------------------------------------
# The mining job: engine.mine's per-batch work, one shard at a time

@dataclass
class ShardCounts:
    """One shard's mining result: mergeable counts plus the bad lines it skipped."""

    counts: Any  # engine.mine.MineCounts
    skipped: int = 0
    errors: list[str] = field(default_factory=list)  # the first few, for the log


class MiningJob:
    """`engine.mine.mine_batch` over shards. Each worker builds the pair matcher and loads spaCy once."""

    MAX_LOGGED = 5
    preload = ("spacy", "promptmine.mining", "promptmine.models.parser")  # imported once by the forkserver

    def __init__(self, pairs: list, *, methods: tuple[str, ...], case_sensitive: bool = False, loose: bool = True,
                 strict: bool = False, batch_size: int = 256, max_words: int = 10, spacy_model: str | None = None):
        from promptmine.models.parser import default_model

        self.pairs = list(pairs)
        self.methods = tuple(methods)
        self.case_sensitive, self.loose, self.strict = case_sensitive, loose, strict
        self.batch_size, self.max_words = batch_size, max_words
        self.spacy_model = spacy_model or default_model()
        self._index = self._nlp = None

    def __getstate__(self) -> dict:  # workers build their own matcher and pipeline
        return {**self.__dict__, "_index": None, "_nlp": None}

    def fingerprint(self) -> dict:
        """Pairs, settings, the spaCy model and its version, and the mining code itself: results of
        an older version of the miner are never mixed with new ones."""
        import importlib.metadata

        import promptmine.corpus
        import promptmine.match
        import promptmine.mining
        import promptmine.core.records

        pairs = hashlib.sha256("\n".join(f"{p.relation}\t{p.subject}\t{p.object}" for p in self.pairs)
                               .encode("utf-8")).hexdigest()
        code = hashlib.sha256()
        for module in (promptmine.corpus, promptmine.match, promptmine.mining, promptmine.core.records):
            code.update(Path(module.__file__).read_bytes())
        try:
            model_version = importlib.metadata.version(self.spacy_model)
        except importlib.metadata.PackageNotFoundError:
            model_version = None
        return {"job": "mine", "pairs": pairs, "methods": list(self.methods), "case_sensitive": self.case_sensitive,
                "loose": self.loose, "max_words": self.max_words, "spacy_model": self.spacy_model,
                "spacy_model_version": model_version, "long_line": promptmine.corpus.LONG_LINE,
                "code": code.hexdigest()}

    def setup(self) -> None:
        from promptmine.mining import PairIndex
        from promptmine.models.parser import load_parser

        if self._index is None:
            self._index = PairIndex(self.pairs, case_sensitive=self.case_sensitive, loose=self.loose)
            self._nlp = load_parser(self.spacy_model, parse="dependency" in self.methods)

    def sentences(self, shard: Shard, lines: list[bytes], on_error: Callable[[InputError], None]) -> list:
        """The shard's sentences with the positions `engine.corpus.iter_corpus` gives them
        (same reading rules: JSONL `text` field, blank lines skipped, long lines split)."""
        from promptmine.corpus import is_jsonl, line_sentences, line_text
        from promptmine.core.io import decode_line

        jsonl = is_jsonl(Path(shard.path))
        out = []
        for i, raw in enumerate(lines):
            lineno = shard.start + i
            try:
                text = line_text(decode_line(raw, shard.path, lineno), jsonl, shard.path, lineno)
            except InputError as err:
                on_error(err)
                continue
            if text is not None:
                out.extend(line_sentences(shard.file_index, lineno, text))
        return out

    def process(self, shard: Shard, lines: list[bytes]) -> ShardCounts:
        from promptmine.mining import MineCounts, mine_batch

        self.setup()
        result = ShardCounts(counts=MineCounts())

        def on_error(err: InputError) -> None:
            if self.strict:
                raise err
            result.skipped += 1
            if len(result.errors) < self.MAX_LOGGED:
                result.errors.append(str(err))

        sentences = self.sentences(shard, lines, on_error)
        chunk = self.batch_size * 8  # as engine.mine.mine: parsed docs are held one chunk at a time
        for i in range(0, len(sentences), chunk):
            result.counts.merge(mine_batch(sentences[i:i + chunk], self._index, self._nlp, methods=self.methods,
                                           batch_size=self.batch_size, max_words=self.max_words))
        return result

    def merge(self, partials: Iterable[ShardCounts]) -> ShardCounts:
        from promptmine.mining import MineCounts

        total = ShardCounts(counts=MineCounts())
        for p in partials:
            total.counts.merge(p.counts)
            total.skipped += p.skipped
            total.errors.extend(p.errors[: self.MAX_LOGGED - len(total.errors)])
        return total


def mine_sharded(corpus_paths: list[str | Path], pairs: list, *, work_dir: str | Path, top: int = 40,
                 case_sensitive: bool = False, methods=("middle", "dependency"), strict: bool = False,
                 batch_size: int = 256, loose: bool = True, max_words: int = 10, spacy_model: str | None = None,
                 workers: int = 1, resume: bool = False, shard_lines: int = DEFAULT_SHARD_LINES,
                 engine: str = "local", address: str | None = None, ray_init: dict | None = None):
    """`engine.mine.mine` in shards on `workers` processes (or Ray actors), resumable from `work_dir`.
    Returns (MineResult, ShardReport); the MineResult equals the one `mine` gives."""
    from promptmine.corpus import corpus_files
    from promptmine.mining import PairIndex, check_methods, mine_result

    methods = check_methods(methods)
    PairIndex(pairs)  # fail fast on pairs without a relation, before starting workers
    job = MiningJob(pairs, methods=methods, case_sensitive=case_sensitive, loose=loose, strict=strict,
                    batch_size=batch_size, max_words=max_words, spacy_model=spacy_model)
    read_errors: list[InputError] = []

    def on_read_error(err: InputError) -> None:  # a corrupt .gz file: the rest of it is skipped
        if strict:
            raise err
        read_errors.append(err)

    files = corpus_files(list(corpus_paths))
    merged, report = run_files(job, files, work_dir, workers=workers, resume=resume, shard_lines=shard_lines,
                               engine=engine, address=address, ray_init=ray_init, on_error=on_read_error)
    total, skipped = merged.counts, merged.skipped + len(read_errors)
    for msg in [str(e) for e in read_errors] + merged.errors:
        log(f"skipped: {msg}")
    if skipped > 5:
        log(f"skipped {skipped} bad lines in all (use --strict to stop at the first)")
    return mine_result(total, skipped, top), report  # parse_seconds is summed over the workers


# ---------------------------------------------------------------------------------------------
# `promptmine mine` options for corpus scale

def add_scale_arguments(p) -> None:
    """--workers, --resume, --engine, --address, --shard-lines, --work-dir for `promptmine mine`."""
    g = p.add_argument_group(
        "corpus scale", "With --workers > 1, --resume or --engine ray the corpus is mined in shards of "
        "--shard-lines lines whose results are kept in a work directory, so an interrupted run resumes "
        "where it stopped. The output is the same as a plain run.")
    g.add_argument("--workers", type=int, default=1, metavar="N",
                   help="processes (or Ray actors) mining shards in parallel, each with its own spaCy pipeline")
    g.add_argument("--resume", action="store_true",
                   help="keep the shard results of an earlier run with the same inputs and settings and mine "
                        "only the missing shards (needs --out or --work-dir)")
    g.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: a process pool on this machine; ray: Ray Data actors on a Ray cluster "
                        "(pip install 'promptmine[ray]'; the corpus must be at the same path on every node)")
    g.add_argument("--address", metavar="HOST:PORT",
                   help="the Ray cluster to join (as for ray.init, e.g. `auto` or `ray://head:10001`); "
                        "default: start a local Ray instance with --workers CPUs")
    g.add_argument("--shard-lines", type=int, default=DEFAULT_SHARD_LINES, metavar="N",
                   help="corpus lines per shard: the unit of parallel work and of resuming")
    g.add_argument("--work-dir", metavar="DIR",
                   help="where shard results are kept (default: OUT.shards/ beside --out; a temporary "
                        "folder when writing to stdout)")


def mine_from_args(args, pairs: list, methods: list[str]):
    """`promptmine mine` in shards: picks the work directory, runs, and reports what was processed."""
    import shutil
    import tempfile

    if args.workers < 1 or args.shard_lines < 1:
        raise InputError("--workers and --shard-lines must be at least 1")
    to_stdout = args.out in (None, "-")
    if args.work_dir:
        work_dir, temporary = Path(args.work_dir), False
    elif not to_stdout:
        work_dir, temporary = Path(str(args.out) + ".shards"), False
    elif args.resume:
        raise InputError("--resume needs --out FILE (shard results are kept in FILE.shards/) or --work-dir DIR")
    else:
        work_dir, temporary = Path(tempfile.mkdtemp(prefix="promptmine-shards-")), True
    ray_init = {"num_cpus": args.workers} if args.engine == "ray" and args.address in (None, "", "local") else None
    try:
        result, report = mine_sharded(
            args.corpus, pairs, work_dir=work_dir, top=args.top, case_sensitive=args.case_sensitive,
            methods=methods, strict=args.strict, batch_size=args.batch_size, loose=not args.no_fold,
            spacy_model=args.spacy_model, workers=args.workers, resume=args.resume, shard_lines=args.shard_lines,
            engine=args.engine, address=args.address, ray_init=ray_init)
    finally:
        if temporary:
            shutil.rmtree(work_dir, ignore_errors=True)
    log(report.summary() if not temporary else report.summary().split("; shard results in")[0])
    return result
