"""`promptmine.select` (`promptmine select`): per relation, the prompts that make a model answer its
training facts best, by a strategy (`Race`, `Exhaustive`) and a chooser (`Top1`, `RankEnsemble`,
`OptimizedEnsemble`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from promptmine.core.errors import InputError, PromptmineError
from promptmine.core.io import read_templates
from promptmine.core.progress import log, plural
from promptmine.core.records import Selection
from promptmine.core.settings import Seeded, take
from promptmine.models.score import DEFAULT_SCORER
from promptmine.scoring import FactSettings, calibrated, load_facts, load_scorer, p_at_1
from promptmine.selection.choosers import OptimizedEnsemble, RankEnsemble, Top1
from promptmine.selection.racing import Exhaustive, Race


class SelectSettings(Seeded):
    """How `select` (`promptmine select`) chooses each relation's prompts from its candidates."""

    strategy: Race | Exhaustive = Field(Race(), description="which templates are scored on how many training "
                                                            "facts (`Race(budget=...)` per relation, or "
                                                            "`Exhaustive()`)")
    choose: Top1 | RankEnsemble | OptimizedEnsemble = Field(Top1(), description="what is kept of them (the "
                                                                                "optimised ensemble's dev split "
                                                                                "is drawn with `seed`)")
    calibrate: bool = Field(False, description="rank by calibrated scores: the prompt with a content-free subject "
                                               "subtracted")
    fillers: tuple[str, ...] = Field(("N/A",), description="the content-free subjects of calibration")


def select(templates, pairs, settings: SelectSettings | None = None, *, scorer=DEFAULT_SCORER,
           options: dict | None = None, cache: bool = True, facts: FactSettings | None = None,
           **fields) -> list[Selection]:
    """Per relation, the prompts that make the model answer the training facts `pairs` best.

    `templates`: a file or a list of template strings, Candidates or (relation, template) tuples (a
    template without a relation competes in every relation). `settings` (`SelectSettings`: `strategy`,
    `choose`, `seed`, which also orders the facts, `calibrate` with its `fillers`; its fields also as
    keywords). `pairs` and `facts` (`FactSettings`: `default_relation`, `max_candidates`, `limit`,
    `strict`; its fields also as keywords): as for `evaluate`; `scorer`/`options`/`cache`: as for
    `load_scorer`. Each Selection's `facts` says how many training facts its templates were scored on,
    and `calibration` names the fillers when its scores were calibrated."""
    settings, facts = take(fields, (SelectSettings, settings), (FactSettings, facts), who="select")
    strategy, choose, seed = settings.strategy, settings.choose, settings.seed
    if isinstance(templates, (str, Path)):
        pool = read_templates(str(templates))
    else:
        pool = [t if isinstance(t, tuple) else (getattr(t, "relation", None), getattr(t, "template", t))
                for t in templates]
    pool = list(dict.fromkeys(pool))
    if not pool:
        raise InputError("no templates", templates if isinstance(templates, (str, Path)) else None)
    facts_by_rel = load_facts(pairs, {r for r, _ in pool}, facts)
    scorer = load_scorer(scorer, options, cache=cache)
    if settings.calibrate:
        scorer = calibrated(scorer, settings.fillers)
    out: list[Selection] = []
    for rel, known in facts_by_rel.items():
        mine = [t for r, t in pool if r in (rel, None)]
        if not mine:
            log(f"{rel}: no templates for this relation; skipped")
            continue
        if known.n == 0:
            log(f"{rel}: no training facts; skipped")
            continue
        result = strategy.run(scorer, mine, known, seed=seed, keep=choose.keep, desc=f"select {rel}")
        sel = choose.choose(result, rel, scorer.identity, seed=seed)
        if settings.calibrate:
            sel = sel.model_copy(update={"calibration": list(settings.fillers)})
        out.append(sel)
        best = result.survivors[0]
        log(f"{rel}: {plural(len(mine), 'template')}, best of {len(result.survivors)} left on {result.facts} of "
            f"{known.n} "
            f"facts ({plural(len(known.objects), 'candidate')}): P@1 {100 * p_at_1(best.ranks):.1f}: {best.template}"
            + (f"; {sel.note}" if sel.note else ""))
    if not out:
        raise PromptmineError("nothing selected: no relation had both templates and training facts")
    log(f"selected prompts for {plural(len(out), 'relation')} ({plural(scorer.computed, 'score')} computed, "
        f"{scorer.reused:,} cached)")
    return out
