"""Every report promptmine writes, in one place: `render` (tables and the accuracy chart), `relations`
(`promptmine run`'s report and `promptmine evaluate`'s table) and `tasks` (the task search's report)."""

from promptmine.report.relations import (
    RECOMMEND_ROW, Recommendation, comparison_tables, format_scores, gain_share, hygiene_note, pool_sizes, recommend,
    relation_name, score_group, write_report,
)
from promptmine.report.render import bar_chart, markdown_table, text_table
from promptmine.report.tasks import TASK_FILES, best_prompt, spread, write_task_report

__all__ = ["RECOMMEND_ROW", "Recommendation", "TASK_FILES", "bar_chart", "best_prompt", "comparison_tables",
           "format_scores", "gain_share", "hygiene_note", "markdown_table", "pool_sizes", "recommend", "relation_name",
           "score_group", "spread", "text_table", "write_report", "write_task_report"]
