"""`TaskSettings`: how `optimize_task` (`promptmine run --task`) splits the examples and searches the
prompt, each default written once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import Field

from promptmine.core.settings import Seeded
from promptmine.selection import Exhaustive, Race, RankEnsemble

DIMENSIONS = ("calibration", "labels", "format", "demos", "wording")
TASK_ROUTES = "bergamot:pt,apertium:es"  # the wording stage's routes unless told (each costs `permutations` variants)
TASK_OUT = "promptmine-task"  # `run --task`'s report folder unless told otherwise (`run`'s is promptmine-run)
MIN_SELECTION = 8  # selection examples a search needs at least
MIN_PER_LABEL = 2  # ... and of each label


class TaskSettings(Seeded):
    """The task search's settings (the data, backends and outputs are `optimize_task`'s arguments)."""

    verbalisers: str | Mapping[str, str | Sequence[str]] | None = Field(
        None, description="label -> words (`positive=Positive,negative=Negative`; None: each label capitalised)")
    label_names: str | Mapping[str, str] | None = Field(
        None, description="label as the data stores it -> its name (`0=negative,1=positive`; None: the labels as "
                          "they are)")
    fixed_labels: tuple[str, ...] = Field((), description="labels whose words the search keeps as given")
    any_words: bool = Field(False, description="label words: any word the model prefers, fragments, function words "
                                               "and words of another label's meaning included (default: readable "
                                               "words only, `promptmine.tasks.words`)")
    held_out: int | float | None = Field(None, description="without held-out examples: examples held out, a count "
                                                           "or a share (None: a third)")
    selection_size: int | None = Field(512, ge=1, description="selection examples the search judges on (None: all)")
    dimensions: tuple[str, ...] = Field(DIMENSIONS, description="what to search, in this order")
    max_demos: int = Field(2, ge=1, description="demonstrations per label at most")
    formats: int = Field(12, ge=1, description="format variants raced")
    permutations: int = Field(6, ge=1, description="wording: variants per route")
    keep: tuple[str, ...] = Field((), description="strings no variant may change")
    keep_regex: tuple[str, ...] = Field((), description="regular expressions whose every match no variant may change")
    k: int = Field(RankEnsemble.k, ge=1, description="prompts in the ensembles (the race's finalists)")
    strategy: Race | Exhaustive = Field(Race(block_size=64, metric="hit1"),
                                        description="how candidates are raced on the selection split; a Race "
                                                    "without a budget gets one (`default_strategy`)")
