"""`optimize_task`: the user's prompt and labelled examples in, the prompt to use out, with how much
better it is on examples the search never saw (and how sure that is).

The examples are split once: a held-out split (given, or a seeded share) that only the final rows
see; a selection split the search judges on; and a pool of labelled examples that demonstrations are
drawn from (given, else what the selection split leaves over, else a carved share of it).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from promptmine.core.errors import InputError, PromptmineError
from promptmine.core.progress import as_the_command, log, plural, warn
from promptmine.core.settings import take
from promptmine.models.score import DEFAULT_SCORER
from promptmine.report.tasks import KEPT_WORDS_ROW
from promptmine.selection import OptimizedEnsemble, Race
from promptmine.scoring.metrics import macro_f1, paired_bootstrap
from promptmine.tasks.data import (
    Example, held_out_size, label_index, looks_like_integers, majority, name_labels, parse_label_names,
    parse_verbalisers, read_task, split_indices,
)
from promptmine.tasks.prompt import check_prompt, slots_of
from promptmine.tasks.search import Plan, SearchResult, Variant, VariantScorer, plan, search
from promptmine.tasks.settings import MIN_PER_LABEL, MIN_SELECTION, TASK_ROUTES, TaskSettings


@dataclass
class Metrics:
    accuracy: float
    macro_f1: float
    n: int
    correct: list[bool] = field(default_factory=list, repr=False)  # per example, for paired tests


def metrics(matrix, gold: Sequence[int], n_labels: int) -> Metrics:
    """Accuracy and macro-F1 of the labels a prompt gives: each row's argmax, the first label in label
    order on an exact tie, as `promptmine predict` writes them (so its accuracy is the report's; a scorer
    that cannot tell the labels apart answers the first label, which the majority-label row shows up)."""
    import numpy as np

    if not len(gold):
        return Metrics(0.0, 0.0, 0)
    pred = np.asarray(matrix, dtype=np.float64).argmax(axis=1).tolist()
    correct = [p == g for p, g in zip(pred, gold)]
    return Metrics(sum(correct) / len(gold), macro_f1(pred, gold, n_labels), len(gold), correct)


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
    # row -> the saved prompt that row applies (selected, the ensembles), `predict`'s input
    saved: dict[str, object] = field(default_factory=dict)
    heldout_lines: list[int] = field(default_factory=list)  # each held-out example's 0-based line in its file
    heldout_ids: list = field(default_factory=list)  # ... its id (`id` field, else the line)
    heldout_gold: list[str] = field(default_factory=list)
    predictions: dict[str, list[str]] = field(default_factory=dict)  # row -> each held-out example's label

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


def _path(source) -> str | None:
    return str(source) if isinstance(source, (str, Path)) else None


@dataclass
class Splits:
    """The examples as the search uses them, checked before any model work: the selection split it
    judges on, the held-out split only the final rows see, the demonstration pool, each label's words
    (in label order), and notes for the report."""

    selection: list[Example]
    heldout: list[Example]
    pool: list[Example]
    verbalisers: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)
    held_lines: list[int] = field(default_factory=list)  # each held-out example's 0-based line in its file

    @property
    def labels(self) -> list[str]:
        return list(self.verbalisers)


def prepare(prompt: str, examples, settings: TaskSettings, *, heldout=None, pool=None) -> Splits:
    """Read, name, check and split the examples as `optimize_task` does (see there), raising before any
    model work (and in a dry run): one label only, a label with too few selection examples, a held-out
    split that leaves too few to choose on, labels without words. Warned about: integer labels without
    names, verbaliser labels no example has (left out), held-out examples also in the selection split
    or the pool."""
    seed, dimensions = settings.seed, settings.dimensions
    slots = check_prompt(prompt)
    src = _path(examples)
    names = parse_label_names(settings.label_names)
    exs = name_labels(_examples(examples, slots), names, src or "examples")
    held = name_labels(_examples(heldout, slots), names, _path(heldout) or "held-out examples")
    demo_pool = name_labels(_examples(pool, slots), names, _path(pool) or "pool")
    found = list(dict.fromkeys(e.label for e in exs + held))
    if len(found) < 2:
        raise InputError(f"every example has the label `{found[0]}`: a prompt is chosen by how well it tells "
                         "labels apart; give examples of at least two labels", src)
    verb = parse_verbalisers(settings.verbalisers, found)
    absent = [lab for lab in verb if lab not in found]
    if absent:
        warn(f"{'labels' if len(absent) > 1 else 'label'} {', '.join(f'`{lab}`' for lab in absent)} of the "
             f"verbalisers {'have' if len(absent) > 1 else 'has'} no example{' in ' + src if src else ''}; "
             f"left out (the labels: {', '.join(lab for lab in verb if lab in found)})")
        verb = {lab: ws for lab, ws in verb.items() if lab in found}
    labels = list(verb)
    if not names and looks_like_integers(found) and all(verb[lab] == [lab] for lab in found):
        ints = sorted(found, key=int)
        example = ",".join(f"{lab}=NAME" for lab in ints[:3])
        warn(f"the labels look like integers ({', '.join(ints)}): the model would be asked for the words "
             f"{', '.join(f'`{lab}`' for lab in ints)}; say what each stands for with --label-names {example} "
             "(or give --verbalisers)")
    label_index(exs + held, labels)  # every label has words: fail before any model work
    bad = [lab for lab in settings.fixed_labels if lab not in verb]
    if bad:
        raise PromptmineError(f"fixed label(s) {', '.join(bad)} not among the labels ({', '.join(labels)})")
    if held:
        rest, held_idx = exs, list(range(len(held)))
        if len(rest) < MIN_SELECTION:
            raise InputError(f"{plural(len(rest), 'example')} to choose a prompt on (the held-out ones apart); the "
                             f"search needs at least {MIN_SELECTION}: give more examples", src)
    else:
        n_held = held_out_size(settings.held_out, len(exs))
        if len(exs) - n_held < MIN_SELECTION:
            share = settings.held_out
            how = (f"holding out a third ({n_held} of {len(exs)} examples)" if share is None else
                   f"holding out {share:g} ({n_held} of {len(exs)} examples)" if isinstance(share, float) else
                   f"holding out {n_held} of {len(exs)} examples")
            raise InputError(f"{how} leaves {plural(max(0, len(exs) - n_held), 'example')} to choose a prompt on; "
                             f"the search needs at least {MIN_SELECTION}: hold out fewer (--held-out) or give more "
                             "examples", src)
        sel_idx, held_idx = split_indices(len(exs), n_held, seed)
        rest, held = [exs[i] for i in sel_idx], [exs[i] for i in held_idx]
    order = list(range(len(rest)))
    random.Random(f"{seed}:task-split").shuffle(order)
    size = settings.selection_size or len(rest)
    if demo_pool:
        sel = [rest[i] for i in order[:size]]
    elif len(rest) > size + 8 * len(labels):
        sel, demo_pool = [rest[i] for i in order[:size]], [rest[i] for i in order[size:]]
    elif "demos" in dimensions:
        carve = min(max(4 * len(labels), len(rest) // 10), len(rest) - MIN_SELECTION)
        if carve < len(labels):
            carve = 0
            log(f"task: {plural(len(rest), 'selection example')} leave none for a demonstration pool; "
                "demonstrations are not searched (give a --pool FILE)")
        else:
            log(f"task: {plural(carve, 'example')} of the selection split set aside as the demonstration pool")
        demo_pool, sel = [rest[i] for i in order[:carve]], [rest[i] for i in order[carve:]]
    else:
        sel = [rest[i] for i in order]
    counts, totals = Counter(e.label for e in sel), Counter(e.label for e in exs)
    few = [lab for lab in labels if counts[lab] < MIN_PER_LABEL]
    if few:
        raise InputError("too few examples of " + ", ".join(f"`{lab}`" for lab in few) + " in the selection split "
                         "to choose a prompt on: " + ", ".join(f"{counts[lab]} of its {totals[lab]}" for lab in few)
                         + f" (each label needs {MIN_PER_LABEL} there); give more examples of "
                         + ("it" if len(few) == 1 else "them") + (" or hold out fewer" if heldout is None else ""), src)
    notes = []
    key = lambda e: tuple(e.get(s) for s in slots)  # noqa: E731
    seen = {key(e) for e in sel + demo_pool}
    dup = sum(key(e) in seen for e in held)
    if dup:
        note = (f"{plural(dup, 'held-out example')} of {len(held)} also appear (the same {'/'.join(slots)}) in the "
                "selection split or the demonstration pool: the held-out rows may flatter the prompts; remove the "
                f"duplicates{' from ' + src if src else ''}")
        warn(note)
        notes.append(note[:1].upper() + note[1:] + ".")
    held_lines = [e.line if e.line is not None else i for e, i in zip(held, held_idx)]
    return Splits(sel, held, demo_pool, verb, notes, held_lines)


def optimize_task(prompt: str, examples, scorer=DEFAULT_SCORER, settings: TaskSettings | None = None, *, heldout=None,
                  pool=None, routes: str | Sequence | None = None, translator_options: Mapping | None = None,
                  options: dict | None = None, out: str | Path | None = None, cache="default", dry_run: bool = False,
                  **fields) -> TaskResult | Plan:
    """Search the prompt's `settings.dimensions` (calibration, labels, format, demos, wording) on a
    selection split and report the original, the selected prompt and the ensembles on the held-out split.

    `examples`: labelled examples (a JSONL or CSV/TSV path, or Examples) with the prompt's slots as fields.
    `heldout`: the held-out examples; else `settings.held_out` of `examples` (a count or share; default a
    third). `pool`: labelled examples for demonstrations; else what is left of the selection split beyond
    `settings.selection_size`, else a carved share of it. `scorer`/`options`: the scorer (a name with its
    options, or a scorer). `routes`: the wording dimension's back-translation routes, text
    (`bergamot:pt,apertium:es`, `none`) or [(translator or backend name, pivots)] (None: `TASK_ROUTES`, as
    `run --task`; unavailable ones skipped with a note), `translator_options` per backend name. `settings`
    (`TaskSettings`; its fields also as keywords): `verbalisers` (label -> words,
    `positive=Positive,...`; default: each label capitalised), `label_names` (`0=negative,1=positive`
    for labels stored as integers), `fixed_labels` that keep their words, `formats` raced, `strategy`
    (Race, its budget in (example, prompt) scorings, or Exhaustive), ... `out`: the report folder
    (written whole or not at all: `promptmine.core.io.staged_folder`). `dry_run`: return the Plan
    (scorings, time estimate) without model work. Bad input fails before any model work (`prepare`).
    Called from Python it shows the command's notes where logging is not set up, and no model-loading bars."""
    with as_the_command():
        return _optimize_task(prompt, examples, scorer, settings, heldout=heldout, pool=pool, routes=routes,
                              translator_options=translator_options, options=options, out=out, cache=cache,
                              dry_run=dry_run, **fields)


