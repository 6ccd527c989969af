"""`MiningSettings`: what `promptmine.mine` and `promptmine mine` do with a corpus, each default written once."""

from __future__ import annotations

from pydantic import Field

from promptmine import filters
from promptmine.mining.match import MatchSettings


class MiningSettings(MatchSettings):
    """The mining settings (with the matching ones, `MatchSettings`); the sharding ones are
    `promptmine.sharding.ShardSettings`."""

    top: int = Field(40, ge=0, description="templates kept per relation, best first")
    methods: tuple[str, ...] = Field(("middle", "dependency"),
                                     description="template extractors by name (`promptmine.mining.extractors`)")
    strict: bool = Field(False, description="stop at the first bad corpus line instead of skipping it with a count")
    batch_size: int = Field(256, ge=1, description="sentences per spaCy nlp.pipe batch")
    spacy_model: str | None = Field(None, description="spaCy pipeline to parse with (None: the best installed)")
    text_field: str = Field("text", description="JSONL corpora: the field that holds the text")
    max_words: int = Field(10, ge=1, description="templates with more words (slots and punctuation aside) are "
                                                 "dropped")
    min_pairs: int = Field(filters.MIN_PAIRS, ge=1, description="templates seen with fewer distinct pairs are "
                                                                "dropped (`promptmine.filters`)")
