"""promptmine: find better prompts for a language model, offline (after LPAQA).

The Python API, the same functions the `promptmine` command calls:

    import promptmine
    pairs = promptmine.read_pairs("facts.jsonl")
    mined = promptmine.mine(["corpus.txt"], pairs, promptmine.MiningSettings(top=10))  # MineResult
    paras = promptmine.paraphrase(["[X] was born in [Y] ."], backend="bergamot")
    scores = promptmine.evaluate(["[X] was born in [Y] ."], pairs)   # [Score]
    chosen = promptmine.select(candidates, pairs, choose=promptmine.RankEnsemble(k=3))  # [Selection]
    result = promptmine.run(out="report/")                           # RunResult
    best = promptmine.optimize_task(prompt, "reviews.jsonl", out="report/")  # TaskResult (a task prompt's search)
    labels = promptmine.load_prompt("report/best_prompt.json").predict("new.jsonl")  # [{id, label, probabilities}]

Each function's settings are one object, each default written once (`MiningSettings`, `ShardSettings`,
`ParaphraseSettings`, `SpanSettings`, `FactSettings`, `SelectSettings`, `SearchSettings`, `RunSettings`,
`TaskSettings`); their fields may
also be given as keywords (`promptmine.mine(corpus, pairs, top=10)`).

Names are imported on first use, so `import promptmine` stays light (no torch, transformers or spaCy).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "mine": "promptmine.mining", "MineResult": "promptmine.mining", "MiningSettings": "promptmine.mining",
    "ShardSettings": "promptmine.mining",
    "paraphrase": "promptmine.paraphrasing", "ParaphraseResult": "promptmine.paraphrasing",
    "ParaphraseSettings": "promptmine.paraphrasing", "SpanSettings": "promptmine.paraphrasing",
    "evaluate": "promptmine.scoring", "load_scorer": "promptmine.scoring", "FactSettings": "promptmine.scoring",
    "select": "promptmine.selection", "Race": "promptmine.selection", "Exhaustive": "promptmine.selection",
    "Racing": "promptmine.selection", "Top1": "promptmine.selection", "RankEnsemble": "promptmine.selection",
    "OptimizedEnsemble": "promptmine.selection", "Comparison": "promptmine.selection",
    "SelectSettings": "promptmine.selection", "SearchSettings": "promptmine.selection",
    "optimize_task": "promptmine.tasks", "TaskResult": "promptmine.tasks", "TaskSettings": "promptmine.tasks",
    "load_prompt": "promptmine.tasks.saved", "predict": "promptmine.tasks.saved",
    "SavedPrompt": "promptmine.tasks.saved",
    "run": "promptmine.pipeline", "split": "promptmine.pipeline", "doctor": "promptmine.doctor",
    "RunResult": "promptmine.pipeline", "RunSettings": "promptmine.pipeline", "SplitSettings": "promptmine.pipeline",
    "Candidate": "promptmine.core.records", "Pair": "promptmine.core.records", "Score": "promptmine.core.records",
    "Selection": "promptmine.core.records", "WeightedTemplate": "promptmine.core.records",
    "Template": "promptmine.core.records",
    "PromptmineError": "promptmine.core.errors", "InputError": "promptmine.core.errors",
    "ModelNotAvailable": "promptmine.core.errors",
    "read_pairs": "promptmine.core.io", "read_templates": "promptmine.core.io",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'promptmine' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # for type checkers and IDEs; never run
    from promptmine.core.errors import InputError, ModelNotAvailable, PromptmineError
    from promptmine.core.io import read_pairs, read_templates
    from promptmine.core.records import Candidate, Pair, Score, Selection, Template, WeightedTemplate
    from promptmine.doctor import doctor
    from promptmine.mining import MineResult, MiningSettings, ShardSettings, mine
    from promptmine.paraphrasing import ParaphraseResult, ParaphraseSettings, SpanSettings, paraphrase
    from promptmine.pipeline import RunResult, RunSettings, SplitSettings, run, split
    from promptmine.scoring import FactSettings, evaluate, load_scorer
    from promptmine.selection import (
        Comparison, Exhaustive, OptimizedEnsemble, Race, Racing, RankEnsemble, Top1, select,
    )
    from promptmine.tasks import TaskResult, TaskSettings, optimize_task
    from promptmine.tasks.saved import SavedPrompt, load_prompt, predict
