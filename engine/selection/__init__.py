"""Choose prompts by how well they make a model answer training facts, as LPAQA does, with
strategies as objects (in the manner of DSPy's optimisers: settings once, then run on the data).

- `racing`: the strategies `Race(budget, block_size, z, metric)` and `Exhaustive()`, which score
  templates on training facts and give a `RaceResult`;
- `choosers`: `Top1()`, `RankEnsemble(k)` and `OptimizedEnsemble(...)`, which choose from it;
- `relations`: the library function `select` (per relation: a strategy, then a chooser);
- `stages`: the relation search after the wording (format, demonstrations, calibration), each stage
  keeping the incumbent unless a paired bound says it is clearly beaten;
- `comparison`: `compare`, LPAQA's rows (manual, mined, paraphrased, ensembles, the searched prompt)
  selected on training facts and evaluated on test facts, for `promptmine run`.

The same objects serve relations and the task search (`promptmine.tasks`).
"""

from promptmine.selection.choosers import (
    CHOOSERS, Chooser, OptimizedEnsemble, RankEnsemble, Top1, learn_weights, select_optimized, select_rank, select_top1,
)
from promptmine.selection.comparison import ROWS, Comparison, Pool, as_blocks, compare, row_label, scored_text
from promptmine.selection.racing import (
    STRATEGIES, Exhaustive, Race, RaceResult, Strategy, by_training_accuracy, split_blocks, strategy_named,
)
from promptmine.selection.relations import SelectSettings, select
from promptmine.selection.stages import STAGES, RelationSearch, RelationVariant, SearchSettings, StageOutcome

Racing = Race  # its name before issue 20 (`promptmine.Racing`)

__all__ = ["CHOOSERS", "ROWS", "STRATEGIES", "Chooser", "Comparison", "Exhaustive", "OptimizedEnsemble", "Pool",
           "Race", "RaceResult", "Racing", "RelationSearch", "RelationVariant", "STAGES", "SearchSettings",
           "SelectSettings", "StageOutcome", "RankEnsemble", "Strategy", "Top1", "as_blocks", "by_training_accuracy",
           "compare", "learn_weights", "row_label", "scored_text", "select", "select_optimized", "select_rank",
           "select_top1", "split_blocks", "strategy_named"]
