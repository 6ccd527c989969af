"""The sharded mining job: `promptmine.mining.counting.mine_batch` over the shards of a corpus, resumable.

`promptmine.mining.mine(corpus, pairs, settings, ShardSettings(workers=, engine=, resume=, work_dir=))`
calls `mine_counts` here and ranks what it returns exactly as the serial miner does, so both give the
same output.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from promptmine.core.errors import InputError
from promptmine.core.progress import log
from promptmine.mining import extractors
from promptmine.mining.counting import MineCounts, PairIndex, mine_batch
from promptmine.mining.settings import MiningSettings
from promptmine.sharding.plan import Shard, ShardReport, ShardSettings
from promptmine.sharding.runner import run_files

# The code besides the extractors that decides a shard's counts; with the chosen extractors' source
# files it makes the fingerprint, so results of an older miner are never resumed.
CORE_MODULES = ("promptmine.mining.counting", "promptmine.mining.corpus", "promptmine.mining.match",
                "promptmine.core.records", "promptmine.core.io")


@dataclass
class ShardCounts:
    """One shard's mining result: mergeable counts plus the bad lines it skipped."""

    counts: MineCounts
    skipped: int = 0
    errors: list[str] = field(default_factory=list)  # the first few, for the log


class MiningJob:
    """`mine_batch` over shards. Each worker builds the pair matcher and loads spaCy once."""

    MAX_LOGGED = 5
    preload = ("spacy", "promptmine.mining.counting", "promptmine.models.parser")  # imported once by the forkserver

    def __init__(self, pairs: list, settings: MiningSettings | None = None):
        from promptmine.models.parser import default_model

        settings = settings or MiningSettings()
        self.pairs = list(pairs)
        extractors.resolve(settings.methods)
        # the model each worker loads, named now so that the fingerprint says which
        self.settings = settings.model_copy(update={"spacy_model": settings.spacy_model or default_model()})
        self._index = self._nlp = None

    def __getstate__(self) -> dict:  # workers build their own matcher and pipeline
        return {**self.__dict__, "_index": None, "_nlp": None}

    def code_files(self) -> list[Path]:
        """The source files the counts depend on: the chosen extractors' and the mining core's."""
        import importlib

        core = [Path(importlib.import_module(m).__file__) for m in CORE_MODULES]
        return sorted(set(extractors.source_files(self.settings.methods)) | set(core))

    def fingerprint(self) -> dict:
        """Pairs, settings, the spaCy model and its version, and the mining code itself: results of
        an older version of the miner are never mixed with new ones."""
        import importlib.metadata

        from promptmine.mining.corpus import LONG_LINE

        pairs = hashlib.sha256("\n".join(f"{p.relation}\t{p.subject}\t{p.object}" for p in self.pairs)
                               .encode("utf-8")).hexdigest()
        code = hashlib.sha256()
        for path in self.code_files():
            code.update(path.read_bytes())
        s = self.settings
        try:
            model_version = importlib.metadata.version(s.spacy_model)
        except importlib.metadata.PackageNotFoundError:
            model_version = None
        return {"job": "mine", "pairs": pairs, "methods": list(s.methods), "case_sensitive": s.case_sensitive,
                "fold": s.fold, "max_words": s.max_words, "spacy_model": s.spacy_model,
                "spacy_model_version": model_version, "long_line": LONG_LINE, "text_field": s.text_field,
                "code": code.hexdigest()}

    def setup(self) -> None:
        from promptmine.models.parser import load_parser

        if self._index is None:
            self._index = PairIndex(self.pairs, self.settings)
            self._nlp = load_parser(self.settings.spacy_model, parse=extractors.needs_parse(self.settings.methods))

    def sentences(self, shard: Shard, lines: list[bytes], on_error: Callable[[InputError], None]) -> list:
        """The shard's sentences with the positions `promptmine.mining.corpus.iter_corpus` gives them
        (same reading rules: JSONL `text` field, blank lines skipped, long lines split)."""
        from promptmine.core.io import decode_line
        from promptmine.mining.corpus import is_jsonl, line_sentences, line_text

        jsonl = is_jsonl(Path(shard.path))
        out = []
        for i, raw in enumerate(lines):
            lineno = shard.start + i
            try:
                text = line_text(decode_line(raw, shard.path, lineno), jsonl, shard.path, lineno,
                                 self.settings.text_field)
            except InputError as err:
                on_error(err)
                continue
            if text is not None:
                out.extend(line_sentences(shard.file_index, lineno, text, path=shard.path, on_error=on_error))
        return out

    def process(self, shard: Shard, lines: list[bytes]) -> ShardCounts:
        self.setup()
        result = ShardCounts(counts=MineCounts())

        def on_error(err: InputError) -> None:
            if self.settings.strict:
                raise err
            result.skipped += 1
            if len(result.errors) < self.MAX_LOGGED:
                result.errors.append(str(err))

        sentences = self.sentences(shard, lines, on_error)
        chunk = self.settings.batch_size * 8  # as the serial miner: parsed docs are held one chunk at a time
        for i in range(0, len(sentences), chunk):
            result.counts.merge(mine_batch(sentences[i:i + chunk], self._index, self._nlp, self.settings))
        return result

    def merge(self, partials: Iterable[ShardCounts]) -> ShardCounts:
        total = ShardCounts(counts=MineCounts())
        for p in partials:
            total.counts.merge(p.counts)
            total.skipped += p.skipped
            total.errors.extend(p.errors[: self.MAX_LOGGED - len(total.errors)])
        return total


def mine_counts(corpus: list[str | Path], pairs: list, settings: MiningSettings, shards: ShardSettings, *,
                ray_init: dict | None = None) -> tuple[MineCounts, int, ShardReport]:
    """The merged counts of the corpus mined in shards, the number of bad lines skipped, and what the
    run did; shard results are kept in `shards.work_dir` for `shards.resume`."""
    from promptmine.mining.corpus import corpus_files

    PairIndex(pairs)  # fail fast on pairs without a relation, before starting workers
    job = MiningJob(pairs, settings)
    read_errors: list[InputError] = []

    def on_read_error(err: InputError) -> None:  # a corrupt .gz file: the rest of it is skipped
        if settings.strict:
            raise err
        read_errors.append(err)

    files = corpus_files(list(corpus))
    merged, report = run_files(job, files, shards, ray_init=ray_init, on_error=on_read_error)
    skipped = merged.skipped + len(read_errors)
    for msg in [str(e) for e in read_errors] + merged.errors:
        log(f"skipped: {msg}")
    return merged.counts, skipped, report  # parse_seconds is summed over the workers