def _optimize_task(prompt, examples, scorer, settings, *, heldout, pool, routes, translator_options, options, out,
                   cache, dry_run, **fields):
    [settings] = take(fields, (TaskSettings, settings), who="optimize_task")
    t0 = time.time()
    seed, dimensions = settings.seed, settings.dimensions
    splits = prepare(prompt, examples, settings, heldout=heldout, pool=pool)
    sel, held, demo_pool, verb = splits.selection, splits.heldout, splits.pool, splits.verbalisers
    labels = splits.labels
    if routes is None:
        routes = TASK_ROUTES
    if isinstance(routes, str):
        from promptmine.paraphrasing.routes import parse_routes

        routes = parse_routes(routes)
    routes_ = list(routes) if "wording" in dimensions else []
    strategy = default_strategy(settings.strategy, len(sel), dimensions)
    if dry_run:
        return plan(prompt, sel, len(sel), len(held), len(demo_pool), settings, strategy=strategy,
                    routes=len(routes_), demos_in_prompt=bool(_spec_demos(prompt, verb)))
    scorer_name = scorer if isinstance(scorer, str) else None
    if isinstance(scorer, str):
        from promptmine.scoring import load_scorer

        scorer = load_scorer(scorer, options, cache=cache is not None)
    if routes_:
        from promptmine.paraphrasing import open_routes

        routes_ = open_routes(routes_, translator_options, who="task")
    log(f"task: {plural(len(sel), 'selection example')}, {len(held)} held out, {len(demo_pool)} in the "
        f"demonstration pool; labels {', '.join(labels)}")
    vs = VariantScorer(scorer, sel + held, labels)
    sel_ids, held_ids = list(range(len(sel))), list(range(len(sel), len(sel) + len(held)))
    result = search(vs, prompt, verb, sel_ids, demo_pool, settings, strategy=strategy, routes=routes_, cache=cache)
    from promptmine.tasks.saved import SelectedOn, scorer_info

    info = scorer_info(scorer, name=scorer_name, options=options)
    on = SelectedOn(examples=_path(examples), heldout=_path(heldout), n_selection=len(sel), n_heldout=len(held),
                    n_pool=len(demo_pool), seed=seed)
    out_ = evaluate_heldout(vs, result, sel, held_ids, labels, seed=seed, k=settings.k, scorer=info, selected_on=on)
    out_.n_pool, out_.seconds = len(demo_pool), time.time() - t0
    out_.notes += splits.notes
    if hasattr(scorer, "computed") and hasattr(scorer, "reused"):
        log(f"task: {plural(vs.scorings, '(example, prompt) scoring')}; word scores: {scorer.computed:,} computed, "
            f"{scorer.reused:,} from the cache; {out_.seconds:.0f} s in all")
    out_.heldout_lines = splits.held_lines
    out_.heldout_ids = [e.key if e.key is not None else i for e, i in zip(held, splits.held_lines)]
    if out is not None:
        from promptmine.core.io import staged_folder
        from promptmine.report import TASK_FILES, write_task_report

        final = Path(out)
        with staged_folder(final, TASK_FILES) as tmp:  # an interrupted run leaves the earlier report whole
            write_task_report(tmp, out_, scorer_name=getattr(scorer, "description", vs.identity))
        out_.report = final / "report.md"
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
                     labels: Sequence[str], *, seed: int, k: int, scorer=None, selected_on=None) -> TaskResult:
    """The held-out rows: always answering the selection split's majority label, the original, the
    selected prompt, the rank ensemble of the race's best `k`, and the optimised ensemble where it ran.

    Each prompt row is a saved prompt (promptmine.tasks.saved) scored by the code `predict` runs, on the
    held-out examples: its own label words the only candidates, its saved prior subtracted; so `predict`
    on these examples gives each row's labels, and its accuracy, exactly."""
    from promptmine.tasks.saved import ScorerInfo, TaskEnsemble, TaskMember, TaskPrompt

    held = [vs.examples[i] for i in held_ids]
    gold = label_index(held, labels)
    n_labels = len(labels)
    major = majority(sel)
    major_row = f"majority label ({major})"
    rows: dict[str, Metrics] = {major_row: constant_metrics(labels.index(major), gold, n_labels)}
    predictions: dict[str, list[str]] = {major_row: [major] * len(held)}
    info = scorer if scorer is not None else ScorerInfo(identity=vs.identity)
    common = {"labels": list(labels), "fields": slots_of(result.original.prompt), "scorer": info}
    if selected_on is not None:
        common["selected_on"] = selected_on
    texts = [dict(e.fields) for e in held]
    memo: dict[tuple, object] = {}

    def member(v: Variant, weight: float = 1.0) -> TaskMember:
        prior = vs.prior(v, v.readout)
        return TaskMember(prompt=v.prompt, verbalisers={lab: list(ws) for lab, ws in zip(labels, v.readout.words)},
                          calibration=v.readout.calibration, weight=weight,
                          log_prior=None if prior is None else {lab: float(p) for lab, p in zip(labels, prior)})

    def row(name: str, saved) -> None:
        from promptmine.tasks.saved import member_logprobs

        mats = []
        for m in saved.parts:  # a member shared by rows is scored once
            key = (m.prompt, tuple(map(tuple, m.verbalisers.values())), m.calibration)
            if key not in memo:
                memo[key] = member_logprobs(vs.scorer, m, labels, texts)
                vs.scorings += len({tuple(sorted(t.items())) for t in texts})
            mats.append(memo[key])
        from promptmine.scoring import combine

        logp = mats[0] if isinstance(saved, TaskPrompt) else combine(mats, [m.weight for m in saved.parts])
        rows[name] = metrics(logp, gold, n_labels)
        predictions[name] = [labels[j] for j in logp.argmax(axis=1)] if len(logp) else []
        saves[name] = saved

    saves: dict[str, object] = {}
    original, winner = result.original, result.winner
    row("original", TaskPrompt(**member(original).model_dump(), name="original", **common))
    row("selected", TaskPrompt(**member(winner).model_dump(), name="selected", changes=list(winner.changes),
                               **common))
    kept = result.kept_words  # the best prompt that reads out the user's own label words
    if kept is not None and kept is not winner and kept is not original:
        row(KEPT_WORDS_ROW, TaskPrompt(**member(kept).model_dump(), name=KEPT_WORDS_ROW, changes=list(kept.changes),
                                       **common))
    notes = []
    top = [vs.variants[s.template] for s in result.finalists[:k]]
    rank = [(v, 1.0 / len(top)) for v in top]
    if len(top) > 1:
        name = f"rank ensemble (top {len(top)})"
        row(name, TaskEnsemble(method="rank", members=[member(v, w) for v, w in rank], name=name, **common))
    optimized: list[tuple[Variant, float]] = []
    if len(result.finalists) > 1:
        # weights over the same top k as the rank ensemble: the held-out rows score no extra prompt
        sel_opt = OptimizedEnsemble(k=k, max_templates=k).fit(result.finalists, result.gold, None, vs.identity, seed=seed)
        if sel_opt.method == "optimized":
            optimized = [(vs.variants[w.template], w.weight) for w in sel_opt.templates]
            row("optimized ensemble", TaskEnsemble(method="optimized", members=[member(v, w) for v, w in optimized],
                                                   name="optimized ensemble", **common))
        else:
            notes.append(f"No optimised ensemble: {sel_opt.note}.")
    base = rows["original"].correct
    intervals = {name: paired_bootstrap(base, m.correct, seed=seed) for name, m in rows.items() if name != "original"}
    out = TaskResult(list(labels), result, rows, intervals, rank, optimized, notes, len(sel), len(held_ids), 0,
                     vs.scorings, 0.0, vs.prior(result.winner, result.winner.readout))
    out.saved = {name: saves[name] for name in saves if name != "original"}
    out.heldout_gold = [e.label for e in held]
    out.predictions = predictions
    return out
