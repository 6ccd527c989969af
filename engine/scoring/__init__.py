"""Score prompts with a language model: rank candidate objects, report P@1 and MRR.

- `scorers`: `load_scorer`, the score cache (`CachedScorer`) and calibration (`CalibratedScorer`);
- `facts`: a relation's facts over a shared candidate set (`RelationFacts`, `load_facts`, `FactSettings`);
- `metrics`: ranks, P@1, MRR, the micro average and the ensembles' log-linear `combine`;
- `evaluation`: scores of templates and selections, and the library function `evaluate`.
"""

from promptmine.scoring.evaluation import (
    Scored, as_selections, evaluate, evaluate_blocks, evaluate_selection, read_selections_or_templates,
    score_template, score_templates, selection_name, to_score,
)
from promptmine.scoring.facts import (
    FactSettings, RelationFacts, group_by_relation, load_facts, read_candidate_objects, relation_facts, templates_for,
)
from promptmine.scoring.metrics import FLOOR, combine, micro_average, mrr, p_at_1, ranks, top_predictions
from promptmine.scoring.scorers import CachedScorer, CalibratedScorer, calibrated, load_scorer

__all__ = ["FLOOR", "CachedScorer", "CalibratedScorer", "FactSettings", "RelationFacts", "Scored", "as_selections",
           "calibrated", "combine", "evaluate", "evaluate_blocks", "evaluate_selection", "group_by_relation",
           "load_facts", "load_scorer", "micro_average", "mrr", "p_at_1", "ranks", "read_candidate_objects",
           "read_selections_or_templates", "relation_facts", "score_template", "score_templates", "selection_name",
           "templates_for", "to_score", "top_predictions"]
