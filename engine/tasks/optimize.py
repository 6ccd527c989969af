"""`optimize_task`: the user's prompt and labelled examples in, the prompt to use out, with how much
better it is on examples the search never saw (and how sure that is).

The examples are split once: a held-out split (given, or a seeded share) that only the final rows
see; a selection split the search judges on; and a pool of labelled examples that demonstrations are
drawn from (given, else what the selection split leaves over, else a carved share of it).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from promptmine.core.errors import PromptmineError
from promptmine.core.progress import log, plural
from promptmine.core.settings import take
from promptmine.models.score import DEFAULT_SCORER
from promptmine.report.tasks import KEPT_WORDS_ROW
from promptmine.selection import OptimizedEnsemble, Race
from promptmine.stats import paired_bootstrap
from promptmine.tasks.data import (
    Example, held_out_size, label_index, majority, parse_verbalisers, read_task, split_indices,
)
from promptmine.tasks.prompt import check_prompt, slots_of
from promptmine.tasks.search import Plan, SearchResult, Variant, VariantScorer, plan, search
from promptmine.tasks.settings import TaskSettings


def macro_f1(pred: Sequence[int], gold: Sequence[int], n_labels: int) -> float:
    """Unweighted mean over labels of F1 (a label never predicted nor gold counts 0)."""
    f1s = []
    for c in range(n_labels):
        tp = sum(p == c and g == c for p, g in zip(pred, gold))
        fp = sum(p == c and g != c for p, g in zip(pred, gold))
        fn = sum(p != c and g == c for p, g in zip(pred, gold))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / n_labels if n_labels else 0.0


@dataclass
class Metrics:
    accuracy: float
    macro_f1: float
    n: int
    correct: list[bool] = field(default_factory=list, repr=False)  # per example, for paired tests


def metrics(matrix, gold: Sequence[int], n_labels: int) -> Metrics:
    """Accuracy (ties count against the gold label, as P@1) and macro-F1 of the argmax labels."""
    import numpy as np

    from promptmine.scoring import ranks

    if not len(gold):
        return Metrics(0.0, 0.0, 0)
    m = np.asarray(matrix, dtype=np.float64)
    correct = [r == 1 for r in ranks(m, gold)]
    return Metrics(sum(correct) / len(gold), macro_f1(m.argmax(axis=1).tolist(), gold, n_labels), len(gold), correct)


def constant_metrics(label: int, gold: Sequence[int], n_labels: int) -> Metrics:
    """Always answering `label`: the control any prompt must beat."""
    correct = [g == label for g in gold]
    return Metrics(sum(correct) / max(1, len(gold)), macro_f1([label] * len(gold), gold, n_labels), len(gold), correct)


@dataclass
class TaskResult:
    """What optimize_task measured and chose."""

    labels: list[str]
    search: SearchResult
    heldout_metrics: dict[str, Metrics]  # row -> metrics on the held-out split (the majority row first)
    intervals: dict[str, tuple[float, float, float]]  # row -> (delta vs original, low, high)
    rank: list[tuple[Variant, float]]  # the rank ensemble's members and weights
    optimized: list[tuple[Variant, float]]  # [] when the optimised ensemble did not run
    notes: list[str]
    n_selection: int
    n_heldout: int
    n_pool: int
    scorings: int
    seconds: float
    prior: object = None  # the selected prompt's log-prior per label (None: raw scores)
    report: Path | None = None

    @property
    def chosen(self) -> Variant:
        return self.search.winner

    @property
    def original(self) -> Variant:
        return self.search.original

    @property
    def recommendation(self) -> str:
        """One sentence: which prompt to use, and how sure that is."""
        row = "selected"
        d, lo, hi = self.intervals.get(row, (0.0, 0.0, 0.0))
        if self.chosen is self.original:
            return "Keep your prompt: nothing the search tried beat it on the selection split."
        if lo > 0:
            return (f"Use the selected prompt: {100 * d:+.1f} accuracy points over yours on {self.n_heldout} held-out "
                    f"examples (95% interval {100 * lo:+.1f} to {100 * hi:+.1f}).")
        if hi < 0:
            return (f"Keep your prompt: the selected one scored {100 * d:+.1f} points on the held-out split "
                    f"(95% interval {100 * lo:+.1f} to {100 * hi:+.1f}).")
        return (f"No clear winner: the selected prompt differs from yours by {100 * d:+.1f} points on {self.n_heldout} "
                f"held-out examples, within the noise (95% interval {100 * lo:+.1f} to {100 * hi:+.1f}).")


def _examples(source, slots: Sequence[str]) -> list[Example]:
    if source is None:
        return []
    if isinstance(source, (str, Path)):
        return read_task(source, slots)
    out = list(source)
    for i, e in enumerate(out):
        missing = [s for s in slots if not dict(e.fields).get(s, "").strip()]
        if missing:
            raise PromptmineError(f"example {i + 1} has no {', '.join(missing)} (the prompt's slots)")
    return out


def optimize_task(prompt: str, examples, scorer=DEFAULT_SCORER, settings: TaskSettings | None = None, *, heldout=None,
                  pool=None, routes: Sequence | None = None, translator_options: Mapping | None = None,
                  options: dict | None = None, out: str | Path | None = None, cache="default", dry_run: bool = False,
                  **fields) -> TaskResult | Plan:
    """Search the prompt's `settings.dimensions` (calibration, labels, format, demos, wording) on a
    selection split and report the original, the selected prompt and the ensembles on the held-out split.

    `examples`: labelled examples (JSONL path or Examples) with the prompt's slots as fields.
    `heldout`: the held-out examples; else `settings.held_out` of `examples` (a count or share; default a
    third). `pool`: labelled examples for demonstrations; else what is left of the selection split beyond
    `settings.selection_size`, else a carved share of it. `scorer`/`options`: the scorer (a name with its
    options, or a scorer). `routes`: [(translator or backend name, pivots)] for the wording dimension,
    `translator_options` per backend name. `settings` (`TaskSettings`; its fields also as keywords):
    `verbalisers` (label -> words, `positive=Positive,...`; default: each label capitalised),
    `fixed_labels` that keep their words, `formats` raced, `strategy` (Race, its budget in (example,
    prompt) scorings, or Exhaustive), ... `out`: the report folder. `dry_run`: return the Plan
    (scorings, time estimate) without model work."""
    [settings] = take(fields, (TaskSettings, settings), who="optimize_task")
    t0 = time.time()
    seed, dimensions = settings.seed, settings.dimensions
    slots = check_prompt(prompt)
    exs = _examples(examples, slots)
    held = _examples(heldout, slots)
    if not held:
        sel_idx, held_idx = split_indices(len(exs), held_out_size(settings.held_out, len(exs)), seed)
        rest, held = [exs[i] for i in sel_idx], [exs[i] for i in held_idx]
    else:
        rest = exs
    labels = list(dict.fromkeys(e.label for e in exs + held))
    verb = parse_verbalisers(settings.verbalisers, labels)
    labels = list(verb)
    label_index(rest + held, labels)  # every label has words: fail before any model work
    bad = [lab for lab in settings.fixed_labels if lab not in verb]
    if bad:
        raise PromptmineError(f"fixed label(s) {', '.join(bad)} not among the labels ({', '.join(labels)})")
    order = list(range(len(rest)))
    random.Random(f"{seed}:task-split").shuffle(order)
    demo_pool = _examples(pool, slots)
    size = settings.selection_size or len(rest)
    if demo_pool:
        sel = [rest[i] for i in order[:size]]
    elif len(rest) > size + 8 * len(labels):
        sel, demo_pool = [rest[i] for i in order[:size]], [rest[i] for i in order[size:]]
    elif "demos" in dimensions:
        carve = max(4 * len(labels), len(rest) // 10)
        demo_pool, sel = [rest[i] for i in order[:carve]], [rest[i] for i in order[carve:]]
        log(f"task: {plural(carve, 'example')} of the selection split set aside as the demonstration pool")
    else:
        sel = [rest[i] for i in order]
    if len(sel) < 8:
        raise PromptmineError(f"{plural(len(sel), 'selection example')}: too few to choose a prompt on (need 8)")
    routes_ = list(routes or [])
    strategy = default_strategy(settings.strategy, len(sel), dimensions)
    if dry_run:
        return plan(prompt, sel, len(sel), len(held), len(demo_pool), settings, strategy=strategy,
                    routes=len(routes_), demos_in_prompt=bool(_spec_demos(prompt, verb)))
    if isinstance(scorer, str):
        from promptmine.scoring import load_scorer

        scorer = load_scorer(scorer, options, cache=cache is not None)
    if routes_ and "wording" in dimensions:
        from promptmine.paraphrasing import open_routes

        routes_ = open_routes(routes_, translator_options, who="task")
    vs = VariantScorer(scorer, sel + held, labels)
    sel_ids, held_ids = list(range(len(sel))), list(range(len(sel), len(sel) + len(held)))
    result = search(vs, prompt, verb, sel_ids, demo_pool, settings, strategy=strategy, routes=routes_, cache=cache)
    out_ = evaluate_heldout(vs, result, sel, held_ids, labels, seed=seed, k=settings.k)
    out_.n_pool, out_.seconds = len(demo_pool), time.time() - t0
    if out is not None:
        from promptmine.report import write_task_report

        out_.report = write_task_report(out, out_, scorer_name=getattr(scorer, "description", vs.identity))
    return out_


def default_strategy(strategy, n_sel: int, dimensions: Sequence[str]):
    """A Race without a budget gets one: the readout stage's scorings plus four times the selection
    split per racing stage (enough for two or three rounds of halving; an unbounded race of 13
    formats would score each on every example)."""
    if isinstance(strategy, Race) and strategy.budget is None:
        stages = sum(d in dimensions for d in ("labels", "format", "demos", "wording"))
        strategy = replace(strategy, budget=n_sel * (1 + 4 * stages))
    return strategy


def _spec_demos(prompt: str, verb) -> tuple:
    from promptmine.tasks.prompt import parse_prompt

    spec = parse_prompt(prompt, verb)
    return spec.demos if spec is not None else ()


def evaluate_heldout(vs: VariantScorer, result: SearchResult, sel: Sequence[Example], held_ids: Sequence[int],
                     labels: Sequence[str], *, seed: int, k: int) -> TaskResult:
    """The held-out rows: always answering the selection split's majority label, the original, the
    selected prompt, the rank ensemble of the race's best `k`, and the optimised ensemble where it ran."""
    from promptmine.scoring import combine

    gold = label_index([vs.examples[i] for i in held_ids], labels)
    n_labels = len(labels)
    major = majority(sel)
    rows: dict[str, Metrics] = {f"majority label ({major})": constant_metrics(labels.index(major), gold, n_labels)}
    cache: dict[str, object] = {}

    def logp(v: Variant):
        if v.key not in cache:
            cache[v.key] = vs.logp(v, held_ids)
        return cache[v.key]

    rows["original"] = metrics(logp(result.original), gold, n_labels)
    rows["selected"] = metrics(logp(result.winner), gold, n_labels)
    kept = result.kept_words  # the best prompt that reads out the user's own label words
    if kept is not None and kept is not result.winner and kept is not result.original:
        rows[KEPT_WORDS_ROW] = metrics(logp(kept), gold, n_labels)
    notes = []
    top = [vs.variants[s.template] for s in result.finalists[:k]]
    rank = [(v, 1.0 / len(top)) for v in top]
    if len(top) > 1:
        rows[f"rank ensemble (top {len(top)})"] = metrics(combine([logp(v) for v, _ in rank], [w for _, w in rank]),
                                                         gold, n_labels)
    optimized: list[tuple[Variant, float]] = []
    if len(result.finalists) > 1:
        # weights over the same top k as the rank ensemble: the held-out rows score no extra prompt
        sel_opt = OptimizedEnsemble(k=k, max_templates=k).fit(result.finalists, result.gold, None, vs.identity, seed=seed)
        if sel_opt.method == "optimized":
            optimized = [(vs.variants[w.template], w.weight) for w in sel_opt.templates]
            rows["optimized ensemble"] = metrics(combine([logp(v) for v, _ in optimized],
                                                         [w for _, w in optimized]), gold, n_labels)
        else:
            notes.append(f"No optimised ensemble: {sel_opt.note}.")
    base = rows["original"].correct
    intervals = {name: paired_bootstrap(base, m.correct, seed=seed) for name, m in rows.items() if name != "original"}
    return TaskResult(list(labels), result, rows, intervals, rank, optimized, notes, len(sel), len(held_ids), 0,
                      vs.scorings, 0.0, vs.prior(result.winner, result.winner.readout))
